/**
 * What the mutations write: an element drawn from a list, boundary numbers (0, 0x7f, 0xffff,
 * 2^31…) and near misses of the value already there, into fields of one, two or four bytes.
 */
import type { Prng } from '../../bench/prng.ts';

/** One element of a non-empty array. */
export function pick<T>(rng: Prng, from: readonly T[]): T {
  const v = from[rng.int(0, from.length - 1)];
  if (v === undefined) throw new Error('pick from an empty array');
  return v;
}

/** Swaps two elements in place. */
export function swap(a: unknown[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** A header field: offset and width in bytes. */
export type Field = [offset: number, width: 1 | 2 | 4];

/** A value for a field that held `old`: a boundary, a near miss, anything, or one bit off. */
export function interesting(rng: Prng, old: number, width: number): number {
  const max = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
  const how = rng.int(0, 3);
  const v = how === 0 ? pick(rng, INTERESTING) : how === 1 ? old + rng.int(-16, 16) : how === 2 ? rng.u32() : old ^ (1 << rng.int(0, width * 8 - 1));
  return (v >>> 0) % (max + 1);
}

export function setField(data: Buffer, [o, w]: Field, v: number): void {
  if (w === 1) data[o] = v;
  else if (w === 2) data.writeUInt16BE(v, o);
  else data.writeUInt32BE(v >>> 0, o);
}

export function getField(data: Buffer, [o, w]: Field): number {
  return w === 1 ? (data[o] ?? 0) : w === 2 ? data.readUInt16BE(o) : data.readUInt32BE(o);
}
