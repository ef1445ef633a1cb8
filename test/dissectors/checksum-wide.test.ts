import { describe, expect, it } from 'vitest';
import { onesSum } from '../../dissectors/checksum.ts';

/** The RFC 1071 definition, one 16-bit word at a time, folded with end-around carry. */
function reference(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? (bytes[i + 1] ?? 0) : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

describe('onesSum', () => {
  it('equals the word-by-word definition at every alignment, length and buffer offset', () => {
    const backing = new Uint8Array(4096);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 7919 + (i >> 7) * 13) & 0xff;
    for (let viewOffset = 0; viewOffset < 4; viewOffset++) {
      const view = Buffer.from(backing.buffer, viewOffset, 3000);
      for (let start = 0; start < 12; start++) {
        for (const len of [0, 1, 2, 3, 7, 63, 64, 65, 66, 67, 100, 511, 1460, 1461, 2047]) {
          const got = onesSum(view, start, start + len);
          const want = reference(view, start, start + len);
          // 0xffff and 0 are the same value in one's complement; onesSum keeps 0 only for all-zero data.
          expect(got % 0xffff, `offset ${viewOffset} start ${start} len ${len}`).toBe(want % 0xffff);
        }
      }
    }
  });

  it('chains: the sum of two halves is the sum of the whole', () => {
    const b = Buffer.alloc(1000, 0xab);
    b.writeUInt32BE(0xdeadbeef, 500);
    expect(onesSum(b, 0, 1000)).toBe(onesSum(b, 500, 1000, onesSum(b, 0, 500)));
  });
});
