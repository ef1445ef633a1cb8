/**
 * The Zeek conn.log record of a finished UDP flow, for `--flows`: core/flow-log.ts's fields with
 * Zeek's UDP summary (conn_state S0 when only the client sent, SF when both did; history D for
 * the client's datagrams, d for the server's).
 */
import { flowRecordOf, type FlowRecord } from '../flow/record.ts';
import type { UdpFlow } from './flow.ts';

export type UdpFlowRecord = Omit<FlowRecord, 'proto'> & { proto: 'udp' };

/** `now` caps the duration as core/flow-log's flowRecord does; by default the flow's last datagram. */
export function udpFlowRecord(flow: UdpFlow, now: number = flow.lastTime): UdpFlowRecord {
  const up = flow.stats.up;
  const down = flow.stats.down;
  // The client sent the first datagram, so D always comes first (Zeek records each letter once).
  const answered = down.packets > 0;
  return flowRecordOf(flow, 'udp', now, {
    orig_bytes: up.bytes,
    resp_bytes: down.bytes,
    conn_state: answered ? 'SF' : 'S0',
    history: answered ? 'Dd' : 'D',
    orig_pkts: up.packets,
    orig_ip_bytes: up.ipBytes,
    resp_pkts: down.packets,
    resp_ip_bytes: down.ipBytes,
    community_id: flow.communityId,
    end_reason: flow.endReason ?? 'shutdown',
    drop_reason: flow.reason ?? undefined,
    midstream: false,
  });
}
