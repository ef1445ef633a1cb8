/**
 * Packets rules create and send (Haka's ipv4/tcp/udp create tests and its hook-down rules):
 * `ipv4.create`, `ipv6.create`, `tcp.create`, `udp.create`, `icmp.create`, `send()`. A sent
 * packet goes into the output capture behind the current frame's link header (turned around
 * when it answers that frame), after the sendPacket events of its layers, where a rule may
 * write or drop it; tshark reads each one with its checksums checked.
 */
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { defineRules, icmp as icmpApi, ipv4 as ipv4Api, ipv6 as ipv6Api, tcp as tcpApi, udp as udpApi } from '../../index.ts';
import type { RuleSet } from '../../index.ts';
import { ethernet, icmp, tcp } from '../../testing/packets.ts';
import { replay } from '../../testing.ts';
import { tsharkFields } from '../tshark-fields.ts';

const C4 = '192.168.10.10';
const S4 = '192.168.20.80';
const CLIENT_MAC = '02:00:00:00:00:01';
const SERVER_MAC = '02:00:00:00:00:02';
const GOOD = '1';
const CHECKS = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE'];

async function run(rules: RuleSet, frames: Buffer[], fields: string[]): Promise<{ rows: Record<string, string>[]; r: Awaited<ReturnType<typeof replay>> }> {
  const r = await replay({ rules, packets: frames, config: { ruleErrorPolicy: 'accept' } });
  const pcap = encodePcap(r.output.map((p, i) => ({ data: p.bytes, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 });
  return { rows: tsharkFields(pcap, fields, { prefs: CHECKS }), r };
}

const segment = (dstport: number, payload = 'data'): Buffer =>
  ethernet(tcp({ src: C4, dst: S4, srcport: 40000, dstport, seq: 5000, ack: 9000, flags: 'PA', payload, window: 1234, ttl: 40 }), { src: CLIENT_MAC, dst: SERVER_MAC });

describe('created packets', () => {
  it('tcp.create (Haka tcp create): a copy of a segment on other ports and sequence numbers, sent before the segment it copies', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'duplicate',
        on: tcpApi.events.receivePacket,
        eval: (seg) => {
          if (seg.dstport !== 4444 || seg.ip.version !== 4) return;
          tcpApi
            .create({ src: seg.ip.src, dst: seg.ip.dst, ttl: seg.ip.ttl, srcport: seg.srcport + 10, dstport: seg.dstport + 10, seq: seg.seq + 1000, ack: seg.ack + 1000, flags: seg.flagsByte, window: seg.window, payload: seg.payload })
            .send();
        },
      });
    });
    const { rows, r } = await run(rules, [segment(4444), segment(80)], ['eth.src', 'eth.dst', 'ip.ttl', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.window_size_value', 'tcp.payload', 'ip.checksum.status', 'tcp.checksum.status']);
    expect(r.stats.ruleErrors).toBe(0);
    expect(r.injected).toHaveLength(1);
    const copy = { 'eth.src': CLIENT_MAC, 'eth.dst': SERVER_MAC, 'ip.ttl': '40', 'tcp.srcport': '40010', 'tcp.dstport': '4454', 'tcp.seq_raw': '6000', 'tcp.ack_raw': '10000', 'tcp.flags': '0x0018', 'tcp.window_size_value': '1234', 'tcp.payload': '64617461', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD };
    expect(rows.map((row) => row['tcp.dstport'])).toEqual(['4454', '4444', '80']);
    expect(rows[0]).toEqual(copy);
  });

  it('icmp.create: an echo reply to a request goes back to its sender, the link header turned around', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'pong',
        on: icmpApi.events.receivePacket,
        eval: (m) => {
          if (m.type !== 8) return;
          icmpApi.create({ src: m.ip.dst, dst: m.ip.src, type: 0, payload: m.payload }).send();
          m.drop();
        },
      });
    });
    const request = ethernet(icmp({ src: C4, dst: S4, type: 8, payload: Buffer.concat([Buffer.from([0x12, 0x34, 0, 1]), Buffer.from('ping')]) }), { src: CLIENT_MAC, dst: SERVER_MAC });
    const { rows } = await run(rules, [request], ['eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'icmp.type', 'icmp.ident', 'icmp.seq', 'icmp.checksum.status', 'ip.checksum.status']);
    expect(rows).toEqual([{ 'eth.src': SERVER_MAC, 'eth.dst': CLIENT_MAC, 'ip.src': S4, 'ip.dst': C4, 'icmp.type': '0', 'icmp.ident': '4660', 'icmp.seq': '1', 'icmp.checksum.status': GOOD, 'ip.checksum.status': GOOD }]);
  });

  it('ipv4.create (Haka ipv4 create) with fields written after it, udp.create, and IPv6 behind an IPv4 frame (the EtherType follows)', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'make',
        on: tcpApi.events.receivePacket,
        eval: () => {
          const raw = ipv4Api.create({ src: '192.168.0.1', dst: '192.168.0.2', proto: 20, payload: 'abcd' });
          raw.id = 0xbeef;
          raw.flags.rb = true;
          raw.ttl = 33;
          raw.send();
          udpApi.create({ src: C4, dst: S4, srcport: 5353, dstport: 9999, payload: 'query' }).send();
          udpApi.create({ src: 'fd00::10', dst: 'fd00::53', srcport: 5353, dstport: 9999, payload: 'six' }).send();
          ipv6Api.create({ src: 'fd00::10', dst: 'fd00::53', proto: 59 }).send();
        },
      });
    });
    const { rows } = await run(rules, [segment(80)], ['eth.type', 'ip.proto', 'ip.id', 'ip.flags.rb', 'ip.ttl', 'ip.checksum.status', 'udp.dstport', 'udp.checksum.status', 'ipv6.nxt', 'data.data', 'udp.payload']);
    expect(rows.slice(0, 4)).toEqual([
      { 'eth.type': '0x0800', 'ip.proto': '20', 'ip.id': '0xbeef', 'ip.flags.rb': '1', 'ip.ttl': '33', 'ip.checksum.status': GOOD, 'udp.dstport': '', 'udp.checksum.status': '', 'ipv6.nxt': '', 'data.data': '61626364', 'udp.payload': '' },
      { 'eth.type': '0x0800', 'ip.proto': '17', 'ip.id': '0x0000', 'ip.flags.rb': '0', 'ip.ttl': '64', 'ip.checksum.status': GOOD, 'udp.dstport': '9999', 'udp.checksum.status': GOOD, 'ipv6.nxt': '', 'data.data': '', 'udp.payload': Buffer.from('query').toString('hex') },
      { 'eth.type': '0x86dd', 'ip.proto': '', 'ip.id': '', 'ip.flags.rb': '', 'ip.ttl': '', 'ip.checksum.status': '', 'udp.dstport': '9999', 'udp.checksum.status': GOOD, 'ipv6.nxt': '17', 'data.data': '', 'udp.payload': Buffer.from('six').toString('hex') },
      { 'eth.type': '0x86dd', 'ip.proto': '', 'ip.id': '', 'ip.flags.rb': '', 'ip.ttl': '', 'ip.checksum.status': '', 'udp.dstport': '', 'udp.checksum.status': '', 'ipv6.nxt': '59', 'data.data': '', 'udp.payload': '' },
    ]);
    expect(rows).toHaveLength(5);
  });

  it('sendPacket rules see what is sent (Haka hook-down rules): they write it, or drop it and it is not sent', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'duplicate',
        on: tcpApi.events.receivePacket,
        eval: (seg) => {
          if (seg.ip.version !== 4 || seg.srcport === 7) return;
          for (const dstport of [1001, 1002]) tcpApi.create({ src: seg.ip.src, dst: seg.ip.dst, srcport: 7, dstport, flags: 'S' }).send();
        },
      });
      rule({
        name: 'down',
        on: tcpApi.events.sendPacket,
        eval: (seg) => {
          if (seg.dstport === 1002) seg.drop();
          else if (seg.ip.version === 4) seg.ip.ttl = 9;
        },
      });
    });
    const { rows } = await run(rules, [segment(80)], ['tcp.dstport', 'ip.ttl', 'ip.checksum.status', 'tcp.checksum.status']);
    expect(rows).toEqual([
      { 'tcp.dstport': '1001', 'ip.ttl': '9', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD },
      { 'tcp.dstport': '80', 'ip.ttl': '9', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD },
    ]);
  });

  it("send() of a received packet, or a created packet's bad field, is the rule's PAL_ERR_REWRITE", async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'resend',
        on: tcpApi.events.receivePacket,
        eval: (seg) => {
          seg.send();
        },
      });
      rule({
        name: 'bad-port',
        on: tcpApi.events.receivePacket,
        eval: () => {
          tcpApi.create({ src: C4, dst: S4, srcport: 70000, dstport: 1 }).send();
        },
      });
      rule({
        name: 'bad-flags',
        on: tcpApi.events.receivePacket,
        eval: () => {
          tcpApi.create({ src: C4, dst: S4, srcport: 1, dstport: 1, flags: 'SYN' }).send();
        },
      });
    });
    const { r } = await run(rules, [segment(80)], ['tcp.dstport']);
    const messages = r.logs.filter((l) => l.level === 'error').map((l) => `${String(l.rule)}: ${(l.err as { message?: string }).message ?? ''}`);
    expect(messages).toEqual([
      'resend: PAL_ERR_REWRITE: tcp.send: only a packet made with create() is sent; a received one goes out by itself (drop() stops it)',
      'bad-port: PAL_ERR_REWRITE: tcp.create srcport: 70000 is not an integer from 0 to 65535',
      "bad-flags: PAL_ERR_REWRITE: tcp.create: flags 'SYN': 'Y' is not a flag letter (F S R P A U E C, as tcpdump prints them)",
    ]);
    expect(r.injected).toHaveLength(0);
  });

  it('send() outside a rule says so', () => {
    const seg = tcpApi.create({ src: C4, dst: S4, srcport: 1, dstport: 2 });
    expect(() => seg.send()).toThrow(expect.objectContaining({ code: 'PAL_ERR_REWRITE', message: 'tcp.send: a created packet is sent from a rule, while palisade runs it' }));
  });
});
