/** The connection state machine (dissectors/tcp-connection/state.ts): each transition, and what it leaves alone. */
import { describe, expect, it } from 'vitest';
import { defineRules, tcpConnection, type FlowState } from 'palisade';
import { replay, tcpSession } from 'palisade/testing';
import { finSent, finsAcknowledged, pickedUpMidstream, resetAccepted, stateNames, synAcknowledged, synReceived, TcpState } from '../../dissectors/tcp-connection/state.ts';

const at = (state: TcpState): { tcpState: TcpState } => ({ tcpState: state });

describe('TCP state machine', () => {
  it('moves SYN-SENT → SYN-RECEIVED → ESTABLISHED → CLOSING → CLOSED, one event each', () => {
    const flow = at(TcpState.SynSent);
    synReceived(flow);
    expect(flow.tcpState).toBe(TcpState.SynReceived);
    synAcknowledged(flow);
    expect(flow.tcpState).toBe(TcpState.Established);
    finSent(flow);
    expect(flow.tcpState).toBe(TcpState.Closing);
    finsAcknowledged(flow);
    expect(flow.tcpState).toBe(TcpState.Closed);
  });

  it('never goes back: a late SYN/ACK or SYN ACK leaves an established or closing connection as it is; a reset one stays reset', () => {
    for (const state of [TcpState.Established, TcpState.Closing, TcpState.Closed, TcpState.Reset]) {
      const flow = at(state);
      synReceived(flow);
      synAcknowledged(flow);
      expect(flow.tcpState).toBe(state);
    }
    const reset = at(TcpState.Established);
    resetAccepted(reset);
    finSent(reset);
    expect(reset.tcpState).toBe(TcpState.Reset);
    // The SYN's ACK straight from SYN-SENT (the SYN/ACK was not captured) completes the handshake.
    const lost = at(TcpState.SynSent);
    synAcknowledged(lost);
    expect(lost.tcpState).toBe(TcpState.Established);
    const midstream = at(TcpState.SynSent);
    pickedUpMidstream(midstream);
    expect(midstream.tcpState).toBe(TcpState.Established);
  });

  it('is what rules read as flow.state, packet by packet', async () => {
    const seen: FlowState[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ name: 'state', on: tcpConnection.events.receivePacket, eval: (flow) => { seen.push(flow.state); } });
    });
    const pcap = tcpSession().handshake().send('up', 'hi').close().pcap();
    await replay({ rules, pcap });
    expect(seen[0]).toBe('syn-sent');
    expect(seen[1]).toBe('syn-received');
    expect(seen).toContain('established');
    expect(seen).toContain('closing');
    expect(seen.at(-1)).toBe('closed');
    expect(stateNames).toEqual(['syn-sent', 'syn-received', 'established', 'closing', 'closed', 'reset']);
  });
});
