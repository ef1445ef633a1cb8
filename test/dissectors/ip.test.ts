import { describe, expect, it } from 'vitest';
import { Packet } from '../../dissectors/packet.ts';
import { Stats } from '../../core/stats.ts';
import { writeIpv4HeaderChecksum } from '../../dissectors/checksum.ts';
import { Ipv4Packet, dissectIpv4 } from '../../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../../dissectors/ipv6.ts';
import { ipv6TextAt as ipv6Text } from '../../core/address-text.ts';
import {
  Chain,
  hex,
  icmp4Unreachable,
  mldHopByHop,
  tcp4Get,
  tcp4Syn,
  tcp6Syn,
  udp4,
  udp4Fragments,
  udp6,
  udp6Fragments,
} from './frames.ts';

function v4(bytes: Buffer, off = 14): { ok: boolean; ip: Ipv4Packet; anomalies: Record<string, number> } {
  const stats = new Stats();
  const ip = new Ipv4Packet();
  const ok = dissectIpv4(ip, new Packet(), bytes, off, stats);
  return { ok, ip, anomalies: Object.fromEntries(stats.anomalies) };
}

function v6(bytes: Buffer, off = 14, cut = false): { ok: boolean; ip: Ipv6Packet; anomalies: Record<string, number> } {
  const stats = new Stats();
  const ip = new Ipv6Packet();
  const packet = new Packet();
  packet.cut = cut;
  const ok = dissectIpv6(ip, packet, bytes, off, stats);
  return { ok, ip, anomalies: Object.fromEntries(stats.anomalies) };
}

/** An IPv4 header with `options` (hex, a multiple of 4 bytes) and a correct checksum, then `payload`. */
function ipv4(options: string, payload: Buffer, proto = 17): Buffer {
  const opts = hex(options);
  const h = Buffer.concat([hex('4500 0000 abcd 0000 4000 0000 c0a80001 c0a80002'), opts]);
  h[0] = 0x40 | (h.length / 4);
  h.writeUInt16BE(h.length + payload.length, 2);
  h[9] = proto;
  writeIpv4HeaderChecksum(h, 0);
  return Buffer.concat([h, payload]);
}

/** A fixed IPv6 header fd00::1 → fd00::2 with next header `nh`, then `rest`. */
function ipv6(nh: number, rest: Buffer): Buffer {
  const h = hex('6000000000000040 fd000000000000000000000000000001 fd000000000000000000000000000002');
  h.writeUInt16BE(rest.length, 4);
  h[6] = nh;
  return Buffer.concat([h, rest]);
}

describe('IPv4 fields (tshark-decoded frames)', () => {
  it('reads every header field of a TCP SYN', () => {
    const { ok, ip, anomalies } = v4(tcp4Syn);
    expect(ok).toBe(true);
    expect(anomalies).toEqual({});
    expect({
      version: ip.version,
      hdrLen: ip.hdrLen,
      tos: ip.tos,
      len: ip.len,
      id: ip.id,
      flags: { rb: ip.flags.rb, df: ip.flags.df, mf: ip.flags.mf },
      fragOffset: ip.fragOffset,
      ttl: ip.ttl,
      proto: ip.proto,
      checksum: ip.checksum,
      src: ip.src,
      dst: ip.dst,
    }).toEqual({
      version: 4,
      hdrLen: 20,
      tos: 0,
      len: 60,
      id: 0x6dc8,
      flags: { rb: false, df: true, mf: false },
      fragOffset: 0,
      ttl: 64,
      proto: 6,
      checksum: 0xb82b,
      src: '10.99.0.1',
      dst: '10.99.0.2',
    });
    expect(ip.verifyChecksum()).toBe(true);
    expect([ip.srcInt, ip.dstInt]).toEqual([0x0a630001, 0x0a630002]);
    expect([ip.payloadOffset, ip.payload.length, ip.isFragment, ip.options]).toEqual([34, 40, false, []]);
    expect(JSON.parse(JSON.stringify(ip))).toMatchObject({ version: 4, src: '10.99.0.1', flags: { df: true } });
  });

  it('reads TOS, no DF and the reversed addresses of an ICMP error', () => {
    const { ip } = v4(icmp4Unreachable);
    expect([ip.tos, ip.len, ip.id, ip.flags.df, ip.proto, ip.checksum, ip.src, ip.dst]).toEqual([
      0xc0, 71, 0x147c, false, 1, 0x50b2, '10.99.0.2', '10.99.0.1',
    ]);
    expect(ip.verifyChecksum()).toBe(true);
  });

  it('reads fragment fields: offset in bytes, MF', () => {
    const [first, middle, last] = udp4Fragments.map((f) => v4(f).ip);
    expect([first?.fragOffset, first?.flags.mf, first?.isFragment, first?.len]).toEqual([0, true, true, 1276]);
    expect([middle?.fragOffset, middle?.flags.mf, middle?.isFragment]).toEqual([1256, true, true]);
    expect([last?.fragOffset, last?.flags.mf, last?.isFragment, last?.len, last?.id]).toEqual([2512, false, true, 516, 0x50b3]);
  });

  it('caches address strings and payload per datagram and forgets them on re-pointing', () => {
    const stats = new Stats();
    const ip = new Ipv4Packet();
    dissectIpv4(ip, new Packet(), tcp4Syn, 14, stats);
    const src = ip.src;
    expect(ip.src).toBe(src);
    expect(ip.payload).toBe(ip.payload);
    dissectIpv4(ip, new Packet(), icmp4Unreachable, 14, stats);
    expect([ip.src, ip.payload.length]).toEqual(['10.99.0.2', 51]);
  });

  it('is a view: the payload shares the frame bytes', () => {
    const frame = Buffer.from(udp4);
    const { ip } = v4(frame);
    frame[frame.length - 1] = 0x21;
    expect(ip.payload.at(-1)).toBe(0x21);
  });

  it('detects a wrong header checksum', () => {
    const frame = Buffer.from(tcp4Syn);
    frame[14 + 8] = 63; // TTL changed, checksum not updated
    expect(v4(frame).ip.verifyChecksum()).toBe(false);
  });
});

describe('IPv4 options', () => {
  it('parses record route, NOP and router alert', () => {
    const { ip, ok } = v4(ipv4('07 07 04 0a000001 01 94040000', Buffer.alloc(0)), 0);
    expect(ok).toBe(true);
    expect(ip.hdrLen).toBe(32);
    expect(ip.verifyChecksum()).toBe(true);
    expect(ip.options).toEqual([
      { type: 7, length: 7, data: hex('040a000001') },
      { type: 1, length: 1, data: Buffer.alloc(0) },
      { type: 0x94, length: 4, data: hex('0000') },
    ]);
    expect(ip.payloadOffset).toBe(32);
  });

  it('stops at EOL and at an option whose length is impossible', () => {
    expect(v4(ipv4('01 00 ffff', Buffer.alloc(0)), 0).ip.options.map((o) => o.type)).toEqual([1, 0]);
    expect(v4(ipv4('01 44 01 00', Buffer.alloc(0)), 0).ip.options.map((o) => o.type)).toEqual([1]); // length 1
    expect(v4(ipv4('01 44 08 00', Buffer.alloc(0)), 0).ip.options.map((o) => o.type)).toEqual([1]); // past the header
    expect(v4(ipv4('01 01 01 44', Buffer.alloc(0)), 0).ip.options.map((o) => o.type)).toEqual([1, 1, 1]); // no length byte
  });
});

describe('IPv4 validation', () => {
  const ip = udp4.subarray(14);

  it('counts ipv4-truncated for every cut inside the header', () => {
    for (let n = 0; n < 20; n++) expect(v4(ip.subarray(0, n), 0)).toMatchObject({ ok: false, anomalies: { 'ipv4-truncated': 1 } });
    const withOptions = ipv4('01010101 01010101', Buffer.alloc(4));
    for (let n = 20; n < 28; n++) {
      expect(v4(withOptions.subarray(0, n), 0)).toMatchObject({ ok: false, anomalies: { 'ipv4-truncated': 1 } });
    }
  });

  it('counts ipv4-invalid-header for a wrong version, IHL below 5, or a total length below the header', () => {
    const bad = (at: number, value: number): Buffer => {
      const b = Buffer.from(ip);
      b[at] = value;
      return b;
    };
    expect(v4(bad(0, 0x65), 0).anomalies).toEqual({ 'ipv4-invalid-header': 1 });
    expect(v4(bad(0, 0x44), 0).anomalies).toEqual({ 'ipv4-invalid-header': 1 });
    const shortTotal = Buffer.from(ip);
    shortTotal.writeUInt16BE(19, 2);
    expect(v4(shortTotal, 0)).toMatchObject({ ok: false, anomalies: { 'ipv4-invalid-header': 1 } });
  });

  it('ignores Ethernet padding after the total length', () => {
    const padded = Buffer.concat([udp4, Buffer.alloc(20, 0xee)]);
    const c = new Chain();
    expect(c.run(padded)).toBe('udp');
    expect([c.ipv4.end, c.ipv4.payload.length, c.udp.payload.toString(), c.udp.verifyChecksum()]).toEqual([57, 23, 'udp checksummed', true]);
    expect(c.anomalies()).toEqual({});
  });

  it('refuses a total length past the end of a frame the capture did not cut: ipv4-bad-length, not a cut', () => {
    // The same 90 bytes as the cut datagram below, but recorded whole: the length lies.
    const c = new Chain();
    expect(c.run(tcp4Get.subarray(0, 90))).toBe('malformed');
    expect(c.anomalies()).toEqual({ 'ipv4-bad-length': 1 });
  });

  it('accepts a datagram the capture cut, counting snaplen-truncated', () => {
    const cut = tcp4Get.subarray(0, 90);
    const c = new Chain();
    expect(c.run(cut, 1, tcp4Get.length)).toBe('tcp');
    expect(c.anomalies()).toEqual({ 'snaplen-truncated': 1 });
    expect([c.ipv4.len, c.ipv4.end, c.ipv4.truncated, c.ipv4.verifyChecksum()]).toEqual([86, 90, true, true]);
    expect([c.tcp.payload.toString(), c.tcp.verifyChecksum()]).toEqual(['GET / HTTP/1.0\r\nHost: pa', false]);
  });
});

describe('IPv6 fields (tshark-decoded frames)', () => {
  it('reads every fixed header field of a TCP SYN', () => {
    const { ok, ip, anomalies } = v6(tcp6Syn);
    expect([ok, anomalies]).toEqual([true, {}]);
    expect({
      version: ip.version,
      trafficClass: ip.trafficClass,
      flowLabel: ip.flowLabel,
      payloadLength: ip.payloadLength,
      nextHeader: ip.nextHeader,
      hopLimit: ip.hopLimit,
      src: ip.src,
      dst: ip.dst,
      len: ip.len,
      proto: ip.proto,
      payloadOffset: ip.payloadOffset,
      extensionHeaders: ip.extensionHeaders,
      isFragment: ip.isFragment,
      fragOffset: ip.fragOffset,
      mf: ip.mf,
      fragId: ip.fragId,
    }).toEqual({
      version: 6,
      trafficClass: 0,
      flowLabel: 0x033f89,
      payloadLength: 40,
      nextHeader: 6,
      hopLimit: 64,
      src: 'fd99::1',
      dst: 'fd99::2',
      len: 80,
      proto: 6,
      payloadOffset: 54,
      extensionHeaders: [],
      isFragment: false,
      fragOffset: 0,
      mf: false,
      fragId: undefined,
    });
    expect(ip.payload.length).toBe(40);
    expect(ip.srcBytes).toEqual(hex('fd990000000000000000000000000001'));
    expect(JSON.parse(JSON.stringify(ip))).toMatchObject({ version: 6, src: 'fd99::1', flowLabel: 0x033f89 });
  });

  it('reads traffic class and flow label apart', () => {
    const b = Buffer.from(udp6);
    b.writeUInt32BE(0x6abcdef1, 14); // version 6, traffic class 0xab, flow label 0xcdef1
    const { ip } = v6(b);
    expect([ip.trafficClass, ip.flowLabel]).toEqual([0xab, 0xcdef1]);
  });

  it('walks a hop-by-hop header to ICMPv6 (MLDv2 report)', () => {
    const { ip } = v6(mldHopByHop);
    expect([ip.nextHeader, ip.proto, ip.hopLimit, ip.src, ip.dst, ip.payloadOffset]).toEqual([0, 58, 1, '::', 'ff02::16', 62]);
    expect(ip.extensionHeaders).toEqual([{ type: 0, offset: 40, length: 8, data: hex('3a00050200000100') }]);
  });

  it('reads fragment headers: offset in bytes, M, identification', () => {
    const [first, middle, last] = udp6Fragments.map((f) => v6(f).ip);
    expect([first?.isFragment, first?.fragOffset, first?.mf, first?.fragId, first?.proto, first?.payloadOffset]).toEqual([
      true, 0, true, 0x84507e1b, 17, 62,
    ]);
    expect([middle?.fragOffset, middle?.mf, middle?.proto]).toEqual([1232, true, 17]);
    expect([last?.fragOffset, last?.mf, last?.payloadLength, last?.fragHeaderOffset, last?.fragNextHeaderFieldOffset]).toEqual([
      2464, false, 552, 54, 20,
    ]);
    expect(first?.extensionHeaders).toEqual([{ type: 44, offset: 40, length: 8, data: hex('1100000184507e1b') }]);
  });
});

describe('IPv6 extension header chains', () => {
  it('walks hop-by-hop, destination options, routing, AH to TCP', () => {
    const rest = Buffer.concat([
      hex('3c00 010400000000'), // hop-by-hop → 60, PadN
      hex('2b01 0000000000000000000000000000'), // destination options (16 bytes) → 43
      hex('3302 0400 00000000 fd000000000000000000000000000009'), // routing type 4, 0 segments left → 51
      hex('0602 0000 00000001 00000001'), // AH, length (2+2)*4 = 16 → TCP
      hex('0000'),
      hex('00000050 00000001 00000000 50020000 00000000'),
    ]);
    const { ok, ip } = v6(ipv6(0, rest), 0);
    expect(ok).toBe(true);
    expect(ip.proto).toBe(6);
    expect(ip.payloadOffset).toBe(40 + 8 + 16 + 24 + 16);
    expect(ip.extensionHeaders.map((h) => [h.type, h.offset, h.length])).toEqual([
      [0, 40, 8],
      [60, 48, 16],
      [43, 64, 24],
      [51, 88, 16],
    ]);
  });

  it('stops at No Next Header and at ESP', () => {
    expect(v6(ipv6(59, hex('deadbeef')), 0).ip).toMatchObject({ proto: 59, payloadOffset: 40 });
    const esp = v6(ipv6(60, hex('3200000000000000 00001234 00000001 aabbccdd')), 0).ip;
    expect([esp.proto, esp.payloadOffset, esp.extensionHeaders.length]).toEqual([50, 48, 1]);
  });

  it('takes the protocol of a non-first fragment from its fragment header and does not walk its data', () => {
    // The data after the header looks like a hop-by-hop header running past the end: it is not read.
    const { ok, ip } = v6(ipv6(44, hex('0000 0011 00000007 00ff000000000000')), 0);
    expect([ok, ip.proto, ip.payloadOffset, ip.fragOffset, ip.mf, ip.isFragment]).toEqual([true, 0, 48, 16, true, true]);
  });

  it('processes an atomic fragment (offset 0, M 0) as a whole packet (RFC 6946)', () => {
    const c = new Chain();
    const udp = udp6.subarray(54);
    const frame = Buffer.concat([udp6.subarray(0, 14), ipv6(44, Buffer.concat([hex('1100 0000 00000042'), udp]))]);
    expect(c.run(frame)).toBe('udp');
    expect([c.ipv6.isFragment, c.ipv6.fragId, c.ipv6.proto, c.udp.payload.toString()]).toEqual([false, 0x42, 17, 'udp6 checksummed']);
  });

  it('counts ipv6-invalid-extension for a chain that cannot be right', () => {
    const bad = (rest: string, nh = 0): Record<string, number> => v6(ipv6(nh, hex(rest)), 0).anomalies;
    expect(bad('06')).toEqual({ 'ipv6-invalid-extension': 1 }); // no length byte
    expect(bad('0601 00000000 0000')).toEqual({ 'ipv6-invalid-extension': 1 }); // 16 bytes announced, 8 there
    expect(bad('00000000 00000000 06000000 00000000')).toEqual({ 'ipv6-invalid-extension': 1 }); // hop-by-hop twice
    expect(bad('2c000000 00000001 06000000 00000001', 44)).toEqual({ 'ipv6-invalid-extension': 1 }); // two fragment headers
    expect(bad('0000 0000', 44)).toEqual({ 'ipv6-invalid-extension': 1 }); // fragment header cut
    expect(bad('0601 0000', 51)).toEqual({ 'ipv6-invalid-extension': 1 }); // AH cut
  });
});

describe('IPv6 validation', () => {
  it('counts ipv6-truncated under 40 bytes and ipv6-invalid-header for another version', () => {
    const ip = udp6.subarray(14);
    for (let n = 0; n < 40; n++) expect(v6(ip.subarray(0, n), 0).anomalies).toEqual({ 'ipv6-truncated': 1 });
    const b = Buffer.from(ip);
    b[0] = 0x45;
    expect(v6(b, 0)).toMatchObject({ ok: false, anomalies: { 'ipv6-invalid-header': 1 } });
  });

  it('ignores bytes after the payload length and accepts a cut packet with snaplen-truncated', () => {
    const padded = v6(Buffer.concat([udp6, hex('0000')]));
    expect([padded.ok, padded.ip.end, padded.anomalies]).toEqual([true, udp6.length, {}]);
    // Recorded whole, the same bytes are a payload length that lies.
    expect(v6(udp6.subarray(0, udp6.length - 3)).anomalies).toEqual({ 'ipv6-bad-length': 1 });
    expect(v6(udp6.subarray(0, udp6.length - 3)).ok).toBe(false);
    const cut = v6(udp6.subarray(0, udp6.length - 3), 14, true);
    expect([cut.ok, cut.ip.end, cut.ip.truncated, cut.anomalies]).toEqual([true, udp6.length - 3, true, { 'snaplen-truncated': 1 }]);
  });
});

describe('IPv6 address text (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // the first of equal runs
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // the longest run
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['20010db8aaaabbbbccccddddeeee0001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'], // IPv4-mapped
    ['000000000000000000000000c0000201', '::192.0.2.1'], // IPv4-compatible (deprecated), as inet_ntop
    ['00000000000000000000000000000201', '::201'], // not IPv4-compatible: ::1 and kin
    ['0000000000000000ffff0000c0000201', '::ffff:0:c000:201'], // IPv4-translated: inet_ntop keeps hex
    ['ABCD00000000ef0000000000000000FF', 'abcd:0:0:ef00::ff'],
  ];
  for (const [bytes, text] of cases) {
    it(`${bytes} → ${text}`, () => {
      expect(ipv6Text(hex(bytes), 0)).toBe(text);
    });
  }
});
