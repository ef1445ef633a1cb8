// Seeded random mutations of the real messages, and the costliest message that can be built:
// parseDnsMessage and DnsTcpReader never throw, always end, and stay within the message's bytes.
import { beforeAll, describe, expect, it } from 'vitest';
import { dnsAnomalies } from '../../dissectors/dns/anomalies.ts';
import { parseDnsMessage, type DnsMessage } from '../../dissectors/dns/message.ts';
import { MAX_POINTERS } from '../../dissectors/dns/names.ts';
import { DnsTcpReader } from '../../dissectors/dns/tcp-framing.ts';
import { captured } from './captured.ts';
import { header, pointer, record, tcpFrames } from './build.ts';

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

function mutate(base: Buffer, next: () => number): Buffer {
  const int = (n: number): number => Math.floor(next() * n);
  let b = Buffer.from(base);
  for (let ops = 1 + int(4); ops > 0; ops--) {
    const at = int(Math.max(b.length, 1));
    switch (int(7)) {
      case 0:
        if (b.length > 0) b[at] = int(256);
        break;
      case 1:
        // A compression pointer anywhere, to anywhere.
        if (at + 1 < b.length) {
          b[at] = 0xc0 | int(64);
          b[at + 1] = int(256);
        }
        break;
      case 2:
        b = b.subarray(0, int(b.length + 1));
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), b.subarray(at)]);
        break;
      case 4:
        // A section count.
        if (b.length >= 12) b.writeUInt16BE(int(65536), 4 + 2 * int(4));
        break;
      case 5:
        b = Buffer.concat([b, b.subarray(at, at + int(64))]);
        break;
      case 6:
        // A length byte at a label's edge: 63, 64, 191, 192.
        if (b.length > 0) b[at] = [63, 64, 191, 192][int(4)] as number;
        break;
    }
  }
  return b;
}

const kinds = new Set(Object.keys(dnsAnomalies));

function checkBounds(bytes: Buffer, m: DnsMessage | null): void {
  if (bytes.length < 12) {
    expect(m).toBeNull();
    return;
  }
  expect(m).not.toBeNull();
  if (m === null) return;
  expect(m.length).toBeGreaterThanOrEqual(12);
  expect(m.length).toBeLessThanOrEqual(bytes.length);
  expect(m.questions.length).toBeLessThanOrEqual(m.counts.questions);
  expect(m.answers.length).toBeLessThanOrEqual(m.counts.answers);
  expect(m.authority.length).toBeLessThanOrEqual(m.counts.authority);
  expect(m.additional.length).toBeLessThanOrEqual(m.counts.additional);
  for (const a of m.anomalies) expect(kinds.has(a.kind), a.kind).toBe(true);
  expect(new Set(m.anomalies.map((a) => a.kind)).size).toBe(m.anomalies.length);
  for (const r of [...m.questions, ...m.answers, ...m.authority, ...m.additional]) expect(r.name.length).toBeLessThanOrEqual(255 * 4);
  // Nothing cyclic, nothing that cannot be written out.
  JSON.stringify(m);
}

describe('parseDnsMessage under mutation', () => {
  let seeds: Buffer[];
  beforeAll(async () => {
    seeds = [...(await captured('udp.pcap')).messages, ...(await captured('tcp.pcap')).messages];
  });

  it('3000 seeded mutations of the real messages: no throw, bounded results, each parse quick', () => {
    const next = rng(0xd15ea5e);
    let slowest = 0;
    let anomalous = 0;
    const started = performance.now();
    for (let i = 0; i < 3000; i++) {
      const bytes = mutate(seeds[Math.floor(next() * seeds.length)] as Buffer, next);
      const t0 = performance.now();
      const m = parseDnsMessage(bytes);
      slowest = Math.max(slowest, performance.now() - t0);
      checkBounds(bytes, m);
      if (m !== null && m.anomalies.length > 0) anomalous++;
      // The same bytes as a TCP stream, cut at a random place.
      const r = new DnsTcpReader({ message: (msg) => void parseDnsMessage(msg), anomaly: () => undefined });
      const stream = tcpFrames(bytes);
      const cut = Math.floor(next() * (stream.length + 1));
      r.feed(stream.subarray(0, cut));
      r.feed(stream.subarray(cut));
      expect(r.buffered).toBe(0);
      r.end(false);
    }
    // The mutations do reach the error paths.
    expect(anomalous).toBeGreaterThan(1000);
    expect(slowest).toBeLessThan(100);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('a stream of random bytes: no throw, buffered never past 65537', () => {
    const next = rng(42);
    const r = new DnsTcpReader({ message: (msg) => void parseDnsMessage(msg), anomaly: () => undefined });
    for (let i = 0; i < 2000; i++) {
      r.feed(Buffer.from(Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256))));
      expect(r.buffered).toBeLessThanOrEqual(65537);
    }
    r.end(true);
  });
});

describe('the costliest message', () => {
  it(`64 KiB of records whose names each follow ${MAX_POINTERS} pointers parses in well under a quarter of a second`, () => {
    // A first record's RDATA (an unknown type, kept raw) holds the chain: the root at 23, then
    // MAX_POINTERS - 1 pointers each to the one before. Every record after it that fits in
    // 64 KiB is owned by a pointer to the chain's last, and points to it in its RDATA too: names
    // of MAX_POINTERS pointers, the most that is read.
    const base = 12 + 1 + 10;
    const chain = Buffer.concat([Buffer.from([0]), ...Array.from({ length: MAX_POINTERS - 1 }, (_, k) => pointer(k === 0 ? base : base + 1 + 2 * (k - 1)))]);
    const top = base + 1 + 2 * (MAX_POINTERS - 2);
    const one = record(pointer(top), 5, pointer(top));
    const first = record('.', 65534, chain);
    const count = Math.floor((65535 - 12 - first.length) / one.length);
    const bytes = Buffer.concat([header({ flags: 0x8180, an: count + 1 }), first, ...Array.from({ length: count }, () => one)]);
    expect(bytes.length).toBeLessThanOrEqual(65535);
    const t0 = performance.now();
    const m = parseDnsMessage(bytes);
    const took = performance.now() - t0;
    expect(m?.anomalies).toEqual([]);
    expect(m?.answers).toHaveLength(count + 1);
    expect(m?.answers[count]).toMatchObject({ name: '.', typeName: 'CNAME', data: '.' });
    expect(took).toBeLessThan(250);
  });

  it('64 KiB of records whose names each have 127 labels parses in well under a quarter of a second', () => {
    // A first record's RDATA holds a name of 127 one-byte labels (255 octets), at 23; every
    // record after it is owned by a pointer to it, and points to it in its RDATA too.
    const longest = Buffer.concat([...Array.from({ length: 127 }, () => Buffer.from([1, 0x61])), Buffer.from([0])]);
    const first = record('.', 65534, longest);
    const one = record(pointer(23), 5, pointer(23));
    const count = Math.floor((65535 - 12 - first.length) / one.length);
    const bytes = Buffer.concat([header({ flags: 0x8180, an: count + 1 }), first, ...Array.from({ length: count }, () => one)]);
    const t0 = performance.now();
    const m = parseDnsMessage(bytes);
    const took = performance.now() - t0;
    expect(m?.anomalies).toEqual([]);
    expect(m?.answers[count]?.data).toBe(Array(127).fill('a').join('.'));
    expect(took).toBeLessThan(250);
  });
});
