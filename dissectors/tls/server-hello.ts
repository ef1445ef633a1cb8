/**
 * The ServerHello (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3), and the HelloRetryRequest that shares
 * its shape, parsed from the handshake message body. Every field is a copy.
 */
import { u16 } from '../bytes.ts';
import type { TlsAnomaly } from './anomalies.ts';
import { EXT_ALPN, EXT_KEY_SHARE, EXT_SUPPORTED_VERSIONS, listExtensions, readExtensionBlock, readProtocolNames, type TlsExtension } from './extensions.ts';
import { HELLO_RETRY_REQUEST_RANDOM, MAX_SESSION_ID_LENGTH, RANDOM_LENGTH, RANDOM_OFFSET, SESSION_ID_OFFSET } from './handshake.ts';
import { ja3s, md5Hex } from './ja3.ts';
import { versionName } from './names.ts';

export interface ServerHello {
  /** legacy_version: 0x0303 from a TLS 1.3 server too (RFC 8446 §4.1.3). */
  legacyVersion: number;
  /** The version chosen, named ('TLS 1.3'): supported_versions' selected_version, else legacyVersion. */
  version: string;
  /** The same, as its code (0x0304). */
  versionNumber: number;
  /** A HelloRetryRequest (RFC 8446 §4.1.3: the special random): the client is to send a second ClientHello. */
  helloRetryRequest: boolean;
  sessionIdLength: number;
  cipherSuite: number;
  compressionMethod: number;
  /** Every extension, in the order sent. */
  extensions: TlsExtension[];
  /** The protocol the server chose (RFC 7301 §3.1), or null. TLS 1.3 sends it encrypted (EncryptedExtensions): null there. */
  alpn: string | null;
  /** The key_share group (RFC 8446 §4.2.8): the server's share, or in a HelloRetryRequest the group asked for; null without. */
  keyShareGroup: number | null;
  /** What was odd but did not stop the parse (duplicate-extension, malformed-extension). */
  anomalies: TlsAnomaly[];
  /** The JA3S string (ja3.ts). */
  readonly ja3s: string;
  /** MD5 of `ja3s`, lower-case hex. */
  readonly ja3sHash: string;
}

/** Parses a ServerHello body (after the 4-byte handshake header); a string says why it is malformed. */
export function parseServerHello(body: Buffer): ServerHello | string {
  const end = body.length;
  if (end < SESSION_ID_OFFSET + 1) return `${end} bytes: too short for legacy_version, random and legacy_session_id_echo`;
  const legacyVersion = u16(body, 0);
  const helloRetryRequest = body.compare(HELLO_RETRY_REQUEST_RANDOM, 0, RANDOM_LENGTH, RANDOM_OFFSET, RANDOM_OFFSET + RANDOM_LENGTH) === 0;
  const sessionIdLength = body[SESSION_ID_OFFSET] as number;
  if (sessionIdLength > MAX_SESSION_ID_LENGTH) return `legacy_session_id_echo of ${sessionIdLength} bytes (at most ${MAX_SESSION_ID_LENGTH})`;
  const off = SESSION_ID_OFFSET + 1 + sessionIdLength;
  if (off + 3 > end) return `message ends before cipher_suite and legacy_compression_method`;
  const cipherSuite = u16(body, off);
  const compressionMethod = body[off + 2] as number;

  const found = readExtensionBlock(body, off + 3);
  if (typeof found === 'string') return found;
  const anomalies: TlsAnomaly[] = [];
  const extensions: TlsExtension[] = [];
  const first = listExtensions(found, extensions, anomalies);

  let versionNumber = legacyVersion;
  const sv = first.get(EXT_SUPPORTED_VERSIONS);
  if (sv !== undefined) {
    // The server's supported_versions holds one selected_version (RFC 8446 §4.2.1).
    if (sv.end - sv.off === 2) versionNumber = u16(body, sv.off);
    else anomalies.push({ kind: 'malformed-extension', detail: `supported_versions of ${sv.end - sv.off} bytes (a ServerHello's is 2)` });
  }
  let alpn: string | null = null;
  const alpnAt = first.get(EXT_ALPN);
  if (alpnAt !== undefined) {
    // "The protocol_name_list MUST contain exactly one" in a ServerHello (RFC 7301 §3.1).
    const names = readProtocolNames(body, alpnAt.off, alpnAt.end);
    if (names?.length === 1) alpn = names[0] as string;
    else anomalies.push({ kind: 'malformed-extension', detail: `application_layer_protocol_negotiation with ${names === null ? 'a malformed list' : `${names.length} protocols`} (a ServerHello's has one)` });
  }
  let keyShareGroup: number | null = null;
  const ks = first.get(EXT_KEY_SHARE);
  if (ks !== undefined) {
    // A HelloRetryRequest's key_share is the selected_group alone; a ServerHello's is one KeyShareEntry.
    const ok = helloRetryRequest ? ks.end - ks.off === 2 : ks.end - ks.off >= 4 && ks.off + 4 + u16(body, ks.off + 2) === ks.end;
    if (ok) keyShareGroup = u16(body, ks.off);
    else anomalies.push({ kind: 'malformed-extension', detail: `key_share of ${ks.end - ks.off} bytes` });
  }

  let ja3sText: string | undefined;
  let ja3sHashText: string | undefined;
  const hello: ServerHello = {
    legacyVersion,
    version: versionName(versionNumber),
    versionNumber,
    helloRetryRequest,
    sessionIdLength,
    cipherSuite,
    compressionMethod,
    extensions,
    alpn,
    keyShareGroup,
    anomalies,
    get ja3s() {
      return (ja3sText ??= ja3s(hello));
    },
    get ja3sHash() {
      return (ja3sHashText ??= md5Hex(hello.ja3s));
    },
  };
  return hello;
}
