/**
 * Rules write packet fields (Haka's ipv4/tcp/udp setfields tests, ipv4-nat, core-payload): the
 * output capture holds the written values, read back by tshark with every checksum checked; a
 * written checksum is computed again unless kept; a bad value or a reassembled datagram is the
 * rule's PAL_ERR_REWRITE, and the packet goes on unwritten.
 */
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { createEngine, defineRules, icmp as icmpApi, ipv4 as ipv4Api, ipv6 as ipv6Api, tcp as tcpApi, tcpConnection, udp as udpApi } from '../../index.ts';
import { ethernet, icmp, tcp, udp } from '../../testing/packets.ts';
import { replay, tcpSession } from '../../testing.ts';
import type { RuleSet } from '../../index.ts';
import { tsharkFields } from '../tshark-fields.ts';
import { foldSum, ipv4PseudoSum } from '../../dissectors/checksum.ts';

const C4 = '192.168.10.10';
const S4 = '192.168.20.80';
const C6 = 'fd00::10';
const S6 = 'fd00:0:0:1::80';

/** tshark's checksum.status: 1 good, 0 bad. */
const GOOD = '1';
const BAD = '0';

const CHECKS = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE'];

/** The frames of a replay's output, through tshark with every checksum checked. */
async function out(rules: RuleSet, frames: Buffer[], fields: string[]): Promise<{ rows: Record<string, string>[]; ruleErrors: number; logs: Record<string, unknown>[] }> {
  const r = await replay({ rules, packets: frames });
  const pcap = encodePcap(r.output.map((p, i) => ({ data: p.bytes, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 });
  return { rows: tsharkFields(pcap, fields, { prefs: CHECKS }), ruleErrors: r.stats.ruleErrors, logs: r.logs };
}

describe('field writes', () => {
  it('IPv4 (Haka setfields): tos, id, flags, ttl, addresses as written, the header and TCP checksums valid', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          pkt.tos = 0x28;
          pkt.id = 0xbeef;
          pkt.flags.rb = true;
          pkt.flags.df = false;
          pkt.ttl = 33;
          pkt.src = ipv4Api.addr('10.0.0.1');
          pkt.dst = '10.0.0.2';
        },
      });
    });
    const frame = ethernet(tcp({ src: C4, dst: S4, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'hello', df: true, ttl: 64, id: 7 }));
    const { rows, ruleErrors } = await out(rules, [frame], ['ip.dsfield', 'ip.id', 'ip.flags.rb', 'ip.flags.df', 'ip.ttl', 'ip.src', 'ip.dst', 'ip.checksum.status', 'tcp.checksum.status', 'tcp.payload']);
    expect(ruleErrors).toBe(0);
    expect(rows).toEqual([
      { 'ip.dsfield': '0x28', 'ip.id': '0xbeef', 'ip.flags.rb': '1', 'ip.flags.df': '0', 'ip.ttl': '33', 'ip.src': '10.0.0.1', 'ip.dst': '10.0.0.2', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD, 'tcp.payload': '68656c6c6f' },
    ]);
  });

  it('TCP (Haka tcp setfields): ports, sequence numbers, flags, window, urgent pointer; the checksum updated from the words that changed', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: tcpApi.events.receivePacket,
        eval: (seg) => {
          seg.srcport = 1234;
          seg.dstport = 8080;
          seg.seq = 0xfffffff0;
          seg.ack = 77;
          seg.flags.psh = false;
          seg.flags.urg = true;
          seg.window = 512;
          seg.urgentPointer = 3;
        },
      });
    });
    const frames = [4, 6].map((v) => ethernet(tcp({ src: v === 4 ? C4 : C6, dst: v === 4 ? S4 : S6, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'hello', window: 65535 })));
    const { rows } = await out(rules, frames, ['tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.urgent_pointer', 'tcp.checksum.status']);
    const want = { 'tcp.srcport': '1234', 'tcp.dstport': '8080', 'tcp.seq_raw': String(0xfffffff0), 'tcp.ack_raw': '77', 'tcp.flags': '0x0030', 'tcp.window_size_value': '512', 'tcp.urgent_pointer': '3', 'tcp.checksum.status': GOOD };
    expect(rows).toEqual([want, want]);
  });

  it('IPv6: traffic class, flow label, hop limit, source; the TCP checksum follows the pseudo header', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: ipv6Api.events.receivePacket,
        eval: (pkt) => {
          pkt.trafficClass = 0xb8;
          pkt.flowLabel = 0x12345;
          pkt.hopLimit = 9;
          pkt.src = '2001:db8::1';
        },
      });
    });
    const frame = ethernet(tcp({ src: C6, dst: S6, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'hello' }));
    const { rows } = await out(rules, [frame], ['ipv6.tclass', 'ipv6.flow', 'ipv6.hlim', 'ipv6.src', 'ipv6.dst', 'tcp.checksum.status']);
    expect(rows).toEqual([{ 'ipv6.tclass': '0x000000b8', 'ipv6.flow': '0x012345', 'ipv6.hlim': '9', 'ipv6.src': '2001:db8::1', 'ipv6.dst': S6, 'tcp.checksum.status': GOOD }]);
  });

  it('NAT (Haka ipv4-nat): a destination rewritten both ways of a tracked connection, every segment valid', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'dnat',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          if (pkt.dst === S4) pkt.dst = '10.9.9.9';
          else if (pkt.src === S4) pkt.src = '10.9.9.9';
        },
      });
      rule({ name: 'track', on: tcpConnection.events.receivePacket, eval: () => undefined });
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'GET / HTTP/1.0\r\n\r\n').send('down', 'HTTP/1.0 200 OK\r\n\r\nhi').close().frames();
    const { rows } = await out(rules, frames, ['ip.src', 'ip.dst', 'ip.checksum.status', 'tcp.checksum.status']);
    expect(rows).toHaveLength(frames.length);
    for (const row of rows) {
      expect([row['ip.src'], row['ip.dst']].sort()).toEqual([C4, '10.9.9.9'].sort());
      expect(row['ip.checksum.status']).toBe(GOOD);
      expect(row['tcp.checksum.status']).toBe(GOOD);
    }
  });

  it('UDP: ports, and a payload of another length with the UDP and IP lengths fixed; a UDP checksum of 0 (none, over IPv4) stays 0', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: udpApi.events.receivePacket,
        eval: (d) => {
          d.srcport = 5353;
          if (d.dstport === 53) d.payload = Buffer.from('a longer payload than before');
        },
      });
    });
    const frames = [
      ethernet(udp({ src: C4, dst: S4, srcport: 40000, dstport: 53, payload: 'short' })),
      ethernet(udp({ src: C4, dst: S4, srcport: 40001, dstport: 54, payload: 'none', noChecksum: true })),
    ];
    const { rows } = await out(rules, frames, ['udp.srcport', 'udp.length', 'ip.len', 'udp.checksum', 'udp.checksum.status', 'ip.checksum.status', 'udp.payload']);
    expect(rows[0]?.['udp.checksum']).not.toBe('0x0000');
    expect(rows[0]).toMatchObject({ 'udp.srcport': '5353', 'udp.length': '36', 'ip.len': '56', 'udp.checksum.status': GOOD, 'ip.checksum.status': GOOD, 'udp.payload': Buffer.from('a longer payload than before').toString('hex') });
    expect(rows[1]?.['udp.srcport']).toBe('5353');
    expect(rows[1]?.['udp.checksum']).toBe('0x0000');
  });

  it('ICMP: type, code and a payload edited in place, then assigned back', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: icmpApi.events.receivePacket,
        eval: (m) => {
          m.type = 0;
          m.code = 0;
          const p = m.payload;
          p.write('PONG', 4, 'latin1');
          m.payload = p;
        },
      });
    });
    const frame = ethernet(icmp({ src: C4, dst: S4, type: 8, payload: Buffer.concat([Buffer.from([0, 1, 0, 1]), Buffer.from('PING')]) }));
    const { rows } = await out(rules, [frame], ['icmp.type', 'icmp.code', 'icmp.checksum.status', 'data.data']);
    expect(rows).toEqual([{ 'icmp.type': '0', 'icmp.code': '0', 'icmp.checksum.status': GOOD, 'data.data': Buffer.from('PONG').toString('hex') }]);
  });

  it('a written checksum is computed again when the packet leaves (Haka); keepChecksum() sends it as written', async () => {
    const rules = (keep: boolean) =>
      defineRules(({ rule }) => {
        rule({
          name: 'set',
          on: tcpApi.events.receivePacket,
          eval: (seg) => {
            const ip = seg.ip;
            if (ip.version !== 4) return;
            seg.checksum = 0x1234;
            ip.ttl = 5;
            if (keep) {
              seg.keepChecksum();
              ip.checksum = 0x4321;
              ip.keepChecksum();
            }
          },
        });
      });
    const frame = ethernet(tcp({ src: C4, dst: S4, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'x' }));
    const fields = ['tcp.checksum', 'tcp.checksum.status', 'ip.checksum', 'ip.checksum.status'];
    const again = await out(rules(false), [frame], fields);
    expect(again.rows[0]?.['tcp.checksum.status']).toBe(GOOD);
    expect(again.rows[0]?.['ip.checksum.status']).toBe(GOOD);
    const kept = await out(rules(true), [frame], fields);
    expect(kept.rows).toEqual([{ 'tcp.checksum': '0x1234', 'tcp.checksum.status': BAD, 'ip.checksum': '0x4321', 'ip.checksum.status': BAD }]);
  });

  it('an updated checksum that was wrong stays wrong (RFC 1624: a write never launders a corrupt segment); computeChecksum() makes it right', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'set',
        on: tcpApi.events.receivePacket,
        eval: (seg) => {
          seg.window = 1000;
          if (seg.dstport === 81) seg.computeChecksum();
        },
      });
    });
    const frames = [80, 81].map((dstport) => ethernet(tcp({ src: C4, dst: S4, srcport: 40000, dstport, seq: 1, ack: 2, flags: 'PA', payload: 'x', badChecksum: true })));
    const { rows } = await out(rules, frames, ['tcp.window_size_value', 'tcp.checksum.status']);
    expect(rows).toEqual([
      { 'tcp.window_size_value': '1000', 'tcp.checksum.status': BAD },
      { 'tcp.window_size_value': '1000', 'tcp.checksum.status': GOOD },
    ]);
  });

  it("a write a packet cannot take is the rule's PAL_ERR_REWRITE: the packet is dropped (ruleErrorPolicy drop, the default) or goes on as it came (accept)", async () => {
    const ttl = defineRules(({ rule }) => {
      rule({
        name: 'ttl-out-of-range',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          pkt.ttl = 300;
        },
      });
    });
    const longer = defineRules(({ rule }) => {
      rule({
        name: 'longer-segment',
        on: tcpConnection.events.receivePacket,
        eval: (_flow, seg) => {
          if (seg.payloadLength > 0) seg.payload = Buffer.from('more bytes than the segment had');
        },
      });
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'abc').close().frames();
    const messages = (r: Awaited<ReturnType<typeof replay>>): string[] => r.logs.filter((l) => l.level === 'error').map((l) => (l.err as { message?: string } | undefined)?.message ?? '');

    const dropped = await replay({ rules: ttl, packets: frames });
    expect(dropped.stats.ruleErrorsByRule.get('ttl-out-of-range')).toBe(frames.length);
    expect(messages(dropped)[0]).toBe('PAL_ERR_REWRITE: ipv4.ttl: 300 is not an integer from 0 to 255');
    expect(dropped.output).toEqual([]);

    const accepted = await replay({ rules: ttl, packets: frames, config: { ruleErrorPolicy: 'accept' } });
    expect(accepted.output.map((p) => p.bytes)).toEqual(frames);

    const tracked = await replay({ rules: longer, packets: frames, config: { ruleErrorPolicy: 'accept' } });
    expect(tracked.stats.ruleErrorsByRule.get('longer-segment')).toBe(1);
    expect(messages(tracked)[0]).toMatch(/^PAL_ERR_REWRITE: tcp\.payload: 31 bytes for a segment of 3 on a tracked connection: its sequence numbers would no longer match/);
    expect(tracked.output.map((p) => p.bytes)).toEqual(frames);
  });

  it('a datagram reassembled from fragments cannot be written: its fragments go out as they came', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'ttl',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          pkt.ttl = 1;
        },
      });
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'x'.repeat(64), { fragment: 24 }).frames();
    const r = await replay({ rules, packets: frames, config: { ruleErrorPolicy: 'accept' } });
    const errors = r.logs.filter((l) => l.level === 'error').map((l) => (l.err as { message?: string } | undefined)?.message ?? '');
    expect(errors.some((m) => m.startsWith('PAL_ERR_REWRITE: ipv4.ttl: this datagram was reassembled from IP fragments'))).toBe(true);
    // The whole packets are written (TTL 1); the fragments go out as they came.
    expect(r.output).toHaveLength(frames.length);
    const fragment = (b: Buffer): boolean => (b.readUInt16BE(14 + 6) & 0x3fff) !== 0;
    expect(frames.filter(fragment).length).toBeGreaterThan(2);
    r.output.forEach((p, i) => {
      const sent = frames[i] as Buffer;
      if (fragment(sent)) expect(p.bytes).toEqual(sent);
      else expect(p.bytes[14 + 8]).toBe(1);
    });
  });

  it('a frame held for a streamed rule goes out with what rules wrote after it was held (tcp.events.sendPacket)', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'lines',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream) => {
          for await (const line of stream.lines()) if (line === '') break;
        },
      });
      rule({
        name: 'window',
        on: tcpApi.events.sendPacket,
        eval: (seg) => {
          if (seg.payloadLength > 0) seg.window = 4321;
        },
      });
    });
    // The first line is held until its end comes in the next segment.
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'first li').send('up', 'ne\r\n\r\n').close().frames();
    const r = await replay({ rules, packets: frames });
    expect(r.stats.ruleErrors).toBe(0);
    const pcap = encodePcap(r.output.map((p, i) => ({ data: p.bytes, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 });
    const rows = tsharkFields(pcap, ['frame.number', 'tcp.len', 'tcp.window_size_value', 'tcp.checksum.status'], { prefs: CHECKS, filter: 'tcp.len > 0' });
    expect(rows.map((row) => [row['tcp.len'], row['tcp.window_size_value'], row['tcp.checksum.status']])).toEqual([
      ['8', '4321', GOOD],
      ['6', '4321', GOOD],
    ]);
  });

  it('a segment whose checksum the kernel has not finished (GSO, offload) gets it computed whole after any write, a TTL alone included', () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'ttl',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          pkt.ttl = 33;
        },
      });
    });
    // Raw IP as NFQUEUE hands it: the TCP checksum field holds only the pseudo header's sum, for the NIC to finish.
    const ip = tcp({ src: C4, dst: S4, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'hello' });
    ip.writeUInt16BE(foldSum(ipv4PseudoSum(ip, 0, 6, ip.length - 20)), 20 + 16);
    const sent: Buffer[] = [];
    const engine = createEngine({ rules, output: { forward: (bytes) => sent.push(Buffer.from(bytes)) } });
    engine.push(ip, { secs: 1, nsecs: 0 }, 101, true);
    const pcap = encodePcap(sent.map((data) => ({ data, secs: 1, nsecs: 0 })), { linkType: 101 });
    expect(tsharkFields(pcap, ['ip.ttl', 'ip.checksum.status', 'tcp.checksum.status'], { prefs: CHECKS })).toEqual([{ 'ip.ttl': '33', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD }]);
  });

  it('with --pass-through packets are read-only (Haka: "read only buffer"): a write is the rule\'s error, and the packet goes out as it came', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'ttl',
        on: ipv4Api.events.receivePacket,
        eval: (pkt) => {
          pkt.ttl = 1;
        },
      });
    });
    const frame = ethernet(tcp({ src: C4, dst: S4, srcport: 40000, dstport: 80, seq: 1, ack: 2, flags: 'PA', payload: 'x' }));
    const r = await replay({ rules, packets: [frame], passThrough: true });
    expect(r.output.map((p) => p.bytes)).toEqual([frame]);
    expect(r.logs.map((l) => (l.err as { message?: string } | undefined)?.message)).toContain('PAL_ERR_REWRITE: ipv4.ttl: with --pass-through packets go out as they came: nothing is written (run without it to rewrite)');
  });
});
