/**
 * Mutations of what the protocol dissectors read: the bytes of TCP and UDP payloads, the headers
 * below left whole and the checksums written again, so that the mutated bytes reach HTTP, TLS
 * and DNS (and a rule file's own dissectors) in order. Bit flips, boundary numbers where a length
 * may sit, random bytes, a run of random bytes to the end of the payload, and tokens of the three
 * protocols (line ends, framing fields, record and handshake headers, compression pointers).
 * A UDP datagram is one DNS message: bytes are also inserted into it and cut from it, its
 * lengths written again; a TCP payload keeps its length (its sequence numbers frame the stream).
 */
import type { Prng } from '../../bench/prng.ts';
import type { SeedRecord } from './corpus.ts';
import { fixTransport, transportOf, type Transport } from './layout.ts';
import { getField, interesting, pick, setField } from './values.ts';

const text = (s: string): Buffer => Buffer.from(s, 'latin1');

const TOKENS: readonly Buffer[] = [
  // HTTP/1.x: line ends, framing, the smuggling shapes, paths a normaliser must resolve.
  ...[
    '\r\n', '\n', '\r', '\r\n\r\n', '\n\n', ' ', '\t', ':', ' :', '\r\n ', 'HTTP/1.1', 'HTTP/1.0 ', 'HTTP/1.1 100 Continue\r\n\r\n',
    'Content-Length: 0\r\n', 'Content-Length: 99999999999999999\r\n', 'Content-Length: 5, 6\r\n', 'Content-Length: -1\r\n',
    'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip, chunked\r\n', 'Transfer-Encoding: chunked, identity\r\n',
    '0\r\n\r\n', '0\r\nX-T: 1\r\n\r\n', 'ffffffffffffffff\r\n', '1;ext=v\r\n', 'Expect: 100-continue\r\n', 'Connection: close\r\n',
    'Upgrade: websocket\r\n', 'CONNECT ', 'HEAD ', '/../', '%2e%2e/', '//', '%', '%00', '%zz', '?', '#', 'Host: ', 'Host: a\r\nHost: b\r\n',
  ].map(text),
  // TLS: record and handshake headers, lengths at their bounds, GREASE, extension types.
  ...[
    [0x16, 0x03, 0x01], [0x16, 0x03, 0x03, 0xff, 0xff], [0x14, 0x03, 0x03, 0x00, 0x01, 0x01], [0x17, 0x03, 0x03], [0x15, 0x03, 0x03, 0x00, 0x02],
    [0x01, 0x00, 0xff, 0xff], [0x01, 0xff, 0xff, 0xff], [0x02, 0x00, 0x00, 0x00], [0x0b, 0x00, 0x00, 0x03], [0x00, 0x00], [0xff, 0xff],
    [0x0a, 0x0a], [0xfe, 0x0d], [0x00, 0x2b], [0x00, 0x10], [0x00, 0x00, 0x00, 0x00], [0x03, 0x04], [0x7f, 0x17],
  ].map((b) => Buffer.from(b)),
  // DNS: compression pointers (back, to the header, forward, to themselves), label lengths, types.
  ...[
    [0xc0, 0x0c], [0xc0, 0x00], [0xc0, 0x0e], [0xc0, 0xff], [0xff, 0xff], [0x3f], [0x40], [0x00], [0x00, 0x29], [0x00, 0xff], [0x00, 0x41],
    [0x00, 0x06], [0x00, 0x10], [0x01, 0x2e], [0x01, 0x5c], [0x00, 0x01, 0x00, 0x01], [0x80, 0x00],
  ].map((b) => Buffer.from(b)),
];

/** Where in a payload of `length` bytes an edit goes: its start (headers, hellos) half the time. */
function position(rng: Prng, length: number): number {
  return rng.chance(0.5) ? rng.int(0, Math.min(length - 1, 63)) : rng.int(0, length - 1);
}

function randomBytes(rng: Prng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
  return b;
}

/** An edit that keeps the payload's length. */
function overwrite(rng: Prng, data: Buffer, t: Transport): void {
  const length = t.end - t.start;
  const at = t.start + position(rng, length);
  switch (rng.int(0, 6)) {
    case 0:
      data[at] = (data[at] ?? 0) ^ (1 << rng.int(0, 7));
      break;
    case 1: {
      const w = pick(rng, [1, 2, 4] as const);
      if (at + w <= t.end) setField(data, [at, w], interesting(rng, getField(data, [at, w]), w));
      break;
    }
    case 2:
      data[at] = rng.int(0, 255);
      break;
    case 3:
    case 4:
      pick(rng, TOKENS).copy(data, at, 0, Math.min(t.end - at, 64));
      break;
    case 5:
      randomBytes(rng, Math.min(t.end - at, rng.int(1, 32))).copy(data, at);
      break;
    default:
      // Random bytes to the end: what follows a valid start (detection passes, the rest is noise).
      if (rng.chance(0.5)) randomBytes(rng, t.end - at).copy(data, at);
      else data.copyWithin(at, t.start + rng.int(0, length - 1), t.end);
  }
}

/** A UDP datagram's payload grown or cut: a new frame, its lengths and checksums written again. */
function resize(rng: Prng, data: Buffer, t: Transport): Buffer {
  const length = t.end - t.start;
  const at = t.start + position(rng, length);
  const how = rng.int(0, 3);
  let out: Buffer;
  if (how === 0) out = Buffer.concat([data.subarray(0, at), pick(rng, TOKENS), data.subarray(at)]);
  else if (how === 1) out = Buffer.concat([data.subarray(0, at), randomBytes(rng, rng.int(1, 64)), data.subarray(at)]);
  else if (how === 2) out = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(t.end, at + rng.int(1, 32)))]);
  else out = Buffer.concat([data.subarray(0, at), data.subarray(t.end)]);
  const end = t.end + (out.length - data.length);
  // An IP packet holds at most 65535 bytes.
  if (end - t.ip > 0xffff) return data;
  fixTransport(out, { ...t, end });
  return out;
}

/** A few packets with a payload, their payload bytes edited, their checksums made right. */
export function mutatePayloads(rng: Prng, records: SeedRecord[], linkType: number): void {
  const carrying: number[] = [];
  for (let i = 0; i < records.length; i++) if (transportOf((records[i] as SeedRecord).data, linkType) !== null) carrying.push(i);
  if (carrying.length === 0) return;
  for (let k = rng.int(1, 3); k > 0; k--) {
    const rec = records[pick(rng, carrying)] as SeedRecord;
    const t = transportOf(rec.data, linkType);
    if (t === null) continue;
    if (t.proto === 17 && rng.chance(0.4)) {
      rec.data = resize(rng, rec.data, t);
      continue;
    }
    for (let edits = rng.int(1, 4); edits > 0; edits--) overwrite(rng, rec.data, t);
    fixTransport(rec.data, t);
  }
}
