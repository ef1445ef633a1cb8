import { describe, expect, it } from 'vitest';
import { writeIpv4HeaderChecksum } from '../../dissectors/checksum.ts';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, tcpFlagsText } from '../../dissectors/tcp-flags.ts';
import {
  Chain,
  hex,
  icmp4Echo,
  icmp4Unreachable,
  icmp6Echo,
  icmp6Unreachable,
  mldHopByHop,
  sll2Tcp4,
  sll2Tcp6,
  tcp4Get,
  tcp4Rst,
  tcp4Syn,
  tcp4SynOffloaded,
  tcp6Get,
  tcp6Syn,
  udp4,
  udp4Offloaded,
  udp6,
  udp6Offloaded,
} from './frames.ts';

/** RFC 1071, word by word, independent of dissectors/checksum.ts. */
function naiveChecksum(...parts: Buffer[]): number {
  const b = Buffer.concat(parts.map((p) => (p.length % 2 ? Buffer.concat([p, Buffer.alloc(1)]) : p)));
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet + IPv4 10.0.0.1 → 10.0.0.2 carrying `l4` (protocol `proto`), right IP checksum. */
function eth4(proto: number, l4: Buffer): Buffer {
  const ip = hex('45000000 00010000 40000000 0a000001 0a000002');
  ip.writeUInt16BE(20 + l4.length, 2);
  ip[9] = proto;
  writeIpv4HeaderChecksum(ip, 0);
  return Buffer.concat([hex('020000000002 020000000001 0800'), ip, l4]);
}

/** `wireLength`: the frame's length on the wire, when the capture cut it. */
function run(frame: Buffer, linkType = 1, wireLength = frame.length): { c: Chain; layer: string } {
  const c = new Chain();
  const layer = c.run(frame, linkType, wireLength);
  return { c, layer };
}

describe('TCP fields (tshark-decoded frames)', () => {
  it('reads every field of an IPv4 SYN with options', () => {
    const { c, layer } = run(tcp4Syn);
    expect(layer).toBe('tcp');
    const t = c.tcp;
    expect({
      srcport: t.srcport,
      dstport: t.dstport,
      seq: t.seq,
      ack: t.ack,
      hdrLen: t.hdrLen,
      res: t.res,
      flagsByte: t.flagsByte,
      window: t.window,
      checksum: t.checksum,
      urgentPointer: t.urgentPointer,
      mss: t.mss,
      windowScale: t.windowScale,
      sackPermitted: t.sackPermitted,
      timestamps: t.timestamps,
      payloadOffset: t.payloadOffset,
      payloadLength: t.payloadLength,
    }).toEqual({
      srcport: 47222,
      dstport: 80,
      seq: 138521696,
      ack: 0,
      hdrLen: 40,
      res: 0,
      flagsByte: 0x02,
      window: 64480,
      checksum: 0x4d54,
      urgentPointer: 0,
      mss: 1240,
      windowScale: 10,
      sackPermitted: true,
      timestamps: { value: 1126316625, echo: 0 },
      payloadOffset: 74,
      payloadLength: 0,
    });
    expect(t.flags.toJSON()).toEqual({ fin: false, syn: true, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false });
    expect(t.options).toEqual([
      { kind: 2, length: 4, data: hex('04d8') },
      { kind: 4, length: 2, data: Buffer.alloc(0) },
      { kind: 8, length: 10, data: hex('43223a5100000000') },
      { kind: 1, length: 1, data: Buffer.alloc(0) },
      { kind: 3, length: 3, data: hex('0a') },
    ]);
    expect(t.verifyChecksum()).toBe(true);
    expect(t.ip).toBe(c.ipv4);
    expect(t.payload.length).toBe(0);
  });

  it('reads a data segment: PSH ACK, acknowledgment, payload', () => {
    const { c } = run(tcp4Get);
    const t = c.tcp;
    expect([t.seq, t.ack, t.hdrLen, t.flags.psh, t.flags.ack, t.flags.syn, t.window, t.checksum]).toEqual([
      138521697, 3308643636, 32, true, true, false, 63, 0xb0ab,
    ]);
    expect([t.mss, t.windowScale, t.sackPermitted, t.timestamps]).toEqual([undefined, undefined, false, { value: 1126316627, echo: 1213873405 }]);
    expect(t.options.map((o) => o.kind)).toEqual([1, 1, 8]);
    expect(t.payload.toString()).toBe('GET / HTTP/1.0\r\nHost: palisade\r\n\r\n');
    expect([t.payloadLength, t.verifyChecksum()]).toEqual([34, true]);
  });

  it('reads IPv6 segments and checks them with the IPv6 pseudo header', () => {
    const syn = run(tcp6Syn).c.tcp;
    expect([syn.srcport, syn.dstport, syn.seq, syn.window, syn.checksum, syn.mss, syn.windowScale, syn.verifyChecksum()]).toEqual([
      33664, 80, 1823716562, 64660, 0x3f86, 1220, 10, true,
    ]);
    const get = run(tcp6Get).c.tcp;
    expect([get.seq, get.ack, get.flagsByte, get.window, get.checksum, get.timestamps, get.verifyChecksum()]).toEqual([
      1823716563, 1905521338, 0x18, 64, 0x6116, { value: 561793737, echo: 4282977938 }, true,
    ]);
    expect(get.payload.toString()).toBe('GET / HTTP/1.0\r\nHost: palisade\r\n\r\n');
  });

  it('reads a kernel RST', () => {
    const t = run(tcp4Rst).c.tcp;
    expect([t.srcport, t.dstport, t.seq, t.ack, t.hdrLen, t.flagsByte, t.flags.rst, t.window, t.checksum, t.verifyChecksum()]).toEqual([
      9, 57108, 0, 4084456204, 20, 0x14, true, 0, 0xed69, true,
    ]);
    expect(t.options).toEqual([]);
  });

  it('reports the partial checksums of offloaded captures as wrong', () => {
    expect(run(tcp4SynOffloaded).c.tcp.verifyChecksum()).toBe(false);
    expect(run(sll2Tcp4, 276).c.tcp.verifyChecksum()).toBe(false);
    expect(run(sll2Tcp6, 276).c.tcp.verifyChecksum()).toBe(false);
  });

  it('detects a corrupted byte in the payload, the header or the pseudo header', () => {
    for (const at of [tcp4Get.length - 1, 14 + 20 + 4, 14 + 12]) {
      const b = Buffer.from(tcp4Get);
      b[at] = (b[at] ?? 0) ^ 0x40;
      const { c, layer } = run(b);
      expect(layer).toBe('tcp');
      expect(c.tcp.verifyChecksum()).toBe(false);
    }
    const b6 = Buffer.from(tcp6Get);
    b6[14 + 8] = 0xfe; // source address
    expect(run(b6).c.tcp.verifyChecksum()).toBe(false);
  });
});

describe('TCP flags', () => {
  it('reads each bit', () => {
    const bits = [TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR];
    const names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;
    const frame = Buffer.from(tcp4Rst);
    const c = new Chain();
    bits.forEach((bit, i) => {
      frame[14 + 20 + 13] = bit;
      c.run(frame);
      expect(c.tcp.flagsByte).toBe(bit);
      for (const [j, name] of names.entries()) expect(c.tcp.flags[name]).toBe(i === j);
    });
  });

  it('keeps one flags object per view, re-pointed with it', () => {
    const c = new Chain();
    c.run(tcp4Syn);
    const flags = c.tcp.flags;
    c.run(tcp4Rst);
    expect(c.tcp.flags).toBe(flags);
    expect([flags.syn, flags.rst, String(flags)]).toEqual([false, true, 'R.']);
  });

  it('prints tcpdump notation', () => {
    expect([tcpFlagsText(0x02), tcpFlagsText(0x12), tcpFlagsText(0x18), tcpFlagsText(0x11), tcpFlagsText(0), tcpFlagsText(0xff)]).toEqual([
      'S', 'S.', 'P.', 'F.', 'none', 'FSRPUWE.',
    ]);
  });

  it('reads the reserved bits', () => {
    const b = Buffer.from(tcp4Rst);
    b[14 + 20 + 12] = 0x5f;
    expect(run(b).c.tcp.res).toBe(0x0f);
  });
});

describe('TCP options', () => {
  /** A TCP header with `options` (hex, padded by the caller to 4 bytes) and no checksum. */
  const seg = (options: string): Buffer => {
    const opts = hex(options);
    const h = hex('04d2 0050 00000001 00000000 0002 ffff 0000 0000');
    h[12] = ((20 + opts.length) / 4) << 4;
    return eth4(6, Buffer.concat([h, opts]));
  };

  it('stops at a zero or too large length, keeping what came before', () => {
    const t = run(seg('01 020404b4 0800 000000')).c.tcp;
    expect(t.options.map((o) => o.kind)).toEqual([1, 2]);
    expect(t.mss).toBe(1204);
    expect(run(seg('01 01 0820 00')).c.tcp.options.map((o) => o.kind)).toEqual([1, 1]);
    expect(run(seg('010101 02')).c.tcp.options.map((o) => o.kind)).toEqual([1, 1, 1]); // no length byte
  });

  it('ignores options of the wrong length and stops at EOL', () => {
    const t = run(seg('020504b400 0302 040300 00 00')).c.tcp;
    expect([t.mss, t.windowScale, t.sackPermitted]).toEqual([undefined, undefined, false]);
    const eol = run(seg('00 020404b4 000000')).c.tcp;
    expect([eol.options, eol.mss]).toEqual([[{ kind: 0, length: 1, data: Buffer.alloc(0) }], undefined]);
  });

  it('reads SACK blocks as raw options', () => {
    const t = run(seg('0101 050a 00000064 000000c8')).c.tcp;
    expect(t.options[2]).toEqual({ kind: 5, length: 10, data: hex('00000064000000c8') });
  });
});

describe('TCP validation', () => {
  it('counts tcp-truncated for fewer than 20 bytes, whatever the cut', () => {
    const tcp = tcp4Rst.subarray(34);
    for (let n = 0; n < 20; n++) {
      const { c, layer } = run(eth4(6, tcp.subarray(0, n)));
      expect(layer).toBe('malformed');
      expect(c.anomalies()).toEqual({ 'tcp-truncated': 1 });
    }
  });

  it('counts tcp-invalid-header for a data offset below 5 or past the segment', () => {
    const b = Buffer.from(tcp4Rst);
    b[14 + 20 + 12] = 0x40;
    expect(run(b).c.anomalies()).toEqual({ 'tcp-invalid-header': 1 });
    b[14 + 20 + 12] = 0x60;
    expect(run(b).c.anomalies()).toEqual({ 'tcp-invalid-header': 1 });
  });

  it('delivers a segment whose options the capture cut, with the options captured and no data', () => {
    const { c, layer } = run(tcp4Syn.subarray(0, 60), 1, tcp4Syn.length);
    expect(layer).toBe('tcp');
    expect(c.anomalies()).toEqual({ 'snaplen-truncated': 1 });
    const whole = run(tcp4Syn).c.tcp;
    expect([c.tcp.srcport, c.tcp.dstport, c.tcp.seq, c.tcp.hdrLen]).toEqual([whole.srcport, whole.dstport, whole.seq, whole.hdrLen]);
    // 60 - 14 - 20 - 20: six bytes of options were captured, the MSS option (4 bytes) among them.
    expect(c.tcp.mss).toBe(whole.mss);
    expect([c.tcp.payloadLength, c.tcp.payload.length, c.tcp.payloadOffset]).toEqual([0, 0, 60]);
    expect(c.tcp.verifyChecksum()).toBe(false);
  });

  it('counts tcp-truncated when the capture cut the fixed header', () => {
    const { c, layer } = run(tcp4Syn.subarray(0, 50), 1, tcp4Syn.length);
    expect(layer).toBe('malformed');
    expect(c.anomalies()).toEqual({ 'snaplen-truncated': 1, 'tcp-truncated': 1 });
  });
});

describe('UDP', () => {
  it('reads every field (tshark-decoded frames)', () => {
    const u = run(udp4).c.udp;
    expect([u.srcport, u.dstport, u.length, u.checksum, u.payload.toString(), u.payloadOffset, u.verifyChecksum()]).toEqual([
      34616, 7, 23, 0x0321, 'udp checksummed', 42, true,
    ]);
    const u6 = run(udp6).c.udp;
    expect([u6.srcport, u6.dstport, u6.length, u6.checksum, u6.payload.toString(), u6.verifyChecksum()]).toEqual([
      59930, 7, 24, 0x0250, 'udp6 checksummed', true,
    ]);
    expect(u6.ip.version).toBe(6);
    expect(JSON.parse(JSON.stringify(u6))).toEqual({ srcport: 59930, dstport: 7, length: 24, checksum: 0x0250 });
  });

  it('reports wrong checksums, offloaded or corrupted', () => {
    expect(run(udp4Offloaded).c.udp.verifyChecksum()).toBe(false);
    expect(run(udp6Offloaded).c.udp.verifyChecksum()).toBe(false);
    const b = Buffer.from(udp4);
    b[b.length - 1] = 0;
    expect(run(b).c.udp.verifyChecksum()).toBe(false);
  });

  it('treats a zero checksum as not computed over IPv4 and as wrong over IPv6', () => {
    const b4 = Buffer.from(udp4);
    b4.writeUInt16BE(0, 34 + 6);
    expect(run(b4).c.udp.verifyChecksum()).toBe(true);
    const b6 = Buffer.from(udp6);
    b6.writeUInt16BE(0, 54 + 6);
    expect(run(b6).c.udp.verifyChecksum()).toBe(false);
  });

  it('verifies a checksum that computed to zero and was sent as 0xffff', () => {
    // Choose the data so the checksum computes to 0: sum everything else, then make up the rest.
    const u = hex('1000 2000 000a 0000 0000');
    const ip = eth4(17, u);
    const l4 = ip.subarray(34);
    const pseudo = Buffer.concat([ip.subarray(26, 34), hex('0011 000a')]);
    const c0 = naiveChecksum(pseudo, l4); // with data 0000: complement of the rest
    l4.writeUInt16BE(c0, 8); // now the sum is 0xffff: checksum computes to 0
    expect(naiveChecksum(pseudo, l4)).toBe(0);
    l4.writeUInt16BE(0xffff, 6);
    expect(run(ip).c.udp.verifyChecksum()).toBe(true);
  });

  it('counts udp-truncated under 8 bytes and udp-invalid-length for impossible lengths', () => {
    const u = udp4.subarray(34);
    for (let n = 0; n < 8; n++) expect(run(eth4(17, u.subarray(0, n))).c.anomalies()).toEqual({ 'udp-truncated': 1 });
    const short = Buffer.from(u);
    short.writeUInt16BE(7, 4);
    expect(run(eth4(17, short)).c.anomalies()).toEqual({ 'udp-invalid-length': 1 });
    const long = Buffer.from(u);
    long.writeUInt16BE(24, 4);
    expect(run(eth4(17, long)).c.anomalies()).toEqual({ 'udp-invalid-length': 1 });
  });

  it('ends the data at the UDP length when the IP payload is longer', () => {
    const frame = Buffer.concat([udp4, hex('0102030405')]);
    frame.writeUInt16BE(frame.length - 14, 16);
    writeIpv4HeaderChecksum(frame, 14);
    const { c, layer } = run(frame);
    expect([layer, c.udp.payload.toString(), c.udp.verifyChecksum(), c.anomalies()]).toEqual(['udp', 'udp checksummed', true, {}]);
  });

  it('accepts a datagram the capture cut; its checksum cannot be verified', () => {
    const { c, layer } = run(udp4.subarray(0, udp4.length - 4), 1, udp4.length);
    expect([layer, c.udp.length, c.udp.payload.toString(), c.udp.verifyChecksum()]).toEqual(['udp', 23, 'udp checksu', false]);
  });

  it('uses the final destination of a routing header in the IPv6 pseudo header (RFC 8200 §8.1)', () => {
    const final = hex('fd000000000000000000000000000099');
    const src = hex('fd000000000000000000000000000001');
    const via = hex('fd000000000000000000000000000002');
    const data = Buffer.from('routed');
    const udp = Buffer.concat([hex('3039 0035 000e 0000'), data]);
    const build = (segmentsLeft: number, pseudoDst: Buffer): Buffer => {
      const u = Buffer.from(udp);
      u.writeUInt16BE(naiveChecksum(src, pseudoDst, hex('0000000e 00000011'), u), 6);
      const rh = Buffer.concat([hex('1102 00' + segmentsLeft.toString(16).padStart(2, '0') + '00000000'), final]);
      const fixed = Buffer.concat([hex('60000000 0000 2b 40'), src, via]);
      fixed.writeUInt16BE(rh.length + u.length, 4);
      return Buffer.concat([hex('020000000002 020000000001 86dd'), fixed, rh, u]);
    };
    const inTransit = run(build(1, final));
    expect([inTransit.layer, inTransit.c.udp.verifyChecksum()]).toEqual(['udp', true]);
    const arrived = run(build(0, via));
    expect(arrived.c.udp.verifyChecksum()).toBe(true);
    expect(run(build(1, via)).c.udp.verifyChecksum()).toBe(false);
  });
});

describe('ICMP and ICMPv6', () => {
  it('reads echo requests (tshark-decoded frames)', () => {
    const i4 = run(icmp4Echo).c.icmp;
    expect([i4.version, i4.type, i4.code, i4.checksum, i4.verifyChecksum()]).toEqual([4, 8, 0, 0xbcf8, true]);
    expect(i4.payload).toEqual(Buffer.concat([hex('12340001'), Buffer.from('palisade-ping-v4')]));
    const i6 = run(icmp6Echo).c.icmp;
    expect([i6.version, i6.type, i6.code, i6.checksum, i6.verifyChecksum()]).toEqual([6, 128, 0, 0x187a, true]);
    expect(i6.payload).toEqual(Buffer.concat([hex('43210007'), Buffer.from('palisade-ping-v6')]));
    expect(JSON.parse(JSON.stringify(i6))).toEqual({ version: 6, type: 128, code: 0, checksum: 0x187a });
  });

  it('reads errors quoting the offending packet', () => {
    const i4 = run(icmp4Unreachable).c.icmp;
    expect([i4.type, i4.code, i4.checksum, i4.verifyChecksum(), i4.payload.length]).toEqual([3, 3, 0x11ee, true, 47]);
    const i6 = run(icmp6Unreachable).c.icmp;
    expect([i6.type, i6.code, i6.checksum, i6.verifyChecksum(), i6.payload.length]).toEqual([1, 4, 0xa549, true, 68]);
  });

  it('checks ICMPv6 behind an extension header with the pseudo header', () => {
    const m = run(mldHopByHop).c.icmp;
    expect([m.type, m.checksum, m.verifyChecksum()]).toEqual([143, 0x3f9a, true]);
  });

  it('detects wrong checksums; ICMPv6 covers the addresses, ICMP does not', () => {
    for (const frame of [icmp4Echo, icmp6Echo]) {
      const b = Buffer.from(frame);
      b[b.length - 1] = 0;
      expect(run(b).c.icmp.verifyChecksum()).toBe(false);
    }
    const moved6 = Buffer.from(icmp6Echo);
    moved6[14 + 39] = 9;
    expect(run(moved6).c.icmp.verifyChecksum()).toBe(false);
  });

  it('counts icmp-truncated under 4 bytes and cannot verify a cut message', () => {
    for (let n = 0; n < 4; n++) expect(run(eth4(1, icmp4Echo.subarray(34, 34 + n))).c.anomalies()).toEqual({ 'icmp-truncated': 1 });
    const cut = run(icmp4Echo.subarray(0, icmp4Echo.length - 1), 1, icmp4Echo.length);
    expect([cut.layer, cut.c.icmp.verifyChecksum()]).toEqual(['icmp', false]);
  });
});

describe('every view', () => {
  it('gives the frame timestamp and drops the frame it came in', () => {
    for (const [frame, layer] of [
      [tcp4Syn, 'tcp'],
      [udp6, 'udp'],
      [icmp6Echo, 'icmp'],
    ] as const) {
      const c = new Chain();
      expect(c.run(frame)).toBe(layer);
      const view = c[layer];
      const ip = view.ip;
      expect([view.timestamp, ip.timestamp.secs, ip.timestamp.nsecs]).toEqual([c.packet.timestamp, 1, 500]);
      expect(view.timestamp.seconds).toBeCloseTo(1.0000005, 9);
      expect(c.packet.dropped).toBe(false);
      view.drop();
      expect(c.packet.dropped).toBe(true);
      c.packet.dropped = false;
      ip.drop();
      expect(c.packet.dropped).toBe(true);
    }
  });
});
