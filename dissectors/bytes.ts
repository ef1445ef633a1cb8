/**
 * Big-endian reads for the packet path. Buffer's readUInt16BE/readUInt32BE validate their
 * argument on every call (about five times slower in Node 20); these do not check bounds, so a
 * caller reads only what it has already checked is there.
 */

export function u8(b: Uint8Array, i: number): number {
  return b[i] as number;
}

export function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

/** Unsigned (0 .. 2^32-1). */
export function u32(b: Uint8Array, i: number): number {
  return (b[i] as number) * 0x1000000 + (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number));
}

/**
 * Signed (-2^31 .. 2^31-1): the same 32 bits as u32, kept an int32 so V8 never boxes it. TCP
 * sequence arithmetic (RFC 1982) is modular, so it works on these unchanged.
 */
export function i32(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number);
}
