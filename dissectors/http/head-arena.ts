/**
 * Where message heads are copied to: slices of one large buffer taken in turn, a new one when
 * it is full. A head copied into a Buffer of its own costs a pool slab every twenty heads and
 * the collector's attention for each; an arena costs one allocation per few hundred heads. A
 * slab lives as long as a message copied into it does.
 */
const ARENA_BYTES = 256 * 1024;

let arena = Buffer.allocUnsafe(0);
let used = 0;

/** A copy of src[start, end), valid for as long as it is kept. */
export function copyHead(src: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  if (n > ARENA_BYTES / 4) {
    const own = Buffer.allocUnsafeSlow(n);
    src.copy(own, 0, start, end);
    return own;
  }
  if (used + n > arena.length) {
    arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
    used = 0;
  }
  src.copy(arena, used, start, end);
  const out = arena.subarray(used, used + n);
  used += n;
  return out;
}
