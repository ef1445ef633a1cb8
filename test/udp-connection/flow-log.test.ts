/** UDP flows' identity across tools (Community ID) and their Zeek conn.log records. */
import { describe, expect, it } from 'vitest';
import { communityId } from '../../dissectors/flow/community-id.ts';
import { udpFlowRecord } from '../../dissectors/udp-connection/index.ts';
import { udp4, udp6 } from '../dissectors/frames.ts';
import { Harness, pair } from './harness.ts';

const v4 = (text: string): Buffer => Buffer.from(text.split('.').map(Number));

describe('community id', () => {
  it("matches the spec's UDP baseline, from either direction's first datagram", () => {
    // corelight/community-id-spec baseline_deflt.json: udp 192.168.1.52:54585 → 8.8.8.8:53.
    const h = new Harness();
    const dns = pair('192.168.1.52', 54585, '8.8.8.8', 53);
    h.push(dns.up('q'));
    h.push(pair('8.8.8.8', 53, '192.168.1.52', 54586).up('r'));
    h.shutdown();
    expect(h.logged[0]?.communityId).toBe('1:d/FP5EW3wiY1vCndhwleRRKHowQ=');
    expect(h.logged[0]?.communityId).toBe(communityId(4, v4('192.168.1.52'), v4('8.8.8.8'), 17, 54585, 53));
    expect(h.logged[1]?.communityId).toBe(communityId(4, v4('8.8.8.8'), v4('192.168.1.52'), 17, 53, 54586));
  });

  it('is the TCP-style computation with protocol 17, on captured IPv4 and IPv6 datagrams', () => {
    const h = new Harness();
    h.push(udp4);
    h.push(udp6);
    h.shutdown();
    const [f4, f6] = h.logged;
    expect(f4?.communityId).toBe(communityId(4, v4('10.99.0.1'), v4('10.99.0.2'), 17, 34616, 7));
    const a6 = (last: number): Buffer => Buffer.from(`fd99${'0'.repeat(26)}${last.toString(16).padStart(2, '0')}`, 'hex');
    expect(f6?.communityId).toBe(communityId(6, a6(1), a6(2), 17, 59930, 7));
    expect(f6?.client).toEqual({ ip: 'fd99::1', port: 59930 });
    // Not the TCP hash of the same tuple.
    expect(f4?.communityId).not.toBe(communityId(4, v4('10.99.0.1'), v4('10.99.0.2'), 6, 34616, 7));
  });
});

describe('udpFlowRecord', () => {
  it('one direction only: S0, history D', () => {
    const h = new Harness({ maxFlows: 10, timeout: 60 });
    const flows = pair('10.0.0.1', 5000, '10.0.0.2', 514);
    h.now = 10;
    h.push(flows.up('<13>hello'));
    h.now = 12.5;
    h.push(flows.up('<13>again'));
    h.at(100);
    const flow = h.logged[0];
    if (flow === undefined) throw new Error('no flow logged');
    expect(udpFlowRecord(flow)).toEqual({
      ts: 10,
      uid: 'C1',
      'id.orig_h': '10.0.0.1',
      'id.orig_p': 5000,
      'id.resp_h': '10.0.0.2',
      'id.resp_p': 514,
      proto: 'udp',
      duration: 2.5,
      orig_bytes: 18,
      resp_bytes: 0,
      conn_state: 'S0',
      history: 'D',
      orig_pkts: 2,
      orig_ip_bytes: 2 * 28 + 18,
      resp_pkts: 0,
      resp_ip_bytes: 0,
      community_id: flow.communityId,
      end_reason: 'timeout',
      midstream: false,
    });
  });

  it('both directions: SF, history Dd; duration capped by now', () => {
    const h = new Harness();
    const dns = pair('10.0.0.1', 5000, '10.0.0.2', 53);
    h.now = 1;
    h.push(dns.up('q'));
    h.now = 3;
    h.push(dns.down('answer'));
    h.shutdown();
    const flow = h.logged[0];
    if (flow === undefined) throw new Error('no flow logged');
    expect(udpFlowRecord(flow)).toMatchObject({ conn_state: 'SF', history: 'Dd', orig_bytes: 1, resp_bytes: 6, resp_pkts: 1, duration: 2, end_reason: 'shutdown' });
    expect(udpFlowRecord(flow, 2).duration).toBe(1);
  });
});
