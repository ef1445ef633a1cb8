/**
 * The ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for TLS 1.2 and earlier), parsed from its
 * handshake message body. Every field is a copy (numbers and strings): a ClientHello may be kept
 * after the bytes it came from are gone. The fingerprints are computed on first read.
 *
 * GREASE values (RFC 8701) are left out of every list of values (cipher suites, groups,
 * versions, signature algorithms, key shares, PSK modes, ALPN), so that a rule comparing them
 * sees only real ones; `grease` says whether the client sent any, and `extensions` keeps every
 * extension in order, GREASE ones named 'GREASE', as fingerprints need.
 */
import { u16 } from '../bytes.ts';
import type { TlsAnomaly } from './anomalies.ts';
import {
  EXT_ALPN,
  EXT_EC_POINT_FORMATS,
  EXT_ENCRYPTED_CLIENT_HELLO,
  EXT_KEY_SHARE,
  EXT_PSK_KEY_EXCHANGE_MODES,
  EXT_SERVER_NAME,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  listExtensions,
  readExtensionBlock,
  readProtocolNames,
  readServerName,
  readU16Vector,
  readU8Vector,
  type ExtensionAt,
  type TlsExtension,
} from './extensions.ts';
import { isGrease, isGreaseAlpn, isGreasePskMode } from './grease.ts';
import { MAX_SESSION_ID_LENGTH, SESSION_ID_OFFSET } from './handshake.ts';
import { ja3, md5Hex } from './ja3.ts';
import { ja4 } from './ja4.ts';
import { extensionName, versionName } from './names.ts';

export interface ClientHello {
  /** legacy_version: 0x0303 from TLS 1.2 and 1.3 clients alike (RFC 8446 §4.1.2). */
  legacyVersion: number;
  /** The supported_versions extension (RFC 8446 §4.2.1), in the client's order; [] without it. */
  supportedVersions: number[];
  /** The highest version offered, named ('TLS 1.3'): from supported_versions, else legacyVersion. */
  version: string;
  /** The same, as its code (0x0304). */
  versionNumber: number;
  /** Bytes of legacy_session_id (0 to 32; TLS 1.3 clients in compatibility mode send 32). */
  sessionIdLength: number;
  cipherSuites: number[];
  compressionMethods: number[];
  /** Every extension, in the order sent, GREASE included. */
  extensions: TlsExtension[];
  /**
   * The SNI host_name (RFC 6066 §3), as sent (latin1), or null without one. With `ech` this is
   * the outer ClientHello's name, the ECH provider's public name, not the server the client
   * wants, which travels encrypted.
   */
  serverName: string | null;
  /** ALPN protocols offered (RFC 7301 §3.1), in order, as latin1 strings ('h2', 'http/1.1'). */
  alpn: string[];
  /** supported_groups (RFC 8446 §4.2.7; elliptic_curves in RFC 4492). */
  supportedGroups: number[];
  /** ec_point_formats (RFC 8422 §5.1.2). */
  ecPointFormats: number[];
  /** signature_algorithms (RFC 8446 §4.2.3), in order. */
  signatureAlgorithms: number[];
  /** The group of each key_share entry (RFC 8446 §4.2.8), in order. */
  keyShareGroups: number[];
  /** psk_key_exchange_modes (RFC 8446 §4.2.9). */
  pskModes: number[];
  /**
   * An encrypted_client_hello extension (0xfe0d) is present: the real ClientHello is
   * encrypted inside it and `serverName` is only the public name. Browsers also send a GREASE
   * ECH of the same shape to servers without ECH; the two cannot be told apart on the wire.
   */
  ech: boolean;
  /** The client sent GREASE values (left out of the lists above). */
  grease: boolean;
  /** What was odd but did not stop the parse (duplicate-extension, bad-server-name, malformed-extension). */
  anomalies: TlsAnomaly[];
  /** The JA3 string (ja3.ts). */
  readonly ja3: string;
  /** MD5 of `ja3`, lower-case hex. */
  readonly ja3Hash: string;
  /** The JA4 fingerprint (ja4.ts). */
  readonly ja4: string;
}

/** Parses a ClientHello body (after the 4-byte handshake header); a string says why it is malformed. */
export function parseClientHello(body: Buffer): ClientHello | string {
  const end = body.length;
  if (end < SESSION_ID_OFFSET + 1) return `${end} bytes: too short for legacy_version, random and legacy_session_id`;
  const legacyVersion = u16(body, 0);
  const sessionIdLength = body[SESSION_ID_OFFSET] as number;
  if (sessionIdLength > MAX_SESSION_ID_LENGTH) return `legacy_session_id of ${sessionIdLength} bytes (at most ${MAX_SESSION_ID_LENGTH})`;
  let off = SESSION_ID_OFFSET + 1 + sessionIdLength;
  if (off + 2 > end) return `message ends in legacy_session_id or before cipher_suites`;
  const suitesLength = u16(body, off);
  off += 2;
  // cipher_suites<2..2^16-2>
  if (suitesLength < 2 || suitesLength % 2 !== 0) return `cipher_suites length ${suitesLength}`;
  if (off + suitesLength + 1 > end) return `cipher_suites of ${suitesLength} bytes overruns the message`;
  let grease = false;
  const cipherSuites: number[] = [];
  for (const suitesEnd = off + suitesLength; off < suitesEnd; off += 2) {
    const suite = u16(body, off);
    if (isGrease(suite)) grease = true;
    else cipherSuites.push(suite);
  }
  // legacy_compression_methods<1..2^8-1>
  const compressionLength = body[off] as number;
  if (compressionLength === 0 || off + 1 + compressionLength > end) return `legacy_compression_methods length ${compressionLength}`;
  const compressionMethods = Array.from(body.subarray(off + 1, off + 1 + compressionLength));
  off += 1 + compressionLength;

  const found = readExtensionBlock(body, off);
  if (typeof found === 'string') return found;
  const anomalies: TlsAnomaly[] = [];
  const extensions: TlsExtension[] = [];
  const first = listExtensions(found, extensions, anomalies);
  for (const e of found) if (isGrease(e.type)) grease = true;

  const values = (type: number, read: (e: ExtensionAt) => number[] | null, drop: (v: number) => boolean = isGrease): number[] => {
    const e = first.get(type);
    if (e === undefined) return [];
    const all = read(e);
    if (all === null) {
      anomalies.push({ kind: 'malformed-extension', detail: `${extensionName(type)} of ${e.end - e.off} bytes` });
      return [];
    }
    const kept = all.filter((v) => !drop(v));
    if (kept.length !== all.length) grease = true;
    return kept;
  };
  const supportedVersions = values(EXT_SUPPORTED_VERSIONS, (e) => readU16Vector(body, e.off, e.end, 1));
  const supportedGroups = values(EXT_SUPPORTED_GROUPS, (e) => readU16Vector(body, e.off, e.end, 2));
  const signatureAlgorithms = values(EXT_SIGNATURE_ALGORITHMS, (e) => readU16Vector(body, e.off, e.end, 2));
  const ecPointFormats = values(EXT_EC_POINT_FORMATS, (e) => readU8Vector(body, e.off, e.end), () => false);
  const pskModes = values(EXT_PSK_KEY_EXCHANGE_MODES, (e) => readU8Vector(body, e.off, e.end), isGreasePskMode);
  const keyShareGroups = values(EXT_KEY_SHARE, (e) => readKeyShareGroups(body, e.off, e.end));

  let alpn: string[] = [];
  const alpnAt = first.get(EXT_ALPN);
  if (alpnAt !== undefined) {
    const names = readProtocolNames(body, alpnAt.off, alpnAt.end);
    if (names === null) anomalies.push({ kind: 'malformed-extension', detail: `application_layer_protocol_negotiation of ${alpnAt.end - alpnAt.off} bytes` });
    else {
      alpn = names.filter((p) => !isGreaseAlpn(p));
      if (alpn.length !== names.length) grease = true;
    }
  }
  const sniAt = first.get(EXT_SERVER_NAME);
  const serverName = sniAt === undefined ? null : readServerName(body, sniAt.off, sniAt.end, anomalies);

  const versionNumber = supportedVersions.length > 0 ? Math.max(...supportedVersions) : legacyVersion;

  let ja3Text: string | undefined;
  let ja3HashText: string | undefined;
  let ja4Text: string | undefined;
  const hello: ClientHello = {
    legacyVersion,
    supportedVersions,
    version: versionName(versionNumber),
    versionNumber,
    sessionIdLength,
    cipherSuites,
    compressionMethods,
    extensions,
    serverName,
    alpn,
    supportedGroups,
    ecPointFormats,
    signatureAlgorithms,
    keyShareGroups,
    pskModes,
    ech: first.has(EXT_ENCRYPTED_CLIENT_HELLO),
    grease,
    anomalies,
    get ja3() {
      return (ja3Text ??= ja3(hello));
    },
    get ja3Hash() {
      return (ja3HashText ??= md5Hex(hello.ja3));
    },
    get ja4() {
      return (ja4Text ??= ja4(hello));
    },
  };
  return hello;
}

/** client_shares (RFC 8446 §4.2.8): `KeyShareEntry client_shares<0..2^16-1>`, each a group and `key_exchange<1..2^16-1>`. */
function readKeyShareGroups(body: Buffer, off: number, end: number): number[] | null {
  if (off + 2 > end || off + 2 + u16(body, off) !== end) return null;
  const groups: number[] = [];
  for (let i = off + 2; i < end; ) {
    if (i + 4 > end) return null;
    const keyEnd = i + 4 + u16(body, i + 2);
    if (keyEnd === i + 4 || keyEnd > end) return null;
    groups.push(u16(body, i));
    i = keyEnd;
  }
  return groups;
}
