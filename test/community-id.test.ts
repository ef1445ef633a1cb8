/**
 * Community ID v1 against the spec's published baselines and against Wireshark's own
 * implementation (the `communityid` post-dissector) on the bundled captures.
 */

import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { IPv4, IPv6 } from 'ip-num';
import { communityId } from '../dissectors/flow/community-id.ts';
import { defineRules, tcpConnection } from '../index.ts';
import { replay } from '../testing.ts';

function addrBytes(text: string): Buffer {
  if (isIP(text) === 4) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(IPv4.fromString(text).value));
    return b;
  }
  return Buffer.from(IPv6.fromString(text).value.toString(16).padStart(32, '0'), 'hex');
}

const id = (proto: number, saddr: string, daddr: string, sport: number, dport: number, seed = 0): string =>
  communityId(isIP(saddr) === 4 ? 4 : 6, addrBytes(saddr), addrBytes(daddr), proto, sport, dport, seed);

/**
 * corelight/community-id-spec baseline/baseline_deflt.json and baseline_seed1.json (commit
 * c4ec2bc): [proto, saddr, daddr, sport, dport, seed 0, seed 1]. ICMP rows give the spec's port
 * equivalents (type, counterpart type or code). Left out: the two rows of protocol 46 (RSVP),
 * which have no ports.
 */
const BASELINE: [number, string, string, number, number, string, string][] = [
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  // One-way ICMPv6/ICMP messages are hashed unordered; these have the smaller address first anyway.
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=', '1:lVEtCZpYu84Xqaa++3lXFyuu2n4='],
  [58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, '1:hLZd0XGWojozrvxqE0dWB1iM6R0=', '1:W8MHwXpWzpoSTD+cGcaJr4u0ys8='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=', '1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00=', '1:K/ee5UCqAMAQXDorP5nSa2CGLjc='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM=', '1:XjUibYHaafLQ3pxQeiMI8g25q20='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
];

interface TsharkRow {
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  communityId: string;
}

/** ICMP echo request and reply, the spec's two-way pair (the only ICMP in the firewall sample). */
const ICMP_COUNTERPART: Record<number, number> = { 8: 0, 0: 8 };

/** Wireshark's community IDs for every TCP, UDP and ICMP echo packet of a capture. */
function wireshark(capture: string, seed = 0): TsharkRow[] {
  const fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'icmp.type', 'communityid'];
  const out = execFileSync(
    'tshark',
    ['--enable-protocol', 'communityid', '-o', `communityid.seed:${seed}`, '-r', capture, '-Y', '(tcp or udp) and not icmp or icmp.type == 0 or icmp.type == 8', '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return out
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      const [ip4s, ip4d, ip6s, ip6d, p4, p6, ts, td, us, ud, icmpType, cid] = line.split('\t');
      const proto = Number(p4 || p6);
      const type = Number(icmpType);
      const ports =
        proto === 6 ? [Number(ts), Number(td)] : proto === 17 ? [Number(us), Number(ud)] : [type, ICMP_COUNTERPART[type] ?? -1];
      return { proto, src: ip4s || ip6s || '', dst: ip4d || ip6d || '', sport: ports[0] ?? -1, dport: ports[1] ?? -1, communityId: cid ?? '' };
    });
}

describe('communityId', () => {
  it('matches the spec baseline, default seed', () => {
    for (const [proto, saddr, daddr, sport, dport, expected] of BASELINE) {
      expect(id(proto, saddr, daddr, sport, dport), `${proto} ${saddr}:${sport} → ${daddr}:${dport}`).toBe(expected);
    }
  });

  it('matches the spec baseline, seed 1', () => {
    for (const [proto, saddr, daddr, sport, dport, , expected] of BASELINE) {
      expect(id(proto, saddr, daddr, sport, dport, 1), `${proto} ${saddr}:${sport} → ${daddr}:${dport}`).toBe(expected);
    }
  });

  it('orders equal addresses by port, so both directions agree', () => {
    const a = id(6, '::1', '::1', 36088, 18080);
    expect(id(6, '::1', '::1', 18080, 36088)).toBe(a);
    expect(a).not.toBe(id(6, '::1', '::1', 36088, 18081));
  });

  it('agrees with Wireshark on every TCP, UDP and ICMP echo packet of the firewall sample (IPv4)', () => {
    const rows = wireshark('samples/firewall/capture.pcap');
    expect(rows.length).toBeGreaterThan(40);
    expect(new Set(rows.map((r) => r.proto))).toEqual(new Set([1, 6, 17]));
    for (const r of rows) expect(id(r.proto, r.src, r.dst, r.sport, r.dport), JSON.stringify(r)).toBe(r.communityId);
  });

  it('agrees with Wireshark on an IPv6 capture whose endpoints share an address', () => {
    const rows = wireshark('test/captures/ipv6.pcap');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.every((r) => r.src === '::1' && r.dst === '::1')).toBe(true);
    for (const r of rows) expect(id(r.proto, r.src, r.dst, r.sport, r.dport), JSON.stringify(r)).toBe(r.communityId);
  });

  it('agrees with Wireshark with a seed', () => {
    for (const capture of ['samples/firewall/capture.pcap', 'test/captures/ipv6.pcap']) {
      for (const r of wireshark(capture, 4242)) expect(id(r.proto, r.src, r.dst, r.sport, r.dport, 4242)).toBe(r.communityId);
    }
  });

  it('is what the flow log writes for each connection, as Wireshark computes it', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: () => undefined });
    });
    for (const capture of ['samples/firewall/capture.pcap', 'test/captures/ipv6.pcap']) {
      const expected = new Map(wireshark(capture).map((r) => [`${r.src} ${r.sport} ${r.dst} ${r.dport}`, r.communityId]));
      const { flows } = await replay({ rules, capture });
      expect(flows.length).toBeGreaterThan(0);
      for (const f of flows) {
        expect(f.community_id).toBe(expected.get(`${f['id.orig_h']} ${f['id.orig_p']} ${f['id.resp_h']} ${f['id.resp_p']}`));
      }
    }
  });

  it('refuses addresses of the wrong length for the version', () => {
    expect(() => communityId(4, Buffer.alloc(16), Buffer.alloc(16), 6, 1, 2)).toThrow(/IPv4 addresses are 4 bytes, got 16 and 16/);
  });
});
