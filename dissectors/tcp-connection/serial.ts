/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4, serial numbers per RFC 1982): sequence numbers
 * are unsigned 32-bit and wrap, so `a < b` means "b is less than 2^31 ahead of a". Every
 * comparison of sequence or acknowledgment numbers goes through these. Operands are unsigned
 * 32-bit numbers (as `TcpPacket.seq` returns them); results never allocate.
 */

/** Signed distance from b to a, in -2^31 .. 2^31-1: positive when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** a + n, wrapped to unsigned 32-bit; n may be negative. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * `seqAdd` kept as an int32 (the same 32 bits): a Smi V8 never boxes, for state updated on
 * every packet. Compare such values only with each other or through seqDiff and friends.
 */
export function seqAdd32(a: number, n: number): number {
  return (a + n) | 0;
}
