/** Handshake message framing (RFC 8446 §4, RFC 5246 §7.4): a type byte and a 24-bit length, then the body. */

export const HANDSHAKE_HEADER_LENGTH = 4;

export const HANDSHAKE_CLIENT_HELLO = 1;
export const HANDSHAKE_SERVER_HELLO = 2;
export const HANDSHAKE_CERTIFICATE = 11;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

/** Each hello starts legacy_version (2 bytes), random (32), legacy_session_id<0..32>. */
export const RANDOM_OFFSET = 2;
export const RANDOM_LENGTH = 32;
export const SESSION_ID_OFFSET = RANDOM_OFFSET + RANDOM_LENGTH;
export const MAX_SESSION_ID_LENGTH = 32;

/** The 24-bit big-endian lengths of handshake framing and certificate lists; the caller checks the 3 bytes are there. */
export function u24(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
}
