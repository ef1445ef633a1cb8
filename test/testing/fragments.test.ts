/**
 * IP fragments from the builder (fragment(), and the `fragment` option of the session
 * builders), behind VLAN tags too: tshark reassembles them into the datagram that was split,
 * and so does palisade's engine.
 */
import { describe, expect, it } from 'vitest';
import { defineRules, udp as udpEvents, tcpConnection } from '../../index.ts';
import { ethernet, fragment, ipv4Packet, pcap, replay, tcpSession, udpDatagram, udpExchange } from '../../testing.ts';
import { tsharkFields } from '../tshark-fields.ts';

/** tshark's fields per frame, in two passes so that fragments name the frame that completes them. */
function tshark(capture: Buffer, fields: string[]): Record<string, string>[] {
  return tsharkFields(capture, fields, { twoPass: true, prefs: ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] });
}

const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 255));

describe('fragment()', () => {
  it('splits an IPv4 datagram at 8-byte units: tshark reassembles it, checksums good, DF cleared', () => {
    const datagram = udpDatagram({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 4000, dstport: 53, payload: data });
    const frames = fragment(datagram, 128, { id: 0x4242 }).map((ip) => ethernet(ip));
    expect(frames).toHaveLength(3);
    const rows = tshark(pcap(frames), ['ip.id', 'ip.flags.mf', 'ip.flags.df', 'ip.frag_offset', 'ip.len', 'ip.checksum.status', 'ip.reassembled_in', 'udp.length', 'udp.checksum.status', 'udp.payload']);
    expect(rows.map((r) => [r['ip.id'], r['ip.flags.mf'], r['ip.flags.df'], r['ip.frag_offset'], r['ip.len'], r['ip.checksum.status']])).toEqual([
      // tshark shows the offset field as it is on the wire, in 8-byte units.
      ['0x4242', '1', '0', '0', '148', '1'],
      ['0x4242', '1', '0', '16', '148', '1'],
      ['0x4242', '0', '0', '32', '72', '1'],
    ]);
    expect(rows.slice(0, 2).map((r) => r['ip.reassembled_in'])).toEqual(['3', '3']);
    expect([rows[2]?.['udp.length'], rows[2]?.['udp.checksum.status'], rows[2]?.['udp.payload']]).toEqual(['308', '1', data.toString('hex')]);
  });

  it('splits an IPv6 packet with a fragment header: tshark reassembles it', () => {
    const datagram = udpDatagram({ src: 'fd00::1', dst: 'fd00::2', srcport: 4000, dstport: 53, payload: data });
    const frames = fragment(datagram, 200, { id: 0xabcdef01 }).map((ip) => ethernet(ip));
    const rows = tshark(pcap(frames), ['ipv6.fraghdr.ident', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.more', 'ipv6.reassembled.in', 'udp.length', 'udp.checksum.status']);
    expect(rows.map((r) => [r['ipv6.fraghdr.ident'], r['ipv6.fraghdr.offset'], r['ipv6.fraghdr.more']])).toEqual([
      ['0xabcdef01', '0', '1'],
      ['0xabcdef01', '25', '0'],
    ]);
    expect(rows[0]?.['ipv6.reassembled.in']).toBe('2');
    expect([rows[1]?.['udp.length'], rows[1]?.['udp.checksum.status']]).toEqual(['308', '1']);
  });

  it('keeps only the copied IPv4 options in the fragments after the first (RFC 791)', () => {
    // Router alert (0x94, copied) and a timestamp option (0x44, not copied).
    const options = Buffer.from([0x94, 4, 0, 0, 0x44, 8, 5, 0, 0, 0, 0, 0]);
    const frags = fragment(ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, options, payload: Buffer.alloc(40) }), 16);
    expect(frags.map((f) => ((f[0] as number) & 0x0f) * 4)).toEqual([32, 24, 24]);
    expect(frags[1]?.subarray(20, 24)).toEqual(Buffer.from([0x94, 4, 0, 0]));
  });

  it('says what is wrong with a size or a packet', () => {
    const datagram = udpDatagram({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1, dstport: 2, payload: 'x' });
    expect(() => fragment(datagram, 12)).toThrow(/fragment size 12 is not a positive multiple of 8/);
    expect(() => fragment(Buffer.from([0x50]), 8)).toThrow(/IP version 5, not 4 or 6/);
  });
});

describe('the session builders with { fragment }', () => {
  it('send a UDP datagram as fragments behind a VLAN tag: tshark and the engine each see it once, whole', async () => {
    const exchange = udpExchange({ client: '192.168.10.10:5353', server: '192.168.20.80:53', vlan: [7] })
      .send('up', data, { fragment: 128 })
      .send('up', data, { fragment: 128 })
      .send('down', 'answer');
    const rows = tshark(exchange.pcap(), ['vlan.id', 'ip.id', 'ip.reassembled_in', 'udp.length']);
    expect(rows.map((r) => [r['vlan.id'], r['ip.id'], r['ip.reassembled_in'], r['udp.length']])).toEqual([
      ['7', '0x0001', '3', ''],
      ['7', '0x0001', '3', ''],
      ['7', '0x0001', '', '308'],
      ['7', '0x0002', '6', ''],
      ['7', '0x0002', '6', ''],
      ['7', '0x0002', '', '308'],
      ['7', '0x0001', '', '14'],
    ]);
    const seen: number[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: udpEvents.events.receivePacket, eval: (pkt) => void seen.push(pkt.payload.length) });
    });
    const result = await replay({ rules, packets: exchange.frames() });
    expect(seen).toEqual([300, 300, 6]);
    expect(result.dropped).toEqual([]);
  });

  it('send TCP segments as fragments: tshark reassembles each and follows the stream; the engine delivers the bytes', async () => {
    const session = tcpSession({ vlan: [10, 20] }).handshake().send('up', 'a'.repeat(100), { fragment: 48 }).close();
    const frames = session.frames();
    expect(frames).toHaveLength(3 + 3 + 1 + 3);
    const rows = tshark(session.pcap(), ['vlan.id', 'ip.flags.mf', 'ip.frag_offset', 'tcp.len', 'tcp.checksum.status']);
    expect(rows.slice(3, 6).map((r) => [r['vlan.id'], r['ip.flags.mf'], r['ip.frag_offset'], r['tcp.len'], r['tcp.checksum.status']])).toEqual([
      ['10,20', '1', '0', '', ''],
      ['10,20', '1', '6', '', ''],
      ['10,20', '0', '12', '100', '1'],
    ]);
    let received = '';
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.receiveData, eval: (_flow, bytes) => void (received += bytes.toString('latin1')) });
    });
    const result = await replay({ rules, packets: frames });
    expect(received).toBe('a'.repeat(100));
    expect(result.flows.map((f) => [f.conn_state, f.end_reason])).toEqual([['SF', 'fin']]);
  });
});
