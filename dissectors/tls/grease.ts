/**
 * GREASE (RFC 8701): reserved values a client sends at random to keep servers tolerant of
 * unknown ones. They mean nothing, change from one connection to the next, and fingerprints
 * (JA3, JA4) leave them out.
 */

/** A GREASE cipher suite, extension, group, signature algorithm or version (§2): 0x0A0A, 0x1A1A … 0xFAFA. */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

/** A GREASE PskKeyExchangeMode (§2): 0x0B, 0x2A, 0x49 … 0xE4, that is 0x1F × n + 0x0B. */
export function isGreasePskMode(mode: number): boolean {
  return mode % 0x1f === 0x0b;
}

/** A GREASE ALPN identifier (§2): the two bytes of a GREASE value, as a latin1 string. */
export function isGreaseAlpn(protocol: string): boolean {
  return protocol.length === 2 && isGrease((protocol.charCodeAt(0) << 8) | protocol.charCodeAt(1));
}
