/**
 * The TLS record layer (RFC 8446 §5.1, RFC 5246 §6.2.1): a 5-byte header, content type,
 * legacy record version and length, before each fragment.
 */

export const RECORD_HEADER_LENGTH = 5;

export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_ALERT = 21;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;
export const CONTENT_HEARTBEAT = 24; // RFC 6520

/** A TLSPlaintext fragment is at most 2^14 bytes (RFC 8446 §5.1, RFC 5246 §6.2.1). */
export const MAX_PLAINTEXT_LENGTH = 1 << 14;

export function isContentType(byte: number): boolean {
  return byte >= CONTENT_CHANGE_CIPHER_SPEC && byte <= CONTENT_HEARTBEAT;
}

/**
 * The record version's major byte is 3 in every SSL 3.0 to TLS 1.3 record; TLS 1.3 freezes the
 * minor at 3 (1 in a first ClientHello, RFC 8446 §5.1), so a minor over 4 is no TLS.
 */
export function isRecordVersion(major: number, minor: number): boolean {
  return major === 3 && minor <= 4;
}
