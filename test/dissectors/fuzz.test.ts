import { describe, expect, it } from 'vitest';
import { Stats } from '../../core/stats.ts';
import { writeIpv4HeaderChecksum } from '../../dissectors/checksum.ts';
import { FragmentReassembler } from '../../dissectors/fragments.ts';
import * as frames from './frames.ts';
import { Chain } from './frames.ts';

const LINK_TYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads every field of every layer the chain reached, as a curious rule would. */
function readEverything(c: Chain, layer: string): unknown[] {
  const out: unknown[] = [c.link.etherType, c.link.vlanIds.length];
  if (layer === 'link' || layer === 'malformed') return out;
  const ip = c.link.etherType === 0x0800 ? c.ipv4 : c.ipv6;
  out.push(ip.src, ip.dst, ip.proto, ip.len, ip.payload.length, ip.isFragment, ip.fragOffset, JSON.stringify(ip));
  if (ip.version === 4) {
    out.push(ip.hdrLen, ip.tos, ip.id, ip.flags.df, ip.flags.mf, ip.flags.rb, ip.ttl, ip.checksum, ip.verifyChecksum(), ip.options.length, ip.srcInt);
  } else {
    out.push(ip.trafficClass, ip.flowLabel, ip.nextHeader, ip.hopLimit, ip.extensionHeaders.length, ip.mf, ip.fragId, ip.srcBytes.length);
  }
  if (layer === 'tcp') {
    const t = c.tcp;
    out.push(t.srcport, t.dstport, t.seq, t.ack, t.hdrLen, t.res, t.flagsByte, t.flags.syn, t.window, t.checksum, t.urgentPointer);
    out.push(t.options.length, t.mss, t.windowScale, t.sackPermitted, t.timestamps, t.payload.length, t.payloadLength, t.verifyChecksum(), JSON.stringify(t));
    expect(t.payloadLength).toBeGreaterThanOrEqual(0);
  } else if (layer === 'udp') {
    const u = c.udp;
    out.push(u.srcport, u.dstport, u.length, u.checksum, u.payload.length, u.verifyChecksum(), JSON.stringify(u));
  } else if (layer === 'icmp') {
    const i = c.icmp;
    out.push(i.type, i.code, i.checksum, i.payload.length, i.verifyChecksum(), JSON.stringify(i));
  }
  return out;
}

/** Runs a frame through the chain; a refusal must have been counted, and nothing may throw. */
function check(c: Chain, bytes: Buffer, linkType: number): string {
  const before = c.stats.anomalyTotal;
  const layer = c.run(bytes, linkType);
  if (layer === 'malformed') expect(c.stats.anomalyTotal).toBeGreaterThan(before);
  readEverything(c, layer);
  return layer;
}

const realFrames: [string, Buffer][] = Object.entries(frames).flatMap(([name, v]): [string, Buffer][] => {
  if (Buffer.isBuffer(v) && name !== 'fragmentedUdpData') return [[name, v]];
  if (Array.isArray(v)) return v.map((b, i): [string, Buffer] => [`${name}[${i}]`, b as Buffer]);
  return [];
});

describe('fuzzing the stateless chain', () => {
  it('survives every truncation of every real frame, under every link type', () => {
    const c = new Chain();
    for (const [, frame] of realFrames) {
      for (let n = 0; n <= frame.length; n++) {
        for (const lt of LINK_TYPES) check(c, frame.subarray(0, n), lt);
      }
    }
  });

  it('survives random byte changes in real frames', () => {
    const c = new Chain();
    const next = rng(42);
    for (let round = 0; round < 20000; round++) {
      const [, frame] = realFrames[round % realFrames.length] as [string, Buffer];
      const b = Buffer.from(frame);
      const flips = 1 + Math.floor(next() * 4);
      for (let k = 0; k < flips; k++) {
        // Favour the headers, where the lengths and offsets are.
        const at = Math.floor(next() * Math.min(b.length, next() < 0.8 ? 80 : b.length));
        b[at] = Math.floor(next() * 256);
      }
      check(c, b, 1);
    }
  });

  it('survives random bytes under every link type', () => {
    const c = new Chain();
    const next = rng(7);
    for (let round = 0; round < 20000; round++) {
      const b = Buffer.alloc(Math.floor(next() * 120));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(next() * 256);
      // Make IP-looking starts likely, so the deeper layers are reached too.
      if (b.length > 0 && next() < 0.5) b[0] = next() < 0.5 ? 0x45 : 0x60;
      check(c, b, LINK_TYPES[round % LINK_TYPES.length] as number);
    }
  });

  it('reassembles real datagrams from shuffled, duplicated, overlapping and corrupted fragments', () => {
    const next = rng(99);
    const c = new Chain();
    const stats = new Stats();
    const re = new FragmentReassembler<number>({ timeout: 30, maxDatagrams: 64, memcap: 1 << 20 }, stats);
    const v4Header = Buffer.from(frames.udp4Fragments[0]?.subarray(14, 34) as Buffer);
    const v6Header = Buffer.from(frames.udp6Fragments[0]?.subarray(14, 62) as Buffer);
    const datagram = (fragments: Buffer[], hdr: number): Buffer => Buffer.concat(fragments.map((f) => f.subarray(14 + hdr)));
    const udp4 = datagram(frames.udp4Fragments, 20);
    const udp6 = datagram(frames.udp6Fragments, 48);
    const outcomes = { complete: 0, dropped: 0 };

    for (let round = 0; round < 3000; round++) {
      const v6 = next() < 0.5;
      const whole = v6 ? udp6 : udp4;
      const fragment = (start: number, end: number, corrupt: boolean): Buffer => {
        const data = Buffer.from(whole.subarray(start, end));
        if (corrupt) {
          const at = Math.floor(next() * data.length);
          data[at] = (data[at] ?? 0) ^ 0x55;
        }
        const mf = end < whole.length;
        const h = Buffer.from(v6 ? v6Header : v4Header);
        if (v6) {
          h.writeUInt16BE(8 + data.length, 4);
          h.writeUInt16BE(start | (mf ? 1 : 0), 42);
          h.writeUInt32BE(round, 44);
        } else {
          h.writeUInt16BE(20 + data.length, 2);
          h.writeUInt16BE(round & 0xffff, 4);
          h.writeUInt16BE((mf ? 0x2000 : 0) | (start / 8), 6);
          writeIpv4HeaderChecksum(h, 0);
        }
        return Buffer.concat([h, data]);
      };
      // A cover of the datagram in 8-byte-aligned pieces, plus extra overlapping copies.
      const cuts = [0];
      while ((cuts.at(-1) as number) < whole.length) cuts.push(Math.min(whole.length, (cuts.at(-1) as number) + 8 * (1 + Math.floor(next() * 200))));
      const list: { bytes: Buffer; bad: boolean }[] = [];
      for (let i = 1; i < cuts.length; i++) list.push({ bytes: fragment(cuts[i - 1] as number, cuts[i] as number, false), bad: false });
      for (let extra = Math.floor(next() * 3); extra > 0; extra--) {
        const start = 8 * Math.floor((next() * whole.length) / 8);
        const end = Math.min(whole.length, start + 8 * (1 + Math.floor(next() * 100)));
        const corrupt = next() < 0.2 && end > start;
        list.push({ bytes: fragment(start, end, corrupt), bad: corrupt });
      }
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [list[i], list[j]] = [list[j] as { bytes: Buffer; bad: boolean }, list[i] as { bytes: Buffer; bad: boolean }];
      }
      let result: string = 'pending';
      let badAdded = false;
      for (const [i, { bytes, bad }] of list.entries()) {
        expect(c.run(bytes, 101)).toBe(v6 ? 'ipv6' : 'ipv4');
        const view = v6 ? c.ipv6 : c.ipv4;
        if (!view.isFragment) continue; // a single piece covering everything
        badAdded ||= bad;
        const r = re.add(view, i, round);
        bytes.fill(0xee); // the engine reuses its buffers
        if (r.status === 'complete') {
          result = 'complete';
          expect(c.run(r.datagram, 101)).toBe('udp');
          // A corrupted copy can complete a datagram before the right one arrives: first-wins.
          expect(c.udp.verifyChecksum()).toBe(!badAdded);
          badAdded = false;
          expect(c.udp.length).toBe(whole.length);
        } else if (r.status === 'drop') {
          result = 'drop';
        }
      }
      // A corrupted copy arriving after the datagram completed starts a new one; otherwise the
      // outcome is certain: complete when every copy was right, dropped when one differs and overlapped first.
      if (!list.some((f) => f.bad)) expect(result).toBe(list.length === 1 ? 'pending' : 'complete');
      if (result === 'complete') outcomes.complete++;
      else outcomes.dropped++;
      re.expire(round + 31, () => undefined);
    }
    re.flush(() => undefined);
    expect([re.pending, re.memory]).toEqual([0, 0]);
    expect(outcomes.complete).toBeGreaterThan(2000);
    expect(outcomes.dropped).toBeGreaterThan(0);
  });
});
