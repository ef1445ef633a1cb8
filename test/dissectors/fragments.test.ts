import { describe, expect, it } from 'vitest';
import { Packet } from '../../dissectors/packet.ts';
import { Stats } from '../../core/stats.ts';
import { writeIpv4HeaderChecksum } from '../../dissectors/checksum.ts';
import { FragmentReassembler, type FragmentLimits, type FragmentResult } from '../../dissectors/fragments.ts';
import { Ipv4Packet, dissectIpv4 } from '../../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../../dissectors/ipv6.ts';
import { Chain, fragmentedUdpData, hex, udp4Fragments, udp6Fragments } from './frames.ts';

const limits: FragmentLimits = { timeout: 30, maxDatagrams: 100, memcap: 1 << 20 };

/** Feeds frames (raw IP or Ethernet) to a reassembler through one re-pointed view per version, as the engine does. */
class Feeder {
  readonly stats = new Stats();
  readonly re: FragmentReassembler<number>;
  readonly #v4 = new Ipv4Packet();
  readonly #v6 = new Ipv6Packet();
  readonly #packet = new Packet();

  constructor(l: FragmentLimits = limits) {
    this.re = new FragmentReassembler<number>(l, this.stats);
  }

  /** Adds `bytes` (IP at `off`) as frame `id`; the bytes are scribbled over afterwards, as a reused buffer would be. */
  /** `cut`: the capture cut the frame (its IP length runs past its end). */
  add(bytes: Buffer, id: number, now = 0, off = 0, cut = false): FragmentResult<number> {
    const copy = Buffer.from(bytes);
    this.#packet.cut = cut;
    const view = (copy[off] ?? 0) >> 4 === 4 ? this.#v4 : this.#v6;
    const ok = view === this.#v4 ? dissectIpv4(this.#v4, this.#packet, copy, off, this.stats) : dissectIpv6(this.#v6, this.#packet, copy, off, this.stats);
    expect(ok).toBe(true);
    expect(view.isFragment).toBe(true);
    const result = this.re.add(view, id, now);
    copy.fill(0xaa);
    return result;
  }

  anomalies(): Record<string, number> {
    return Object.fromEntries(this.stats.anomalies);
  }
}

/** Every order of [0, n). */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** A raw IPv4 fragment 192.0.2.1 → 192.0.2.2, protocol 17 unless told. */
function v4(id: number, offset: number, mf: boolean, data: Buffer, opts: { proto?: number; options?: string; df?: boolean; src?: string } = {}): Buffer {
  const options = hex(opts.options ?? '');
  const h = Buffer.concat([hex('45000000 00000000 4000 0000 c0000201 c0000202'), options]);
  h[0] = 0x40 | (h.length / 4);
  h.writeUInt16BE(h.length + data.length, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE((opts.df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | (offset / 8), 6);
  h[9] = opts.proto ?? 17;
  if (opts.src !== undefined) hex(opts.src).copy(h, 12);
  writeIpv4HeaderChecksum(h, 0);
  return Buffer.concat([h, data]);
}

/** A raw IPv6 fragment 2001:db8::1 → 2001:db8::2, after the unfragmentable headers `unfrag` (hex; `first` names the first of them). */
function v6(id: number, offset: number, mf: boolean, data: Buffer, unfrag = '', first = 44, nh = 17): Buffer {
  const ext = hex(unfrag);
  const frag = hex('00000000 00000000');
  frag[0] = nh;
  frag.writeUInt16BE(offset | (mf ? 1 : 0), 2);
  frag.writeUInt32BE(id, 4);
  const fixed = hex('60000000 0000 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002');
  fixed.writeUInt16BE(ext.length + 8 + data.length, 4);
  fixed[6] = ext.length === 0 ? 44 : first;
  return Buffer.concat([fixed, ext, frag, data]);
}

const data = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) & 255));

function expectComplete(r: FragmentResult<number>): { datagram: Buffer; frames: number[] } {
  if (r.status !== 'complete') throw new Error(`expected complete, got ${JSON.stringify(r)}`);
  return r;
}

describe('IPv4 reassembly of a real fragmented UDP datagram', () => {
  for (const order of permutations(3)) {
    it(`arrival order ${order.join(',')}`, () => {
      const f = new Feeder();
      const results = order.map((i) => f.add(udp4Fragments[i] as Buffer, i + 1, 1, 14));
      expect(results.slice(0, 2)).toEqual([{ status: 'pending' }, { status: 'pending' }]);
      const { datagram, frames } = expectComplete(results[2] as FragmentResult<number>);
      expect(frames).toEqual(order.map((i) => i + 1));
      expect([f.re.pending, f.re.memory, f.anomalies()]).toEqual([0, 0, {}]);

      const c = new Chain();
      expect(c.run(datagram, 101)).toBe('udp');
      expect([c.ipv4.len, c.ipv4.id, c.ipv4.isFragment, c.ipv4.flags.mf, c.ipv4.flags.df, c.ipv4.fragOffset, c.ipv4.verifyChecksum()]).toEqual([
        3028, 0x50b3, false, false, false, 0, true,
      ]);
      expect([c.ipv4.src, c.ipv4.dst, c.ipv4.ttl, c.ipv4.proto]).toEqual(['10.99.0.1', '10.99.0.2', 64, 17]);
      // tshark on the reassembled datagram: 34051 → 7, length 3008, checksum 0x748f [correct].
      expect([c.udp.srcport, c.udp.dstport, c.udp.length, c.udp.checksum, c.udp.verifyChecksum()]).toEqual([34051, 7, 3008, 0x748f, true]);
      expect(c.udp.payload.equals(fragmentedUdpData)).toBe(true);
    });
  }
});

describe('IPv6 reassembly of a real fragmented UDP datagram', () => {
  for (const order of permutations(3)) {
    it(`arrival order ${order.join(',')}`, () => {
      const f = new Feeder();
      const results = order.map((i) => f.add(udp6Fragments[i] as Buffer, i + 1, 1, 14));
      const { datagram, frames } = expectComplete(results[2] as FragmentResult<number>);
      expect(frames).toEqual(order.map((i) => i + 1));
      expect([f.re.pending, f.re.memory, f.anomalies()]).toEqual([0, 0, {}]);

      const c = new Chain();
      expect(c.run(datagram, 101)).toBe('udp');
      expect([c.ipv6.payloadLength, c.ipv6.nextHeader, c.ipv6.isFragment, c.ipv6.fragId, c.ipv6.extensionHeaders]).toEqual([3008, 17, false, undefined, []]);
      expect([c.ipv6.src, c.ipv6.dst, c.ipv6.flowLabel, c.ipv6.hopLimit]).toEqual(['fd99::1', 'fd99::2', 0x41a18, 64]);
      // tshark on the reassembled datagram: 60095 → 7, length 3008, checksum 0x2865 [correct].
      expect([c.udp.srcport, c.udp.dstport, c.udp.length, c.udp.checksum, c.udp.verifyChecksum()]).toEqual([60095, 7, 3008, 0x2865, true]);
      expect(c.udp.payload.equals(fragmentedUdpData)).toBe(true);
    });
  }
});

describe('reassembly details', () => {
  it('keeps the first fragment header with its options, and RB/DF, clearing MF and the offset', () => {
    const payload = data(40);
    const f = new Feeder();
    expect(f.add(v4(7, 16, false, payload.subarray(16), { df: true }), 1).status).toBe('pending');
    const { datagram } = expectComplete(f.add(v4(7, 0, true, payload.subarray(0, 16), { options: '94040000', df: true }), 2));
    const ip = new Ipv4Packet();
    expect(dissectIpv4(ip, new Packet(), datagram, 0, f.stats)).toBe(true);
    expect([ip.hdrLen, ip.len, ip.flags.df, ip.flags.mf, ip.fragOffset, ip.verifyChecksum(), ip.options[0]?.type]).toEqual([24, 64, true, false, 0, true, 0x94]);
    expect(ip.payload.equals(payload)).toBe(true);
  });

  it('keeps IPv6 unfragmentable headers and fixes the next header that named the fragment header', () => {
    const payload = data(48);
    const hbh = '3c00 0100000000 00'; // hop-by-hop (8 bytes) → 60
    const dst = '2c01 0104000000000000000000000000'; // destination options (16 bytes) → 44
    const f = new Feeder();
    f.add(v6(9, 24, false, payload.subarray(24), '2c00 0100000000 00', 0), 1); // a later fragment's own unfragmentable part
    const { datagram } = expectComplete(f.add(v6(9, 0, true, payload.subarray(0, 24), hbh + dst, 0), 2));
    const ip = new Ipv6Packet();
    expect(dissectIpv6(ip, new Packet(), datagram, 0, f.stats)).toBe(true);
    expect(ip.extensionHeaders.map((h) => h.type)).toEqual([0, 60]);
    expect([ip.payloadLength, ip.proto, ip.isFragment, ip.payloadOffset]).toEqual([24 + 48, 17, false, 64]);
    expect(ip.payload.equals(payload)).toBe(true);
  });

  it('tells datagrams apart by source, destination, protocol and identification', () => {
    const f = new Feeder();
    const a = data(16, 3);
    const b = data(16, 5);
    f.add(v4(1, 0, true, a.subarray(0, 8)), 1);
    f.add(v4(1, 0, true, b.subarray(0, 8), { proto: 6 }), 2);
    f.add(v4(1, 0, true, b.subarray(0, 8), { src: 'c0000209' }), 3);
    f.add(v4(2, 0, true, b.subarray(0, 8)), 4);
    expect(f.re.pending).toBe(4);
    const r = expectComplete(f.add(v4(1, 8, false, a.subarray(8)), 5));
    expect(r.frames).toEqual([1, 5]);
    expect(r.datagram.subarray(20).equals(a)).toBe(true);
    expect([f.re.pending, f.anomalies()]).toEqual([3, {}]);
  });

  it('counts memory for buffered data and returns it on completion', () => {
    const f = new Feeder();
    f.add(v4(3, 0, true, data(16)), 1);
    expect(f.re.memory).toBe(16 + 20);
    f.add(v4(3, 32, false, data(8)), 2);
    expect([f.re.memory, f.re.pending]).toEqual([16 + 20 + 8, 1]);
    expectComplete(f.add(v4(3, 16, true, data(16)), 3));
    expect([f.re.memory, f.re.pending]).toEqual([0, 0]);
  });
});

describe('overlaps', () => {
  const payload = data(32, 11);
  const frag = (offset: number, end: number, mf = end < 32, bytes: Buffer = payload): Buffer => v4(5, offset, mf, bytes.subarray(offset, end));

  it('an exact duplicate is an overlap with the same data: the datagram completes intact', () => {
    const f = new Feeder();
    f.add(frag(0, 16), 1);
    expect(f.add(frag(0, 16), 2).status).toBe('pending');
    const r = expectComplete(f.add(frag(16, 32), 3));
    expect(r.frames).toEqual([1, 2, 3]);
    expect(r.datagram.subarray(20).equals(payload)).toBe(true);
    expect(f.anomalies()).toEqual({ 'fragment-overlap': 1 });
  });

  it('a partial overlap with the same data fills only the gap (first-wins)', () => {
    for (const order of permutations(3)) {
      const f = new Feeder();
      const frags = [frag(0, 16), frag(8, 24), frag(24, 32)]; // each one needed
      const results = order.map((i) => f.add(frags[i] as Buffer, i));
      const r = expectComplete(results[2] as FragmentResult<number>);
      expect(r.datagram.subarray(20).equals(payload)).toBe(true);
      expect(f.anomalies()['fragment-overlap']).toBeGreaterThanOrEqual(1);
      expect(f.anomalies()['fragment-overlap-different-data']).toBeUndefined();
      expect(f.re.memory).toBe(0);
    }
  });

  it('a fragment covering several pieces and the gaps between them keeps the old bytes', () => {
    const f = new Feeder();
    f.add(frag(8, 16), 1);
    f.add(frag(24, 32), 2);
    const r = expectComplete(f.add(frag(0, 24, true), 3));
    expect(r.datagram.subarray(20).equals(payload)).toBe(true);
    expect(f.anomalies()).toEqual({ 'fragment-overlap': 1 });
  });

  it('an overlap with other bytes drops the datagram, and its later fragments until the timeout', () => {
    const f = new Feeder();
    const other = Buffer.from(payload);
    other[12] = (other[12] ?? 0) ^ 0xff;
    expect(f.add(frag(0, 16), 1, 0).status).toBe('pending');
    expect(f.add(frag(8, 24, true, other), 2, 1)).toEqual({ status: 'drop', frames: [1, 2], reason: 'fragment-overlap-different-data' });
    expect(f.anomalies()).toEqual({ 'fragment-overlap': 1, 'fragment-overlap-different-data': 1 });
    expect([f.re.pending, f.re.memory]).toEqual([0, 0]);
    expect(f.add(frag(16, 32), 3, 29)).toEqual({ status: 'drop', frames: [3], reason: 'fragment-overlap-different-data' });
    // The tombstone goes at the timeout, silently; the identification can then be used again.
    const expired: number[][] = [];
    f.re.expire(30, (frames) => expired.push(frames));
    expect(expired).toEqual([]);
    expect(f.add(frag(0, 16), 4, 31).status).toBe('pending');
    expect(expectComplete(f.add(frag(16, 32), 5, 31)).frames).toEqual([4, 5]);
    expect(f.anomalies()).toEqual({ 'fragment-overlap': 1, 'fragment-overlap-different-data': 1 });
  });

  it('an IPv6 overlap with other bytes drops the datagram too', () => {
    const f = new Feeder();
    f.add(v6(1, 0, true, data(16)), 1);
    expect(f.add(v6(1, 8, false, data(16, 3)), 2)).toMatchObject({ status: 'drop', frames: [1, 2] });
  });
});

describe('invalid fragments', () => {
  it('a non-final fragment whose length is not a multiple of 8 drops the datagram', () => {
    const f = new Feeder();
    f.add(v4(8, 0, true, data(16)), 1);
    expect(f.add(v4(8, 16, true, data(12)), 2)).toEqual({ status: 'drop', frames: [1, 2], reason: 'fragment-invalid' });
    expect(f.add(v4(8, 32, false, data(8)), 3)).toEqual({ status: 'drop', frames: [3], reason: 'fragment-invalid' });
    expect(f.anomalies()).toEqual({ 'fragment-invalid': 1 });
    const g = new Feeder();
    expect(g.add(v6(8, 0, true, data(12)), 1)).toEqual({ status: 'drop', frames: [1], reason: 'fragment-invalid' });
  });

  it('a datagram longer than 65535 bytes is refused (ping of death)', () => {
    const f = new Feeder();
    expect(f.add(v4(9, 65528, false, data(8)), 1)).toEqual({ status: 'drop', frames: [1], reason: 'fragment-invalid' });
    const g = new Feeder();
    expect(g.add(v6(9, 65528, false, data(16)), 1)).toEqual({ status: 'drop', frames: [1], reason: 'fragment-invalid' });
    // Exactly 65535 bytes is fine.
    const h = new Feeder();
    expect(h.add(v4(9, 65512, false, data(3)), 1).status).toBe('pending');
  });

  it('two final fragments with different ends, or data past the end, drop the datagram', () => {
    const f = new Feeder();
    f.add(v4(10, 16, false, data(8)), 1);
    expect(f.add(v4(10, 16, false, data(16)), 2)).toEqual({ status: 'drop', frames: [1, 2], reason: 'fragment-invalid' });
    const g = new Feeder();
    g.add(v4(10, 16, true, data(16)), 1);
    expect(g.add(v4(10, 8, false, data(8)), 2)).toMatchObject({ status: 'drop', frames: [1, 2], reason: 'fragment-invalid' });
  });

  it('a fragment the capture cut drops the datagram', () => {
    const f = new Feeder();
    expect(f.add(udp4Fragments[0]?.subarray(0, 200) as Buffer, 1, 0, 14, true)).toEqual({ status: 'drop', frames: [1], reason: 'fragment-invalid' });
    expect(f.anomalies()).toEqual({ 'snaplen-truncated': 1, 'fragment-invalid': 1 });
  });
});

describe('timeouts and limits', () => {
  it('expires a datagram timeout seconds after its first fragment', () => {
    const f = new Feeder();
    f.add(v4(11, 0, true, data(8)), 1, 100);
    f.add(v4(12, 0, true, data(8)), 2, 110);
    f.add(v4(11, 16, false, data(8)), 3, 125);
    const expired: number[][] = [];
    f.re.expire(129.9, (frames) => expired.push(frames));
    expect(expired).toEqual([]);
    f.re.expire(130, (frames) => expired.push(frames));
    expect(expired).toEqual([[1, 3]]);
    expect([f.re.pending, f.re.memory, f.anomalies()]).toEqual([1, 28, { 'fragment-incomplete': 1 }]);
    f.re.expire(1000, (frames) => expired.push(frames));
    expect(expired).toEqual([[1, 3], [2]]);
    expect([f.re.pending, f.re.memory]).toEqual([0, 0]);
  });

  it('flush gives up every pending datagram', () => {
    const f = new Feeder();
    f.add(v4(13, 0, true, data(8)), 1);
    f.add(v6(13, 8, false, data(8)), 2);
    f.add(v4(14, 0, true, data(12)), 3); // dropped: a tombstone, not reported again
    const flushed: number[][] = [];
    f.re.flush((frames) => flushed.push(frames));
    expect(flushed).toEqual([[1], [2]]);
    expect([f.re.pending, f.re.memory, f.anomalies()['fragment-incomplete']]).toEqual([0, 0, 2]);
  });

  it('drops the new fragment when the memcap would be passed', () => {
    const f = new Feeder({ timeout: 30, maxDatagrams: 10, memcap: 100 });
    expect(f.add(v4(15, 0, true, data(56)), 1).status).toBe('pending'); // 56 + 20 header
    expect(f.add(v4(16, 0, true, data(16)), 2)).toEqual({ status: 'drop', frames: [2], reason: 'fragment-memcap' });
    expect(f.add(v4(15, 56, true, data(32)), 3)).toEqual({ status: 'drop', frames: [3], reason: 'fragment-memcap' });
    expect(f.add(v4(15, 64, false, data(16)), 4).status).toBe('pending');
    expect(f.anomalies()).toEqual({ 'fragment-memcap': 2 });
    expect(f.re.memory).toBe(92);
  });

  it('drops the first fragment of a new datagram when maxDatagrams are pending', () => {
    const f = new Feeder({ timeout: 30, maxDatagrams: 2, memcap: 1 << 20 });
    f.add(v4(17, 0, true, data(8)), 1);
    f.add(v4(18, 0, true, data(8)), 2);
    expect(f.add(v4(19, 0, true, data(8)), 3)).toEqual({ status: 'drop', frames: [3], reason: 'fragment-memcap' });
    expect(expectComplete(f.add(v4(18, 8, false, data(8)), 4)).frames).toEqual([2, 4]); // existing ones go on
  });
});
