/**
 * JA4, FoxIO's TLS client fingerprint, for TLS over TCP (github.com/FoxIO-LLC/ja4,
 * technical_details/JA4.md): `t13d1516h2_8daaf6152771_e5627efa2ab1`, that is
 *
 *   a: 't', the version (13, 12 … s3, 00 unknown), 'd' with an SNI extension or 'i' without,
 *      the number of cipher suites and of extensions (two digits, at most 99), and the first
 *      and last characters of the first ALPN protocol ('00' without one);
 *   b: the first 12 hex digits of the SHA-256 of the cipher suites, as 4-digit hex, sorted,
 *      joined by ',' ('000000000000' when there are none);
 *   c: the same over the extension types sorted, SNI (0000) and ALPN (0010) left out, then
 *      '_' and the signature algorithms in the order sent (no '_' without any).
 *
 * GREASE values are ignored everywhere, as the specification says: FoxIO's own tools drop them
 * from the cipher and extension lists only, which differs only for a GREASE signature algorithm
 * or ALPN protocol, values no stack sends. The ALPN rule is the current one: a first or last
 * byte that is not ASCII alphanumeric gives the first and last digits of the protocol's hex.
 */
import { createHash } from 'node:crypto';
import { isGrease } from './grease.ts';
import { EXT_ALPN, EXT_SERVER_NAME, type TlsExtension } from './extensions.ts';

export interface Ja4Input {
  /** The highest version offered (supported_versions, else legacy_version). */
  versionNumber: number;
  /** GREASE already left out. */
  cipherSuites: readonly number[];
  extensions: readonly TlsExtension[];
  /** GREASE already left out. */
  alpn: readonly string[];
  /** GREASE already left out. */
  signatureAlgorithms: readonly number[];
}

const VERSIONS = new Map<number, string>([
  [0x0304, '13'],
  [0x0303, '12'],
  [0x0302, '11'],
  [0x0301, '10'],
  [0x0300, 's3'],
  [0x0002, 's2'],
  [0xfeff, 'd1'],
  [0xfefd, 'd2'],
  [0xfefc, 'd3'],
]);

const NONE = '000000000000';

export function ja4(hello: Ja4Input): string {
  const types = hello.extensions.map((e) => e.type).filter((t) => !isGrease(t));
  const a =
    't' +
    (VERSIONS.get(hello.versionNumber) ?? '00') +
    (types.includes(EXT_SERVER_NAME) ? 'd' : 'i') +
    count(hello.cipherSuites.length) +
    count(types.length) +
    alpnChars(hello.alpn[0]);
  const ciphers = hello.cipherSuites.map(hex4).sort();
  const sorted = types.filter((t) => t !== EXT_SERVER_NAME && t !== EXT_ALPN).map(hex4).sort();
  const sigs = hello.signatureAlgorithms.map(hex4);
  const c = sorted.length === 0 ? NONE : sha12(sorted.join(',') + (sigs.length === 0 ? '' : '_' + sigs.join(',')));
  return `${a}_${ciphers.length === 0 ? NONE : sha12(ciphers.join(','))}_${c}`;
}

/** The first and last characters of the first ALPN protocol (a one-byte protocol gives its byte twice). */
export function alpnChars(protocol: string | undefined): string {
  if (protocol === undefined || protocol === '') return '00';
  const first = protocol.charCodeAt(0);
  const last = protocol.charCodeAt(protocol.length - 1);
  if (isAlphanumeric(first) && isAlphanumeric(last)) return String.fromCharCode(first, last);
  const hex = Buffer.from(protocol, 'latin1').toString('hex');
  return (hex[0] as string) + (hex[hex.length - 1] as string);
}

function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function count(n: number): string {
  return String(Math.min(n, 99)).padStart(2, '0');
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

function sha12(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
