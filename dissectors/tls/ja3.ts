/**
 * JA3 and JA3S, Salesforce's TLS fingerprints (github.com/salesforce/ja3): the hello's fields
 * as decimal numbers, each list joined by '-', the fields by ','; GREASE values (RFC 8701) are
 * left out, as JA3 does. The hash is the MD5 of that string, in lower-case hex.
 */
import { createHash } from 'node:crypto';
import { isGrease } from './grease.ts';
import type { TlsExtension } from './extensions.ts';

export interface Ja3Input {
  legacyVersion: number;
  /** GREASE already left out. */
  cipherSuites: readonly number[];
  extensions: readonly TlsExtension[];
  /** GREASE already left out. */
  supportedGroups: readonly number[];
  ecPointFormats: readonly number[];
}

/** SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats, e.g. `771,4865-4866,0-11-10,29-23,0`. */
export function ja3(hello: Ja3Input): string {
  return [
    hello.legacyVersion,
    hello.cipherSuites.join('-'),
    extensionTypes(hello.extensions),
    hello.supportedGroups.join('-'),
    hello.ecPointFormats.join('-'),
  ].join(',');
}

export interface Ja3sInput {
  legacyVersion: number;
  cipherSuite: number;
  extensions: readonly TlsExtension[];
}

/** SSLVersion,Cipher,Extensions of a ServerHello, e.g. `771,4866,43-51`. */
export function ja3s(hello: Ja3sInput): string {
  return `${hello.legacyVersion},${hello.cipherSuite},${extensionTypes(hello.extensions)}`;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function extensionTypes(extensions: readonly TlsExtension[]): string {
  let out = '';
  for (const e of extensions) {
    if (isGrease(e.type)) continue;
    out += out === '' ? `${e.type}` : `-${e.type}`;
  }
  return out;
}
