/**
 * Hello extensions (RFC 8446 §4.2): the block that ends a ClientHello or ServerHello, and the
 * vectors inside the extensions a hello exposes. Readers work on the message body at offsets
 * and check every length against the extension's end; a value that does not fit is null, and
 * the hello parser reports it as 'malformed-extension'.
 */
import { u16 } from '../bytes.ts';
import type { TlsAnomaly } from './anomalies.ts';
import { extensionName } from './names.ts';

export const EXT_SERVER_NAME = 0;
export const EXT_SUPPORTED_GROUPS = 10;
export const EXT_EC_POINT_FORMATS = 11;
export const EXT_SIGNATURE_ALGORITHMS = 13;
export const EXT_ALPN = 16;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_PSK_KEY_EXCHANGE_MODES = 45;
export const EXT_KEY_SHARE = 51;
export const EXT_ENCRYPTED_CLIENT_HELLO = 0xfe0d;

/** One extension of a hello, as sent. */
export interface TlsExtension {
  type: number;
  /** The IANA name (`server_name`), 'GREASE', or the hex code (`0x1234`): see names.ts. */
  name: string;
  /** Bytes of extension_data. */
  length: number;
}

/** An extension and where its data sits in the message body (internal to the TLS readers). */
export interface ExtensionAt {
  type: number;
  off: number;
  end: number;
}

/**
 * The extension block from `off` to the body's end: `extensions<8..2^16-1>` (RFC 8446 §4.1.2).
 * An absent block (a TLS 1.2 hello may end after its compression methods, RFC 5246 §7.4.1.2)
 * is []. A string says why the block is malformed.
 */
export function readExtensionBlock(body: Buffer, off: number): ExtensionAt[] | string {
  const end = body.length;
  if (off === end) return [];
  if (off + 2 > end) return `1 byte where the 2-byte extensions length should be`;
  const blockEnd = off + 2 + u16(body, off);
  if (blockEnd !== end) {
    return blockEnd > end
      ? `extensions block of ${blockEnd - off - 2} bytes overruns the message by ${blockEnd - end}`
      : `${end - blockEnd} bytes after the extensions block`;
  }
  const list: ExtensionAt[] = [];
  for (let i = off + 2; i < end; ) {
    if (i + 4 > end) return `extension header cut short at byte ${i} (${end - i} bytes left)`;
    const type = u16(body, i);
    const dataEnd = i + 4 + u16(body, i + 2);
    if (dataEnd > end) return `extension ${extensionName(type)} of ${dataEnd - i - 4} bytes overruns the block by ${dataEnd - end}`;
    list.push({ type, off: i + 4, end: dataEnd });
    i = dataEnd;
  }
  return list;
}

/**
 * The public list, and an anomaly per repeated type (RFC 8446 §4.2: "There MUST NOT be more
 * than one extension of the same type"). Returns the extensions that count: the first of each type.
 */
export function listExtensions(found: readonly ExtensionAt[], out: TlsExtension[], anomalies: TlsAnomaly[]): Map<number, ExtensionAt> {
  const first = new Map<number, ExtensionAt>();
  for (const e of found) {
    out.push({ type: e.type, name: extensionName(e.type), length: e.end - e.off });
    if (first.has(e.type)) anomalies.push({ kind: 'duplicate-extension', detail: `${extensionName(e.type)} sent more than once` });
    else first.set(e.type, e);
  }
  return first;
}

/**
 * A vector of 16-bit values with a `prefix`-byte length (1 or 2) that fills [off, end) exactly
 * and holds at least one value; null otherwise.
 */
export function readU16Vector(body: Buffer, off: number, end: number, prefix: 1 | 2): number[] | null {
  if (off + prefix > end) return null;
  const length = prefix === 1 ? (body[off] as number) : u16(body, off);
  const start = off + prefix;
  if (length === 0 || length % 2 !== 0 || start + length !== end) return null;
  const values: number[] = [];
  for (let i = start; i < end; i += 2) values.push(u16(body, i));
  return values;
}

/** A vector of bytes with a 1-byte length that fills [off, end) exactly and holds at least one; null otherwise. */
export function readU8Vector(body: Buffer, off: number, end: number): number[] | null {
  if (off + 1 > end) return null;
  const length = body[off] as number;
  if (length === 0 || off + 1 + length !== end) return null;
  return Array.from(body.subarray(off + 1, end));
}

/**
 * ProtocolNameList (RFC 7301 §3.1): `ProtocolName<1..2^8-1> protocol_name_list<2..2^16-1>`,
 * each name as latin1 (one char per byte: names are byte strings). Null when malformed or empty.
 */
export function readProtocolNames(body: Buffer, off: number, end: number): string[] | null {
  if (off + 2 > end || off + 2 + u16(body, off) !== end) return null;
  const names: string[] = [];
  for (let i = off + 2; i < end; ) {
    const length = body[i] as number;
    if (length === 0 || i + 1 + length > end) return null;
    names.push(body.toString('latin1', i + 1, i + 1 + length));
    i += 1 + length;
  }
  return names.length === 0 ? null : names;
}

/** A host name as RFC 6066 §3 wants it: printable ASCII (no space), no trailing dot. */
const PLAIN_HOST_NAME = /^[\x21-\x7e]*[\x21-\x2d\x2f-\x7e]$/;

/**
 * ServerNameList (RFC 6066 §3): the first host_name (name_type 0), latin1, or null when there is
 * none. What a server may read differently is an anomaly: several host_names, or one that is no
 * plain host name. A list that does not parse is 'malformed-extension' and null.
 */
export function readServerName(body: Buffer, off: number, end: number, anomalies: TlsAnomaly[]): string | null {
  if (off + 2 > end || off + 2 + u16(body, off) !== end || end - off === 2) {
    anomalies.push({ kind: 'malformed-extension', detail: `server_name: list length does not fill the extension's ${end - off} bytes` });
    return null;
  }
  let first: string | null = null;
  let hostNames = 0;
  for (let i = off + 2; i < end; ) {
    if (i + 3 > end || i + 3 + u16(body, i + 1) > end) {
      anomalies.push({ kind: 'malformed-extension', detail: `server_name: entry at byte ${i - off} overruns the list` });
      return null;
    }
    const nameEnd = i + 3 + u16(body, i + 1);
    if (body[i] === 0) {
      hostNames++;
      first ??= body.toString('latin1', i + 3, nameEnd);
    }
    i = nameEnd;
  }
  if (hostNames > 1) anomalies.push({ kind: 'bad-server-name', detail: `${hostNames} host_name entries (RFC 6066 §3 allows one)` });
  if (first !== null && !PLAIN_HOST_NAME.test(first)) anomalies.push({ kind: 'bad-server-name', detail: `host_name ${JSON.stringify(first)}` });
  return first;
}
