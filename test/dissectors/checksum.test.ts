import { describe, expect, it } from 'vitest';
import {
  checksumOf,
  foldSum,
  internetChecksum,
  ipv4PseudoSum,
  ipv6PseudoSum,
  onesSum,
  sumVerifies,
  writeIpv4HeaderChecksum,
} from '../../dissectors/checksum.ts';
import { hex, tcp4Syn, tcp6Syn } from './frames.ts';

/** RFC 1071 §4.1, word by word with end-around carry: the reference the fast sum must match. */
function naiveChecksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) {
    sum += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? (bytes[i + 1] ?? 0) : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Deterministic bytes (xorshift32). */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe('Internet checksum', () => {
  it('sums the RFC 1071 §3 example to 0xddf2', () => {
    expect(foldSum(onesSum(hex('0001f203f4f5f6f7'), 0, 8))).toBe(0xddf2);
  });

  it('matches the word-by-word reference for every length and start, odd ones included', () => {
    const data = randomBytes(300, 7);
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= data.length; end++) {
        expect(internetChecksum(data, start, end)).toBe(naiveChecksum(data, start, end));
      }
    }
  });

  it('matches the reference on all-0xff data (the largest sums) and on 64 KiB', () => {
    const ff = Buffer.alloc(65535, 0xff);
    expect(internetChecksum(ff, 0, ff.length)).toBe(naiveChecksum(ff, 0, ff.length));
    const big = randomBytes(65535, 99);
    expect(internetChecksum(big, 0, big.length, 0x12345)).toBe(naiveChecksum(big, 0, big.length, 0x12345 % 0xffff));
  });

  it('folds with end-around carry: zero only for a zero sum, 0xffff for other multiples of 0xffff', () => {
    expect(foldSum(0)).toBe(0);
    expect(foldSum(0xffff)).toBe(0xffff);
    expect(foldSum(0x1fffe)).toBe(0xffff);
    expect(foldSum(0x10000)).toBe(1);
    expect(foldSum(2 ** 47 + 5)).toBe((2 ** 47 + 5) % 0xffff); // not a multiple of 0xffff
    expect(checksumOf(0xffff)).toBe(0);
    // Every size of sum up to 2^53, against the definition (the residue mod 0xffff, 0xffff for 0).
    let x = 12345;
    for (let bits = 1; bits <= 53; bits++) {
      for (const sum of [2 ** bits - 1, 2 ** bits, 0xffff * Math.floor(2 ** bits / 0xffff)]) {
        if (sum === 0 || sum > Number.MAX_SAFE_INTEGER) continue;
        expect(foldSum(sum), `sum ${sum}`).toBe(sum % 0xffff === 0 ? 0xffff : sum % 0xffff);
      }
      for (let k = 0; k < 50; k++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const sum = Math.floor((x / 2 ** 32) * 2 ** bits) + 1;
        expect(foldSum(sum), `sum ${sum}`).toBe(sum % 0xffff === 0 ? 0xffff : sum % 0xffff);
      }
    }
  });

  it('verifies data that carries its own checksum', () => {
    const data = randomBytes(101, 3);
    data[10] = 0;
    data[11] = 0;
    const c = internetChecksum(data, 0, data.length);
    data[10] = c >> 8;
    data[11] = c & 0xff;
    expect(sumVerifies(onesSum(data, 0, data.length))).toBe(true);
    data[50] = (data[50] ?? 0) ^ 1;
    expect(sumVerifies(onesSum(data, 0, data.length))).toBe(false);
  });

  it('writes the IPv4 header checksum the sender computed (0xb82b)', () => {
    const header = Buffer.from(tcp4Syn.subarray(14, 34));
    header[10] = 0xaa;
    header[11] = 0xbb;
    writeIpv4HeaderChecksum(header, 0);
    expect(header.readUInt16BE(10)).toBe(0xb82b);
  });

  it('sums the IPv4 and IPv6 pseudo headers as their byte layouts', () => {
    const v4 = tcp4Syn.subarray(14);
    const layout4 = Buffer.concat([v4.subarray(12, 20), hex('0006 0028')]);
    expect(foldSum(ipv4PseudoSum(v4, 0, 6, 40))).toBe(foldSum(onesSum(layout4, 0, layout4.length)));
    const v6 = tcp6Syn.subarray(14);
    const layout6 = Buffer.concat([v6.subarray(8, 40), hex('00000028 00000006')]);
    expect(foldSum(ipv6PseudoSum(v6, 8, 24, 6, 40))).toBe(foldSum(onesSum(layout6, 0, layout6.length)));
  });
});
