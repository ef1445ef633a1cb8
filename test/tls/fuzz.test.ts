/**
 * TlsReader on 2000 seeded mutations of the real streams (test/captures/tls, both directions),
 * each fed in random chunk sizes under a random limit: it never throws, `buffered` never passes
 * the limit, it stops, and it ignores what comes after. Every field a handler gets is read,
 * certificates decoded, so the lazy getters are fuzzed too. A failure names its seed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../bench/prng.ts';
import { TlsReader } from '../../dissectors/tls/reader.ts';
import { tlsCapture, tlsStreams } from './streams.ts';

const INPUTS = 2000;
const LIMITS = [64, 300, 4096, 65536];
const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0b, 0x14, 0x15, 0x16, 0x17, 0x18, 0x2b, 0x30, 0x7f, 0x80, 0x81, 0x82, 0xfe, 0xff];

let fieldsRead = 0;
/** Takes the values of getters, so that reading them is part of the run. */
function touch(...values: unknown[]): void {
  fieldsRead += values.length;
}

function mutate(rng: Prng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = rng.int(1, 6);
  for (let k = 0; k < edits && b.length > 0; k++) {
    const at = rng.int(0, b.length - 1);
    switch (rng.int(0, 6)) {
      case 0: // a bit flipped
        b[at] = (b[at] as number) ^ (1 << rng.int(0, 7));
        break;
      case 1: // a byte set to a value that means something in TLS or DER
        b[at] = INTERESTING[rng.int(0, INTERESTING.length - 1)] as number;
        break;
      case 2: // a 16- or 24-bit length at a boundary
        for (const [i, v] of [0, 0xff, 0xff].entries()) if (at + i < b.length) b[at + i] = rng.chance(0.5) ? v : rng.int(0, 255);
        break;
      case 3: // bytes inserted
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: rng.int(1, 40) }, () => rng.int(0, 255))), b.subarray(at)]);
        break;
      case 4: // a range removed
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.int(1, 60)))]);
        break;
      case 5: // a range repeated
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + rng.int(1, 200)), b.subarray(at)]);
        break;
      default: // cut short
        b = b.subarray(0, at);
    }
  }
  return b;
}

describe('TlsReader fuzzed', () => {
  const seeds: { name: string; fromClient: boolean; bytes: Buffer }[] = [];
  beforeAll(async () => {
    for (const name of ['tls12', 'tls13', 'node13', 'hrr13', 'mtls12']) {
      const s = await tlsStreams(tlsCapture(name));
      seeds.push({ name, fromClient: true, bytes: s.client }, { name, fromClient: false, bytes: s.server });
    }
  });

  it(`survives ${INPUTS} mutated streams in random chunks`, () => {
    let hellos = 0;
    let anomalies = 0;
    for (let n = 0; n < INPUTS; n++) {
      const rng = new Prng(n + 1);
      const seed = seeds[rng.int(0, seeds.length - 1)] as (typeof seeds)[number];
      const input = mutate(rng, seed.bytes);
      const limit = LIMITS[rng.int(0, LIMITS.length - 1)] as number;
      const where = `input ${n} (${seed.name} ${seed.fromClient ? 'client' : 'server'}, ${input.length} bytes, limit ${limit})`;
      let ended = false;
      const late = (): void => {
        if (ended) throw new Error(`${where}: a handler ran after the reader was done`);
      };
      const reader = new TlsReader(
        seed.fromClient,
        {
          clientHello: (h) => {
            late();
            hellos++;
            touch(h.ja3, h.ja3Hash, h.ja4, h.version, h.serverName, h.alpn, h.extensions);
          },
          serverHello: (h) => {
            late();
            hellos++;
            touch(h.ja3s, h.ja3sHash, h.version, h.alpn);
          },
          certificate: (c) => {
            late();
            for (const cert of c.certificates) touch(cert.subject, cert.issuer, cert.sans, cert.notBefore, cert.notAfter, cert.serialNumber, cert.fingerprintSha256, cert.error);
          },
          anomaly: () => {
            late();
            anomalies++;
          },
        },
        { maxHandshakeBytes: limit },
      );
      for (let i = 0; i < input.length; ) {
        const size = rng.chance(0.3) ? rng.int(1, 8) : rng.int(1, 1500);
        reader.feed(input.subarray(i, i + size));
        i += size;
        if (reader.buffered > limit) throw new Error(`${where}: buffered ${reader.buffered} after byte ${i}`);
        if (reader.done) ended = true;
      }
      reader.end(rng.chance(0.5));
      expect(reader.done, where).toBe(true);
      ended = true;
      reader.feed(seed.bytes);
      expect(reader.buffered, where).toBe(0);
    }
    // The mutations leave many hellos whole and break many others.
    expect(hellos).toBeGreaterThan(INPUTS / 4);
    expect(anomalies).toBeGreaterThan(INPUTS / 4);
    expect(fieldsRead).toBeGreaterThan(hellos);
  });
});
