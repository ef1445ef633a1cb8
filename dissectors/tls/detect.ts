/** A TLS ClientHello by its first bytes (RFC 8446 §5.1, §4): a handshake record of version 3.x whose first message is a ClientHello. */

/** True for the start of a ClientHello record, false for anything else, undefined while too few bytes have come to tell. */
export function looksLikeTls(head: Buffer): boolean | undefined {
  if (head[0] !== 0x16) return false;
  if (head.length < 2) return undefined;
  if (head[1] !== 0x03) return false;
  if (head.length < 3) return undefined;
  if ((head[2] as number) > 0x04) return false;
  if (head.length < 6) return undefined;
  return head[5] === 0x01;
}
