/**
 * The Internet checksum (RFC 1071): the 16-bit one's-complement of the one's-complement sum.
 *
 * A loop sums words into a JS number (exact up to 2^53, far beyond 65535 bytes of words) and
 * folds once at the end. Since 2^16 ≡ 1 (mod 0xffff), folding is a remainder by 0xffff, where a
 * non-zero multiple of 0xffff folds to 0xffff ("negative zero"), as end-around carries do.
 * Partial sums are returned folded (small integers, which V8 never boxes) and can be chained:
 * each function takes the sum so far and adds to it.
 */

import { u16, u32 } from './bytes.ts';

/** Below this many bytes the byte loop wins: the aligned path's set-up costs more than it saves. */
const WIDE_MIN = 64;

/**
 * Adds the 16-bit big-endian words of `bytes[start, end)` to `sum` and returns the total folded
 * to 16 bits. An odd last byte is padded with a zero byte (RFC 1071 §4.1). `start` must be at an
 * even distance from the start of the checksummed data, as each header and payload is.
 */
export function onesSum(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  return end - start < WIDE_MIN ? byteSum(bytes, start, end, sum) : wideSum(bytes, start, end, sum);
}

function byteSum(bytes: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  // Four words per turn: summing high and low bytes apart keeps each add a small integer.
  const end8 = end - 8;
  for (; i <= end8; i += 8) {
    sum +=
      (((bytes[i] as number) + (bytes[i + 2] as number) + (bytes[i + 4] as number) + (bytes[i + 6] as number)) << 8) +
      (bytes[i + 1] as number) +
      (bytes[i + 3] as number) +
      (bytes[i + 5] as number) +
      (bytes[i + 7] as number);
  }
  for (; i + 1 < end; i += 2) sum += u16(bytes, i);
  if (i < end) sum += (bytes[i] as number) << 8;
  return foldSum(sum);
}

// Views of the last ArrayBuffer summed: payloads come from one reader chunk after another.
let wideBuffer: ArrayBufferLike | null = null;
let wideWords: Uint32Array = new Uint32Array(0);
let wideBytes: Uint8Array = new Uint8Array(0);

/**
 * The same sum, four bytes per load: native (little-endian) 32-bit words at aligned addresses.
 * The one's-complement sum does not care about byte order (RFC 1071 §2(B)): mod 0xffff a 32-bit
 * load adds its bytes at even addresses into the low lane and odd ones into the high lane, so
 * the folded result is the big-endian sum byte-swapped when the data starts at an even address.
 */
function wideSum(bytes: Uint8Array, start: number, end: number, sum: number): number {
  const buffer = bytes.buffer;
  if (buffer !== wideBuffer) {
    wideBuffer = buffer;
    wideWords = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    wideBytes = new Uint8Array(buffer);
  }
  const whole = wideBytes;
  const words = wideWords;
  const first = bytes.byteOffset + start;
  const last = bytes.byteOffset + end;
  // Bytes before the first aligned address, each in its big-endian lane (by distance from start).
  let i = first;
  for (; (i & 3) !== 0; i++) sum += ((i - first) & 1) === 0 ? (whole[i] as number) << 8 : (whole[i] as number);
  const alignedEnd = last & ~3;
  let w = i >>> 2;
  const wEnd = alignedEnd >>> 2;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (; w + 4 <= wEnd; w += 4) {
    s0 += words[w] as number;
    s1 += words[w + 1] as number;
    s2 += words[w + 2] as number;
    s3 += words[w + 3] as number;
  }
  for (; w < wEnd; w++) s0 += words[w] as number;
  const lanes = foldSum(s0 + s1 + s2 + s3);
  sum += (first & 1) === 0 ? ((lanes & 0xff) << 8) | (lanes >> 8) : lanes;
  for (i = alignedEnd; i < last; i++) sum += ((i - first) & 1) === 0 ? (whole[i] as number) << 8 : (whole[i] as number);
  return foldSum(sum);
}

/** Folds a sum of words to 16 bits with end-around carry. 0 only when the sum is 0. */
export function foldSum(sum: number): number {
  // The carries added back in (RFC 1071 §4.1), in float arithmetic: the sums pass 2^32, where
  // bit operators would cut them, and `%` on a double is a call to fmod (tens of ns, four
  // times per segment). Each turn takes 16 bits off; a sum below 2^53 needs three at most.
  while (sum > 0xffff) {
    const carry = Math.floor(sum / 0x10000);
    sum = sum - carry * 0x10000 + carry;
  }
  return sum;
}

/** The value to store in a checksum field, given the sum over the data with that field zeroed. */
export function checksumOf(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** A checksum over data that includes its checksum field verifies when the sum folds to 0xffff. */
export function sumVerifies(sum: number): boolean {
  return foldSum(sum) === 0xffff;
}

/** The Internet checksum of `bytes[start, end)` (checksum field zeroed by the caller). */
export function internetChecksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return checksumOf(onesSum(bytes, start, end, initial));
}

/**
 * Folded sum of the IPv4 pseudo header (RFC 9293 §3.1, RFC 768): source and destination of
 * the IPv4 header at `ipOff`, zero, protocol, upper-layer length.
 */
export function ipv4PseudoSum(bytes: Uint8Array, ipOff: number, proto: number, length: number): number {
  // 32-bit words fold the same as their two halves (2^16 ≡ 1 mod 0xffff).
  return foldSum(u32(bytes, ipOff + 12) + u32(bytes, ipOff + 16) + proto + length);
}

/**
 * Folded sum of the IPv6 pseudo header (RFC 8200 §8.1): source at `srcOff`, destination at
 * `dstOff` (the final destination when a routing header is present), 32-bit upper-layer length,
 * next header.
 */
export function ipv6PseudoSum(bytes: Uint8Array, srcOff: number, dstOff: number, proto: number, length: number): number {
  return foldSum(
    u32(bytes, srcOff) +
    u32(bytes, srcOff + 4) +
    u32(bytes, srcOff + 8) +
    u32(bytes, srcOff + 12) +
    u32(bytes, dstOff) +
    u32(bytes, dstOff + 4) +
    u32(bytes, dstOff + 8) +
    u32(bytes, dstOff + 12) +
    length +
    proto,
  );
}

/** Computes and stores the header checksum of the IPv4 header at `off` (for datagrams palisade builds). */
export function writeIpv4HeaderChecksum(bytes: Uint8Array, off: number): void {
  const hdrLen = ((bytes[off] as number) & 0x0f) * 4;
  bytes[off + 10] = 0;
  bytes[off + 11] = 0;
  const sum = internetChecksum(bytes, off, off + hdrLen);
  bytes[off + 10] = sum >> 8;
  bytes[off + 11] = sum & 0xff;
}
