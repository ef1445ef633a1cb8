/**
 * The Certificate handshake message of TLS 1.2 and earlier (RFC 5246 §7.4.2, §7.4.6), the last
 * that travels in clear: TLS 1.3 encrypts it. Each certificate keeps its DER, copied; its fields
 * are decoded by @peculiar/x509 when a rule first reads one, never on the packet path.
 */
import { createHash } from 'node:crypto';
import type { X509Certificate } from '@peculiar/x509';
import { u24 } from './handshake.ts';
import { rfc4514, x509 } from './x509.ts';

export interface TlsCertificateChain {
  /** As sent: the peer's own certificate first (RFC 5246 §7.4.2). Empty from a client with none to offer (§7.4.6). */
  certificates: TlsCertificate[];
}

/** One certificate. A field of one that does not decode is null (sans: []); `error` says why. */
export class TlsCertificate {
  /** The certificate's DER: a copy, the rule's to keep. */
  readonly der: Buffer;
  #decoded: X509Certificate | null | undefined = undefined;
  #error: string | null;
  #fingerprint: string | undefined = undefined;

  constructor(der: Buffer) {
    this.der = der;
    this.#error = derSequenceError(der);
  }

  /** Why the certificate does not decode as X.509, or null; reading it decodes the certificate. */
  get error(): string | null {
    this.#decode();
    return this.#error;
  }
  /** RFC 4514 (`CN=example.com,O=Example,C=FR`), attribute types as @peculiar/x509 names them. */
  get subject(): string | null {
    const c = this.#decode();
    return c === null ? null : rfc4514(c.subject);
  }
  get issuer(): string | null {
    const c = this.#decode();
    return c === null ? null : rfc4514(c.issuer);
  }
  /** The subjectAltName's DNS names and IP addresses, in order ([] without the extension). */
  get sans(): string[] {
    const c = this.#decode();
    if (c === null) return [];
    const lib = x509();
    // An otherName of a type @peculiar/x509 does not know makes it throw: then no SANs are read.
    try {
      const ext = c.getExtension(lib.SubjectAlternativeNameExtension);
      return ext === null ? [] : ext.names.items.filter((n) => n.type === 'dns' || n.type === 'ip').map((n) => n.value);
    } catch (e) {
      this.#error = `subjectAltName: ${(e as Error).message}`;
      return [];
    }
  }
  get notBefore(): Date | null {
    return this.#decode()?.notBefore ?? null;
  }
  get notAfter(): Date | null {
    return this.#decode()?.notAfter ?? null;
  }
  /** Lower-case hex, as DER has it. */
  get serialNumber(): string | null {
    return this.#decode()?.serialNumber ?? null;
  }
  /** SHA-256 of the DER, lower-case hex: known even for a certificate that does not decode. */
  get fingerprintSha256(): string {
    return (this.#fingerprint ??= createHash('sha256').update(this.der).digest('hex'));
  }

  #decode(): X509Certificate | null {
    if (this.#decoded !== undefined) return this.#decoded;
    this.#decoded = null;
    if (this.#error !== null) return null;
    // The library's boundary: it throws on what it cannot decode, and that is a field's error here.
    try {
      this.#decoded = new (x509().X509Certificate)(this.der);
    } catch (e) {
      this.#error = (e as Error).message;
    }
    return this.#decoded;
  }
}

/**
 * Parses a Certificate body: `opaque ASN.1Cert<1..2^24-1>; ASN.1Cert certificate_list<0..2^24-1>`
 * (RFC 5246 §7.4.2). A string says why the list is malformed.
 */
export function parseCertificate(body: Buffer): TlsCertificateChain | string {
  const end = body.length;
  if (end < 3) return `${end} bytes: too short for the certificate_list length`;
  const listEnd = 3 + u24(body, 0);
  if (listEnd !== end) return listEnd > end ? `certificate_list overruns the message by ${listEnd - end} bytes` : `${end - listEnd} bytes after certificate_list`;
  const certificates: TlsCertificate[] = [];
  for (let i = 3; i < end; ) {
    if (i + 3 > end) return `certificate length cut short at byte ${i}`;
    const length = u24(body, i);
    if (length === 0 || i + 3 + length > end) return `certificate ${certificates.length + 1} of ${length} bytes at byte ${i}`;
    const der = Buffer.alloc(length);
    body.copy(der, 0, i + 3, i + 3 + length);
    certificates.push(new TlsCertificate(der));
    i += 3 + length;
  }
  return { certificates };
}

/**
 * Why `der` is not one DER SEQUENCE spanning all its bytes (X.509's outer Certificate, RFC 5280
 * §4.1), or null: the check the reader makes on the packet path, without decoding.
 */
export function derSequenceError(der: Buffer): string | null {
  if (der.length < 2 || der[0] !== 0x30) return `starts 0x${(der[0] ?? 0).toString(16).padStart(2, '0')}, not a DER SEQUENCE (0x30)`;
  const first = der[1] as number;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const bytes = first & 0x7f;
    // DER's long form: 1 to 3 length bytes here (a certificate is under 2^24 bytes), no leading zero.
    if (bytes === 0 || bytes > 3 || der.length < 2 + bytes || der[2] === 0) return `SEQUENCE length of ${bytes} bytes is no DER length`;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[2 + i] as number);
    if (length < 0x80) return `SEQUENCE length ${length} in long form (DER wants the short one)`;
    header = 2 + bytes;
  }
  return header + length === der.length ? null : `SEQUENCE of ${length} bytes in ${der.length - header}`;
}
