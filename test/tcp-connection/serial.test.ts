import { describe, expect, it } from 'vitest';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from '../../dissectors/tcp-connection/serial.ts';
import { Prng } from '../../bench/prng.ts';

/** The RFC 1982 definition, in BigInt: a < b iff (a < b and b - a < 2^31) or (a > b and a - b > 2^31). */
function referenceLt(a: number, b: number): boolean {
  const x = BigInt(a);
  const y = BigInt(b);
  const half = 1n << 31n;
  return (x < y && y - x < half) || (x > y && x - y > half);
}

describe('seqDiff', () => {
  it('is the signed distance from b to a', () => {
    expect(seqDiff(10, 3)).toBe(7);
    expect(seqDiff(3, 10)).toBe(-7);
    expect(seqDiff(5, 5)).toBe(0);
  });

  it('measures across the wrap at 2^32', () => {
    expect(seqDiff(0x0000_0010, 0xffff_fff0)).toBe(0x20);
    expect(seqDiff(0xffff_fff0, 0x0000_0010)).toBe(-0x20);
    expect(seqDiff(0, 0xffff_ffff)).toBe(1);
  });

  it('puts the antipode (2^31 apart) at -2^31 both ways', () => {
    expect(seqDiff(0x8000_0000, 0)).toBe(-0x8000_0000);
    expect(seqDiff(0, 0x8000_0000)).toBe(-0x8000_0000);
  });
});

describe('comparisons', () => {
  it('order numbers less than 2^31 apart, across the wrap', () => {
    expect(seqLt(0xffff_ff00, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xffff_ff00)).toBe(true);
    expect(seqLe(0xffff_ff00, 0x10)).toBe(true);
    expect(seqGe(0x10, 0xffff_ff00)).toBe(true);
    expect(seqLt(0x10, 0xffff_ff00)).toBe(false);
    expect(seqGt(0xffff_ff00, 0x10)).toBe(false);
  });

  it('treat equal numbers as equal', () => {
    for (const a of [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff]) {
      expect([seqLt(a, a), seqLe(a, a), seqGt(a, a), seqGe(a, a)]).toEqual([false, true, false, true]);
    }
  });

  it('agree with the RFC 1982 definition on 100000 random pairs and the edges', () => {
    const rng = new Prng(1982);
    const edges = [0, 1, 0x7fff_fffe, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_fffe, 0xffff_ffff];
    const pairs: [number, number][] = [];
    for (const a of edges) for (const b of edges) pairs.push([a, b]);
    for (let i = 0; i < 100_000; i++) {
      const a = rng.u32();
      // Half the pairs close together, where wrap mistakes show.
      const b = rng.chance(0.5) ? rng.u32() : seqAdd(a, rng.int(-70_000, 70_000));
      pairs.push([a, b]);
    }
    for (const [a, b] of pairs) {
      // RFC 1982 leaves pairs exactly 2^31 apart undefined; seqDiff calls both "before".
      if (Math.abs(a - b) === 0x8000_0000) continue;
      const lt = referenceLt(a, b);
      const gt = referenceLt(b, a);
      if (seqLt(a, b) !== lt || seqGt(a, b) !== gt || seqLe(a, b) !== (lt || a === b) || seqGe(a, b) !== (gt || a === b)) {
        expect.fail(`wrong order for ${a} vs ${b}`);
      }
    }
  });
});

describe('seqAdd', () => {
  it('wraps to unsigned 32-bit', () => {
    expect(seqAdd(0xffff_ffff, 1)).toBe(0);
    expect(seqAdd(0xffff_ff00, 0x200)).toBe(0x100);
    expect(seqAdd(5, 10)).toBe(15);
  });

  it('subtracts with a negative n', () => {
    expect(seqAdd(0, -1)).toBe(0xffff_ffff);
    expect(seqAdd(0x100, -0x200)).toBe(0xffff_ff00);
  });

  it('takes offsets past 2^32 (a stream longer than 4 GiB)', () => {
    expect(seqAdd(0xffff_ff00, 2 ** 33 + 0x100)).toBe(0);
    expect(seqAdd(7, 3 * 2 ** 32)).toBe(7);
  });

  it('is undone by seqDiff', () => {
    const rng = new Prng(7);
    for (let i = 0; i < 10_000; i++) {
      const a = rng.u32();
      const n = rng.int(-0x7fff_ffff, 0x7fff_ffff);
      expect(seqDiff(seqAdd(a, n), a)).toBe(n);
    }
  });
});
