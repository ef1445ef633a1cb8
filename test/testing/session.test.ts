/**
 * The conversation builder the test corpus is made with: its sessions read exactly as intended
 * in tshark (sequence analysis on, checksums checked) and in our own dissectors.
 */

import { describe, expect, it } from 'vitest';
import { tcpSession, udpExchange } from '../../testing.ts';
import { Chain } from '../dissectors/frames.ts';
import { tsharkFields } from '../tshark-fields.ts';

const PREFS = ['tcp.analyze_sequence_numbers:TRUE', 'tcp.relative_sequence_numbers:TRUE', 'tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE', 'udp.check_checksum:TRUE'];

/** tshark's fields per frame, sequence analysis on and checksums checked. */
function tshark(pcap: Buffer, fields: string[], filter?: string): Record<string, string>[] {
  return tsharkFields(pcap, fields, filter === undefined ? { prefs: PREFS } : { prefs: PREFS, filter });
}

/** [seq, ack, len, flags] per frame, relative, as tshark shows them. */
function sequence(pcap: Buffer): string[][] {
  return tshark(pcap, ['tcp.seq', 'tcp.ack', 'tcp.len', 'tcp.flags']).map((r) => Object.values(r));
}

/** Frame numbers tshark flags with any sequence analysis warning. */
function warnings(pcap: Buffer): string[] {
  return tshark(pcap, ['frame.number'], 'tcp.analysis.flags').map((r) => r['frame.number'] ?? '');
}

describe('tcpSession', () => {
  it('builds a request and response tshark reads cleanly: exact numbers, no analysis warnings, good checksums', () => {
    const pcap = tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80' })
      .handshake()
      .send('up', 'GET / HTTP/1.1\r\n\r\n')
      .send('down', 'HTTP/1.1 200 OK\r\n\r\n')
      .close()
      .pcap();
    expect(sequence(pcap)).toEqual([
      ['0', '0', '0', '0x0002'],
      ['0', '1', '0', '0x0012'],
      ['1', '1', '0', '0x0010'],
      ['1', '1', '18', '0x0018'],
      ['1', '19', '0', '0x0010'],
      ['1', '19', '19', '0x0018'],
      ['19', '20', '0', '0x0010'],
      ['19', '20', '0', '0x0011'],
      ['20', '20', '0', '0x0011'],
      ['20', '21', '0', '0x0010'],
    ]);
    expect(warnings(pcap)).toEqual([]);
    const sums = tshark(pcap, ['ip.checksum.status', 'tcp.checksum.status', 'ip.src', 'tcp.srcport', 'ip.flags.df', 'ip.ttl']);
    expect(sums.every((r) => r['ip.checksum.status'] === '1' && r['tcp.checksum.status'] === '1')).toBe(true);
    expect(sums.slice(0, 2).map((r) => [r['ip.src'], r['tcp.srcport'], r['ip.flags.df'], r['ip.ttl']])).toEqual([
      ['192.168.10.10', '40000', '1', '64'],
      ['192.168.20.80', '80', '1', '64'],
    ]);
  });

  it('starts at the ISNs given and wraps past 2^32', () => {
    const pcap = tcpSession({ isn: { client: 0xffff_fff0, server: 7 } })
      .handshake()
      .send('up', 'x'.repeat(40))
      .close()
      .pcap();
    const raw = tshark(pcap, ['tcp.seq_raw', 'tcp.ack_raw']).map((r) => [Number(r['tcp.seq_raw']), Number(r['tcp.ack_raw'])]);
    expect(raw).toEqual([
      [0xffff_fff0, 0],
      [7, 0xffff_fff1],
      [0xffff_fff1, 8],
      [0xffff_fff1, 8],
      [8, 0x19],
      [0x19, 8],
      [8, 0x1a],
      [0x1a, 9],
    ]);
    expect(warnings(pcap)).toEqual([]);
  });

  it('cuts data into MSS-sized segments, or into the number of segments asked for', () => {
    const pcap = tcpSession({ mss: 1000 })
      .handshake()
      .send('up', 'a'.repeat(2500))
      .send('down', 'b'.repeat(10), { segments: 3 })
      .pcap();
    const rows = tshark(pcap, ['tcp.len', 'tcp.flags', 'tcp.options.mss_val']);
    expect(rows.map((r) => r['tcp.options.mss_val'])).toEqual(['1000', '1000', '', '', '', '', '', '', '', '', '']);
    expect(rows.slice(3).map((r) => [r['tcp.len'], r['tcp.flags']])).toEqual([
      ['1000', '0x0010'],
      ['1000', '0x0010'],
      ['500', '0x0018'],
      ['0', '0x0010'],
      ['4', '0x0010'],
      ['3', '0x0010'],
      ['3', '0x0018'],
      ['0', '0x0010'],
    ]);
    expect(warnings(pcap)).toEqual([]);
  });

  it('builds IPv6 sessions behind VLAN tags when the addresses are IPv6', () => {
    const pcap = tcpSession({ client: '[fd00::10]:40000', server: '[fd00:1::80]:443', vlan: [10, 20] })
      .handshake()
      .send('up', 'z'.repeat(3000))
      .close('down')
      .pcap();
    const rows = tshark(pcap, ['ipv6.src', 'ipv6.dst', 'vlan.id', 'tcp.len', 'tcp.options.mss_val', 'tcp.checksum.status']);
    expect(rows[0]).toEqual({
      'ipv6.src': 'fd00::10',
      'ipv6.dst': 'fd00:1::80',
      'vlan.id': '10,20',
      'tcp.len': '0',
      'tcp.options.mss_val': '1440',
      'tcp.checksum.status': '1',
    });
    expect(rows.map((r) => r['tcp.len'])).toEqual(['0', '0', '0', '1440', '1440', '120', '0', '0', '0', '0']);
    expect(rows.every((r) => r['tcp.checksum.status'] === '1')).toBe(true);
    expect(warnings(pcap)).toEqual([]);
  });

  it('resends the last segment: a retransmission while unacknowledged, a spurious one after the ACK', () => {
    const pcap = tcpSession()
      .handshake()
      .send('up', 'abc', { ack: false })
      .resend('up') // frame 5
      .ack('down')
      .send('up', 'def')
      .resend('up') // frame 9
      .pcap();
    expect(tshark(pcap, ['frame.number'], 'tcp.analysis.retransmission')).toEqual([{ 'frame.number': '5' }, { 'frame.number': '9' }]);
    expect(tshark(pcap, ['frame.number'], 'tcp.analysis.spurious_retransmission')).toEqual([{ 'frame.number': '9' }]);
    expect(tshark(pcap, ['tcp.seq', 'tcp.payload'], 'frame.number == 4 or frame.number == 5 or frame.number == 9')).toEqual([
      { 'tcp.seq': '1', 'tcp.payload': '616263' },
      { 'tcp.seq': '1', 'tcp.payload': '616263' },
      { 'tcp.seq': '4', 'tcp.payload': '646566' },
    ]);
  });

  it('resends other bytes at a stream offset (an inconsistent retransmission), or what was sent from there', () => {
    const frames = tcpSession()
      .handshake()
      .send('up', 'hello world', { segments: 2 })
      .resend('up', 'J', { at: 0 })
      .resend('up', undefined, { at: 4 })
      .frames();
    const chain = new Chain();
    const seen = frames.slice(6).map((f) => {
      expect(chain.run(f)).toBe('tcp');
      expect(chain.tcp.verifyChecksum()).toBe(true);
      return [chain.tcp.seq - 1_000_001, chain.tcp.payload.toString('latin1')];
    });
    expect(seen).toEqual([
      [0, 'J'],
      [4, 'o world'],
    ]);
  });

  it('places raw segments at any offset without moving the session on', () => {
    const pcap = tcpSession()
      .handshake()
      .segment('up', { offset: 3, data: 'def' })
      .segment('up', { offset: 0, data: 'abc' })
      .segment('up', { offset: 1, data: 'BCD', flags: 'A', ack: 12345 })
      .send('up', 'abcdefg')
      .pcap();
    const rows = tshark(pcap, ['tcp.seq', 'tcp.len', 'tcp.flags', 'tcp.ack_raw']).slice(3);
    expect(rows.map((r) => [r['tcp.seq'], r['tcp.len'], r['tcp.flags']])).toEqual([
      ['4', '3', '0x0018'],
      ['1', '3', '0x0018'],
      ['2', '3', '0x0010'],
      ['1', '7', '0x0018'],
      ['1', '0', '0x0010'],
    ]);
    expect(rows[2]?.['tcp.ack_raw']).toBe('12345');
    expect(tshark(pcap, ['frame.number'], 'tcp.analysis.lost_segment')).toEqual([{ 'frame.number': '4' }]);
  });

  it('swaps two built frames with reorder', () => {
    const session = tcpSession().handshake().send('up', 'ab', { segments: 2, ack: false });
    const before = session.frames();
    const pcap = session.reorder(3, 4).pcap();
    expect(session.frames()).toEqual([before[0], before[1], before[2], before[4], before[3]]);
    expect(tshark(pcap, ['frame.number'], 'tcp.analysis.out_of_order')).toEqual([{ 'frame.number': '5' }]);
    expect(() => session.reorder(0, 5)).toThrow(/reorder\(0, 5\): there are 5 frames/);
  });

  it('half-closes with fin, closes the rest, and aborts with rst', () => {
    const halfClosed = tcpSession().handshake().send('up', 'q').fin('up').send('down', 'answer').close().pcap();
    expect(sequence(halfClosed).slice(5)).toEqual([
      ['2', '1', '0', '0x0011'],
      ['1', '3', '0', '0x0010'],
      ['1', '3', '6', '0x0018'],
      ['3', '7', '0', '0x0010'],
      ['7', '3', '0', '0x0011'],
      ['3', '8', '0', '0x0010'],
    ]);
    expect(warnings(halfClosed)).toEqual([]);
    const aborted = tcpSession().handshake().send('up', 'q').rst('down').rst('up', { flags: 'R' }).pcap();
    expect(sequence(aborted).slice(5)).toEqual([
      ['1', '2', '0', '0x0014'],
      ['2', '0', '0', '0x0004'],
    ]);
  });

  it('writes a pcap of Ethernet frames 1 ms apart', () => {
    const session = tcpSession().handshake();
    const pcap = session.pcap({ start: 1_600_000_000 });
    expect(pcap.readUInt32LE(20)).toBe(1);
    expect(tshark(pcap, ['frame.time_epoch', 'eth.src', 'eth.dst'])).toEqual([
      { 'frame.time_epoch': '1600000000.000000000', 'eth.src': '02:00:00:00:00:01', 'eth.dst': '02:00:00:00:00:02' },
      { 'frame.time_epoch': '1600000000.001000000', 'eth.src': '02:00:00:00:00:02', 'eth.dst': '02:00:00:00:00:01' },
      { 'frame.time_epoch': '1600000000.002000000', 'eth.src': '02:00:00:00:00:01', 'eth.dst': '02:00:00:00:00:02' },
    ]);
    expect(session.length).toBe(3);
  });

  it('says what is wrong with an endpoint or a send', () => {
    expect(() => tcpSession({ client: 'fd00::1:80' })).toThrow(/client 'fd00::1:80' is not 'a.b.c.d:port' or '\[v6 address\]:port'/);
    expect(() => tcpSession({ client: '[fd00::1]:80' })).toThrow(/must both be IPv4 or both IPv6/);
    expect(() => tcpSession().send('up', '')).toThrow(/no data/);
    expect(() => tcpSession().send('up', 'ab', { segments: 3 })).toThrow(/cannot split 2 bytes into 3 segments/);
    expect(() => tcpSession().resend('down')).toThrow(/nothing was sent that way yet/);
  });
});

describe('udpExchange', () => {
  it('sends one datagram per send, both ways, with good checksums', () => {
    const pcap = udpExchange({ client: '10.0.0.1:5353', server: '10.0.0.2:53' }).send('up', 'q').send('down', 'answer').pcap();
    expect(tshark(pcap, ['ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'udp.length', 'udp.checksum.status'])).toEqual([
      { 'ip.src': '10.0.0.1', 'udp.srcport': '5353', 'ip.dst': '10.0.0.2', 'udp.dstport': '53', 'udp.length': '9', 'udp.checksum.status': '1' },
      { 'ip.src': '10.0.0.2', 'udp.srcport': '53', 'ip.dst': '10.0.0.1', 'udp.dstport': '5353', 'udp.length': '14', 'udp.checksum.status': '1' },
    ]);
  });

  it('speaks IPv6 behind a VLAN tag', () => {
    const frames = udpExchange({ client: '[fd00::1]:4000', server: '[fd00::2]:7', vlan: [42] }).send('up', 'ping').frames();
    const chain = new Chain();
    expect(chain.run(frames[0] as Buffer)).toBe('udp');
    expect([chain.link.vlanIds, chain.ipv6.src, chain.udp.dstport, chain.udp.verifyChecksum()]).toEqual([[42], 'fd00::1', 7, true]);
  });
});
