/**
 * The fuzzer's mutations, all drawn from one seeded PRNG so that an input is reproduced from its
 * seed and number alone:
 * - bytes: the capture file as bytes (bit flips, interesting values, chunks inserted, removed or
 *   repeated, a cut), for the pcap and pcapng readers;
 * - fields: a header field of some packets (IPv4, IPv6, TCP, UDP at their dissected offsets) set
 *   to a boundary value, the records re-encoded by palisade's pcap writer;
 * - records: packets dropped, repeated, swapped, cut short, given hostile timestamps;
 * - fragments: IPv4 packets split into fragments, overlapping and out of order;
 * - overlaps: TCP data segments sent again at shifted sequence numbers with other bytes;
 * - payload: the bytes of TCP and UDP payloads, for the protocol dissectors (payload.ts).
 *
 * Half the inputs come from the real HTTP, TLS and DNS captures (corpus.ts), and half of those
 * have their payloads mutated: the protocol dissectors get as many inputs as the layers below.
 */
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { Prng } from '../../bench/prng.ts';
import type { Seed, SeedRecord } from './corpus.ts';
import { ipOffset, ones16 } from './layout.ts';
import { mutatePayloads } from './payload.ts';
import { getField, interesting, pick, setField, swap, type Field } from './values.ts';

export type Strategy = 'bytes' | 'fields' | 'records' | 'fragments' | 'overlaps' | 'payload';
export const strategies: readonly Strategy[] = ['bytes', 'fields', 'records', 'fragments', 'overlaps', 'payload'];

export interface FuzzInput {
  strategy: Strategy;
  seed: string;
  /** A whole capture file. */
  pcap: Buffer;
}

function fieldsOf(data: Uint8Array, ip: number): Field[] {
  if (ip < 0 || ip >= data.length) return [];
  const version = (data[ip] ?? 0) >> 4;
  let l4 = -1;
  let proto = -1;
  const fields: Field[] = [];
  if (version === 4) {
    fields.push([ip, 1], [ip + 2, 2], [ip + 4, 2], [ip + 6, 2], [ip + 8, 1], [ip + 9, 1], [ip + 10, 2], [ip + 12, 4], [ip + 16, 4]);
    l4 = ip + ((data[ip] ?? 0) & 0xf) * 4;
    proto = data[ip + 9] ?? -1;
    for (let o = ip + 20; o < l4; o++) fields.push([o, 1]);
  } else if (version === 6) {
    fields.push([ip, 1], [ip + 4, 2], [ip + 6, 1], [ip + 7, 1], [ip + 8, 4], [ip + 24, 4]);
    l4 = ip + 40;
    proto = data[ip + 6] ?? -1;
  } else {
    fields.push([ip, 1]);
  }
  if (proto === 6) {
    fields.push([l4, 2], [l4 + 2, 2], [l4 + 4, 4], [l4 + 8, 4], [l4 + 12, 1], [l4 + 13, 1], [l4 + 14, 2], [l4 + 16, 2], [l4 + 18, 2]);
    const end = l4 + ((data[l4 + 12] ?? 0) >> 4) * 4;
    for (let o = l4 + 20; o < end; o++) fields.push([o, 1]);
  } else if (proto === 17) {
    fields.push([l4, 2], [l4 + 2, 2], [l4 + 4, 2], [l4 + 6, 2]);
  } else if (l4 >= 0) {
    fields.push([l4, 1], [l4 + 1, 1], [l4 + 4, 4]);
  }
  return fields.filter(([o, w]) => o + w <= data.length);
}

function mutateBytes(rng: Prng, bytes: Buffer): Buffer {
  let out = Buffer.from(bytes);
  const rounds = rng.int(1, 8);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    // Headers are at the start of the file and of each record: aim there half the time.
    const at = rng.chance(0.5) ? rng.int(0, Math.min(out.length - 1, 64)) : rng.int(0, out.length - 1);
    switch (rng.int(0, 6)) {
      case 0:
        out[at] = (out[at] ?? 0) ^ (1 << rng.int(0, 7));
        break;
      case 1: {
        const w = pick(rng, [1, 2, 4] as const);
        if (at + w <= out.length) setField(out, [at, w], interesting(rng, getField(out, [at, w]), w));
        break;
      }
      case 2:
        out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255))), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + rng.int(1, 64)))]);
        break;
      case 4: {
        const len = rng.int(1, 256);
        out = Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
        break;
      }
      case 5:
        out = out.subarray(0, at);
        break;
      default:
        out[at] = rng.int(0, 255);
    }
  }
  return out;
}

function copy(records: readonly SeedRecord[]): SeedRecord[] {
  return records.map((r) => ({ data: Buffer.from(r.data), secs: r.secs, nsecs: r.nsecs }));
}

function mutateFields(rng: Prng, records: SeedRecord[], linkType: number): void {
  const n = rng.int(1, Math.max(1, Math.ceil(records.length / 4)));
  for (let i = 0; i < n; i++) {
    const rec = pick(rng, records);
    const fields = fieldsOf(rec.data, ipOffset(rec.data, linkType));
    if (fields.length === 0) {
      if (rec.data.length > 0) rec.data[rng.int(0, rec.data.length - 1)] = rng.int(0, 255);
      continue;
    }
    const f = pick(rng, fields);
    setField(rec.data, f, interesting(rng, getField(rec.data, f), f[1]));
  }
}

function mutateRecords(rng: Prng, records: SeedRecord[]): SeedRecord[] {
  const rounds = rng.int(1, 6);
  for (let r = 0; r < rounds && records.length > 0; r++) {
    const i = rng.int(0, records.length - 1);
    const rec = records[i] as SeedRecord;
    switch (rng.int(0, 6)) {
      case 0:
        records.splice(i, 1);
        break;
      case 1:
        records.splice(i, 0, ...Array.from({ length: rng.int(1, 50) }, () => ({ ...rec, data: Buffer.from(rec.data) })));
        break;
      case 2:
        swap(records, i, rng.int(0, records.length - 1));
        break;
      case 3:
        rec.data = rec.data.subarray(0, rng.int(0, rec.data.length));
        break;
      case 4:
        // Hostile time: the epoch, the end of 32-bit seconds, backwards.
        rec.secs = pick(rng, [0, 0xffffffff, Math.max(0, rec.secs - rng.int(1, 100_000))]);
        break;
      case 5:
        records.reverse();
        break;
      default:
        rec.data = Buffer.concat([rec.data, Buffer.alloc(rng.int(1, 2000), rng.int(0, 255))]);
    }
  }
  return records;
}

/** IPv4 packets cut into 8-byte-aligned fragments, some overlapping, shuffled. */
function fragment(rng: Prng, records: SeedRecord[], linkType: number): SeedRecord[] {
  const out: SeedRecord[] = [];
  for (const rec of records) {
    const ip = ipOffset(rec.data, linkType);
    if (ip < 0 || rec.data.length < ip + 28 || (rec.data[ip] ?? 0) >> 4 !== 4 || !rng.chance(0.5)) {
      out.push(rec);
      continue;
    }
    const ihl = ((rec.data[ip] ?? 0) & 0xf) * 4;
    const total = Math.min(rec.data.readUInt16BE(ip + 2), rec.data.length - ip);
    const payload = rec.data.subarray(ip + ihl, ip + Math.max(ihl, total));
    if (payload.length < 16) {
      out.push(rec);
      continue;
    }
    const pieces: SeedRecord[] = [];
    for (let off = 0; off < payload.length; ) {
      const len = Math.min(payload.length - off, 8 * rng.int(1, 4));
      // Sometimes the next fragment starts 8 bytes back, over this one, with other bytes.
      const data = Buffer.concat([rec.data.subarray(0, ip + ihl), payload.subarray(off, off + len)]);
      if (rng.chance(0.2)) data.fill(rng.int(0, 255), ip + ihl);
      const more = off + len < payload.length ? 0x2000 : 0;
      data.writeUInt16BE(ip + ihl + len - ip, ip + 2);
      data.writeUInt16BE(more | (off >> 3), ip + 6);
      data.writeUInt16BE(0, ip + 10);
      data.writeUInt16BE(ones16(data, ip, ip + ihl), ip + 10);
      pieces.push({ data, secs: rec.secs, nsecs: rec.nsecs });
      off += len > 8 && rng.chance(0.2) ? len - 8 : len;
    }
    for (let i = pieces.length - 1; i > 0; i--) {
      swap(pieces, i, rng.int(0, i));
    }
    out.push(...pieces);
  }
  return out;
}

/** TCP segments with data sent again, at sequence numbers shifted by a few bytes, with other bytes. */
function overlap(rng: Prng, records: SeedRecord[], linkType: number): SeedRecord[] {
  const out: SeedRecord[] = [];
  for (const rec of records) {
    out.push(rec);
    const ip = ipOffset(rec.data, linkType);
    if (ip < 0 || rec.data.length < ip + 40 || (rec.data[ip] ?? 0) >> 4 !== 4 || rec.data[ip + 9] !== 6) continue;
    const l4 = ip + ((rec.data[ip] ?? 0) & 0xf) * 4;
    const dataAt = l4 + ((rec.data[l4 + 12] ?? 0) >> 4) * 4;
    if (dataAt >= rec.data.length || !rng.chance(0.5)) continue;
    for (let k = rng.int(1, 20); k > 0; k--) {
      const data = Buffer.from(rec.data);
      data.writeUInt32BE((data.readUInt32BE(l4 + 4) + rng.int(-64, 64)) >>> 0, l4 + 4);
      for (let o = dataAt; o < data.length; o++) if (rng.chance(0.3)) data[o] = rng.int(0, 255);
      out.push({ data, secs: rec.secs, nsecs: rec.nsecs });
    }
  }
  return out;
}

/** Input number `n` of the run seeded with `seed`: the same bytes every time. */
export function makeInput(seeds: readonly Seed[], seed: number, n: number): FuzzInput {
  const rng = new Prng((seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
  const protocols = seeds.filter((c) => c.protocol !== null);
  const s = protocols.length > 0 && rng.chance(0.5) ? pick(rng, protocols) : pick(rng, seeds);
  let strategy: Strategy = s.protocol !== null && rng.chance(0.5) ? 'payload' : pick(rng, strategies);
  if (s.records === null) strategy = 'bytes';
  const name = `${s.name} ${strategy} ${seed}:${n}`;
  if (strategy === 'bytes' || s.records === null) return { strategy, seed: name, pcap: mutateBytes(rng, s.bytes) };
  let records = copy(s.records);
  if (strategy === 'fields') mutateFields(rng, records, s.linkType);
  else if (strategy === 'records') records = mutateRecords(rng, records);
  else if (strategy === 'fragments') records = fragment(rng, records, s.linkType);
  else if (strategy === 'overlaps') records = overlap(rng, records, s.linkType);
  else mutatePayloads(rng, records, s.linkType);
  // A mix, now and then: several faults in one capture.
  if (rng.chance(0.25)) mutateFields(rng, records, s.linkType);
  return { strategy, seed: name, pcap: encodePcap(records, { linkType: s.linkType }) };
}
