/**
 * A push parser for one direction of a TCP stream carrying TLS: it reads the records (RFC 8446
 * §5.1), reassembles the handshake messages they carry, and hands the ClientHello, ServerHello
 * and Certificate to its handlers, until the rest of the stream is encrypted.
 *
 * A handshake message may span records and several may share one (RFC 8446 §5.1), and either
 * may be cut anywhere by TCP. A message that arrives whole in one chunk is parsed from the
 * chunk's bytes; only one split across chunks is copied, into a buffer of its declared length,
 * which maxHandshakeBytes bounds. Messages that are not parsed are skipped without a copy.
 *
 * `buffered` is what the engine holds back for: the bytes fed that belong to a record or
 * message not judged yet. A rule refusing a ClientHello thus refuses it before any of its
 * bytes, its record header included, reaches the server.
 *
 * Where the reader stops (`done`), after which it ignores what it is fed:
 *  - a ChangeCipherSpec: what follows is encrypted (TLS 1.2), except the dummy one TLS 1.3's
 *    middlebox compatibility mode sends (RFC 8446 D.4) after a HelloRetryRequest, or from a
 *    client between its ClientHello and a second one;
 *  - application data, an alert, or a TLS 1.3 ServerHello (the rest of the handshake is
 *    encrypted, RFC 8446 §2);
 *  - the anomalies that say so (anomalies.ts), and end().
 * A client's second ClientHello after its dummy ChangeCipherSpec is read when it fills one record
 * exactly, as every stack sends it: what follows that CCS is otherwise taken as encrypted.
 */
import { u16 } from '../bytes.ts';
import type { TlsAnomalyKind } from './anomalies.ts';
import { derSequenceError, parseCertificate, type TlsCertificateChain } from './certificate.ts';
import { parseClientHello, type ClientHello } from './client-hello.ts';
import { HANDSHAKE_CERTIFICATE, HANDSHAKE_CLIENT_HELLO, HANDSHAKE_HEADER_LENGTH, HANDSHAKE_SERVER_HELLO, u24 } from './handshake.ts';
import { TLS_1_3 } from './names.ts';
import {
  CONTENT_ALERT,
  CONTENT_APPLICATION_DATA,
  CONTENT_CHANGE_CIPHER_SPEC,
  CONTENT_HANDSHAKE,
  CONTENT_HEARTBEAT,
  isContentType,
  isRecordVersion,
  MAX_PLAINTEXT_LENGTH,
  RECORD_HEADER_LENGTH,
} from './record.ts';
import { parseServerHello, type ServerHello } from './server-hello.ts';

/** What a TlsReader reports, in stream order. Each is called once the whole message is read. */
export interface TlsHandlers {
  clientHello(hello: ClientHello): void;
  serverHello(hello: ServerHello): void;
  /** A TLS 1.2 Certificate message, the server's or a client's (mutual TLS). */
  certificate(chain: TlsCertificateChain): void;
  /** Reported before the hello it concerns, if any; see anomalies.ts for each kind. */
  anomaly(kind: TlsAnomalyKind, detail: string): void;
}

export interface TlsReaderLimits {
  /**
   * The most bytes held for one handshake message the reader parses (hello, Certificate), its
   * header and the record headers it spans included; over it, 'handshake-too-large' ends the
   * reader. Messages it skips are not held. Default 64 KiB.
   */
  maxHandshakeBytes?: number;
}

export const DEFAULT_MAX_HANDSHAKE_BYTES = 64 * 1024;

/** Where the handshake layer is, whatever the record boundaries. */
const enum Message {
  /** Between messages, or inside a message header (`#headerHave` bytes of it read). */
  Header,
  /** Inside the body of a message copied for parsing. */
  Body,
  /** Inside the body of a message not parsed. */
  Skip,
}

export class TlsReader {
  readonly #fromClient: boolean;
  readonly #handlers: TlsHandlers;
  readonly #max: number;
  #done = false;
  /** Stream bytes fed, and the offset up to which they are judged: `buffered` is the difference. */
  #fed = 0;
  #judged = 0;

  /** The record header being read (RECORD_HEADER_LENGTH bytes), and how much of it is there. */
  readonly #record = Buffer.alloc(RECORD_HEADER_LENGTH);
  #recordHave = 0;
  #records = 0;
  #recordType = 0;
  #recordLength = 0;
  /** Body bytes of the current record not read yet; 0 while a record header is read. */
  #recordLeft = 0;

  #message = Message.Header;
  readonly #header = Buffer.alloc(HANDSHAKE_HEADER_LENGTH);
  #headerHave = 0;
  #messageType = 0;
  /** The copy of a message split across chunks, filled up to #bodyHave; or the bytes left to skip. */
  #body: Buffer | null = null;
  #bodyHave = 0;
  #skipLeft = 0;

  /** Handshake messages started in this direction. */
  #messages = 0;
  /** Server: a HelloRetryRequest came, the second ServerHello has not. */
  #retrying = false;
  /** Client: the last message was a ClientHello offering TLS 1.3, so a compatibility CCS may follow. */
  #ccsMayFollow = false;
  /** The one dummy CCS a direction may send (RFC 8446 D.4) is behind: the next one is real. */
  #ccsSkipped = false;
  /** Client: the next handshake record follows a compatibility CCS: a second ClientHello, or encrypted. */
  #afterCcs = false;

  constructor(fromClient: boolean, handlers: TlsHandlers, limits: TlsReaderLimits = {}) {
    this.#fromClient = fromClient;
    this.#handlers = handlers;
    this.#max = limits.maxHandshakeBytes ?? DEFAULT_MAX_HANDSHAKE_BYTES;
  }

  /** Bytes fed that are part of a record or handshake message not judged yet; 0 once done. */
  get buffered(): number {
    return this.#done ? 0 : this.#fed - this.#judged;
  }

  /** Parsing has ended: the rest of the stream is encrypted, or not to be read. */
  get done(): boolean {
    return this.#done;
  }

  /** The next bytes of the stream, in order. `chunk` is read during the call only. */
  feed(chunk: Buffer): void {
    if (this.#done) return;
    const base = this.#fed;
    const n = chunk.length;
    this.#fed += n;
    let i = 0;
    // The steps end the reader (#finish) as they go: TypeScript does not see #done change in a call.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    while (i < n && !this.#done) {
      if (this.#recordLeft === 0) i = this.#readRecordHeader(chunk, i);
      else if (this.#recordType === CONTENT_HANDSHAKE) i = this.#readHandshake(chunk, i, Math.min(n, i + this.#recordLeft), base);
      else {
        // A compatibility ChangeCipherSpec's body, skipped.
        const take = Math.min(n - i, this.#recordLeft);
        i += take;
        this.#recordLeft -= take;
        this.#judged = base + i;
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (!this.#done && base + i - this.#judged > this.#max) {
        this.#fail('handshake-too-large', `${base + i - this.#judged} bytes held for one handshake message (maxHandshakeBytes ${this.#max})`);
      }
    }
  }

  /**
   * The stream ended; `truncated`: by a gap or a cut rather than a close. A hello still
   * incomplete is reported as 'truncated-hello' either way.
   */
  end(truncated: boolean): void {
    if (this.#done) return;
    const pending = this.#fed - this.#judged;
    const helloType = this.#fromClient ? HANDSHAKE_CLIENT_HELLO : HANDSHAKE_SERVER_HELLO;
    const inHello = this.#message === Message.Body ? this.#messageType === helloType : this.#messages === 0 || this.#retrying;
    if (pending > 0 && inHello) {
      const hello = this.#fromClient ? 'ClientHello' : 'ServerHello';
      this.#fail('truncated-hello', `${pending} bytes of a ${hello} read when the stream ${truncated ? 'was cut' : 'closed'}`);
    }
    this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.#body = null;
  }

  #fail(kind: TlsAnomalyKind, detail: string): void {
    this.#finish();
    this.#handlers.anomaly(kind, detail);
  }

  /** Reads record header bytes, judging each as it comes: a stream that is no TLS is told at its first byte. */
  #readRecordHeader(chunk: Buffer, i: number): number {
    const take = Math.min(RECORD_HEADER_LENGTH - this.#recordHave, chunk.length - i);
    chunk.copy(this.#record, this.#recordHave, i, i + take);
    const from = this.#recordHave;
    this.#recordHave += take;
    for (let k = from; k < this.#recordHave && k < 3; k++) if (!this.#headerByteOk(k)) return i + take;
    if (this.#recordHave < RECORD_HEADER_LENGTH) return i + take;
    this.#recordHave = 0;
    this.#records++;
    this.#onRecord(this.#record[0] as number, u16(this.#record, 3));
    return i + take;
  }

  /** Byte k (0..2) of the record header; false when it ended the reader. */
  #headerByteOk(k: number): boolean {
    const h = this.#record;
    const first = this.#records === 0;
    const sslv2 = first && ((h[0] as number) & 0x80) !== 0;
    if (k === 0) {
      if (sslv2 || isContentType(h[0] as number)) return true;
      this.#fail(first ? 'not-tls' : 'malformed-record', `record type ${h[0]}`);
      return false;
    }
    if (sslv2) {
      // SSLv2's two-byte record length with the high bit set, then msg_type 1 (RFC 5246 Appendix E.2).
      if (k === 1) return true;
      if (h[2] === HANDSHAKE_CLIENT_HELLO) this.#fail('sslv2-hello', `SSLv2 record of ${(((h[0] as number) & 0x7f) << 8) | (h[1] as number)} bytes`);
      else this.#fail('not-tls', `first byte 0x${(h[0] as number).toString(16)}`);
      return false;
    }
    // The version, byte by byte: a major of 3, then a minor TLS can have.
    const ok = k === 1 ? h[1] === 3 : isRecordVersion(h[1] as number, h[2] as number);
    if (!ok) this.#fail(first ? 'not-tls' : 'malformed-record', k === 1 ? `record version major ${h[1]}` : `record version ${h[1]}.${h[2]}`);
    return ok;
  }

  #onRecord(type: number, length: number): void {
    // Handshake messages MUST NOT be interleaved with other record types (RFC 8446 §5.1).
    const midMessage = this.#message === Message.Body || this.#message === Message.Skip || this.#headerHave > 0;
    if (type !== CONTENT_HANDSHAKE && midMessage) {
      this.#fail('malformed-record', `record type ${type} inside a handshake message`);
      return;
    }
    switch (type) {
      case CONTENT_HANDSHAKE:
        // Zero-length handshake fragments are forbidden (RFC 8446 §5.1, RFC 5246 §6.2.1).
        if (length === 0 || length > MAX_PLAINTEXT_LENGTH) {
          this.#fail('malformed-record', `handshake record of ${length} bytes`);
          return;
        }
        if (this.#afterCcs && length < HANDSHAKE_HEADER_LENGTH) {
          this.#finish(); // encrypted: no second ClientHello is that short
          return;
        }
        this.#recordType = type;
        this.#recordLength = length;
        this.#recordLeft = length;
        return;
      case CONTENT_CHANGE_CIPHER_SPEC:
        if (this.#messages === 0) {
          this.#fail('unexpected-record', 'ChangeCipherSpec before any hello');
          return;
        }
        if (!this.#ccsSkipped && (this.#fromClient ? this.#ccsMayFollow : this.#retrying)) {
          // RFC 8446 D.4's dummy ChangeCipherSpec: the handshake goes on in clear.
          this.#ccsSkipped = true;
          this.#afterCcs = this.#fromClient;
          this.#recordType = type;
          this.#recordLength = length;
          this.#recordLeft = length;
          return;
        }
        this.#finish();
        return;
      case CONTENT_APPLICATION_DATA:
        if (this.#messages === 0) this.#fail('unexpected-record', 'application data before any hello');
        else this.#finish();
        return;
      case CONTENT_ALERT:
        this.#finish();
        return;
      case CONTENT_HEARTBEAT:
        this.#fail('unexpected-record', 'heartbeat record in clear');
        return;
    }
  }

  /** Reads handshake bytes of the current record, chunk[i..end). */
  #readHandshake(chunk: Buffer, i: number, end: number, base: number): number {
    while (i < end && !this.#done) {
      if (this.#message === Message.Header) {
        const take = Math.min(HANDSHAKE_HEADER_LENGTH - this.#headerHave, end - i);
        chunk.copy(this.#header, this.#headerHave, i, i + take);
        this.#headerHave += take;
        this.#recordLeft -= take;
        i += take;
        if (this.#headerHave < HANDSHAKE_HEADER_LENGTH) return i;
        this.#headerHave = 0;
        i = this.#onMessageHeader(chunk, i, end, base, this.#header[0] as number, u24(this.#header, 1));
      } else if (this.#message === Message.Body) {
        const body = this.#body as Buffer;
        const take = Math.min(body.length - this.#bodyHave, end - i);
        chunk.copy(body, this.#bodyHave, i, i + take);
        this.#bodyHave += take;
        this.#recordLeft -= take;
        i += take;
        if (this.#bodyHave < body.length) return i;
        this.#message = Message.Header;
        this.#body = null;
        this.#judged = base + i;
        this.#onMessage(this.#messageType, body);
      } else {
        const take = Math.min(this.#skipLeft, end - i);
        this.#skipLeft -= take;
        this.#recordLeft -= take;
        i += take;
        this.#judged = base + i;
        if (this.#skipLeft === 0) this.#message = Message.Header;
      }
    }
    return i;
  }

  /** A message header is read; its body starts at chunk[i]. Returns where reading goes on. */
  #onMessageHeader(chunk: Buffer, i: number, end: number, base: number, type: number, length: number): number {
    if (this.#afterCcs) {
      this.#afterCcs = false;
      // After the dummy CCS comes either a second ClientHello in clear, whole in its record, or
      // an encrypted Finished (a TLS 1.2 resumption) that no more than chance makes look like one.
      if (type !== HANDSHAKE_CLIENT_HELLO || length + HANDSHAKE_HEADER_LENGTH !== this.#recordLength) {
        this.#finish();
        return end;
      }
    }
    const side = this.#fromClient ? 'client' : 'server';
    const hello = this.#fromClient ? HANDSHAKE_CLIENT_HELLO : HANDSHAKE_SERVER_HELLO;
    if (type === (this.#fromClient ? HANDSHAKE_SERVER_HELLO : HANDSHAKE_CLIENT_HELLO)) {
      this.#fail('unexpected-message', `${type === HANDSHAKE_CLIENT_HELLO ? 'ClientHello' : 'ServerHello'} from the ${side}`);
      return end;
    }
    if ((this.#messages === 0 || this.#retrying) && type !== hello) {
      this.#fail('unexpected-message', `handshake message type ${type} where the ${side}'s hello should be`);
      return end;
    }
    this.#messages++;
    this.#ccsMayFollow = false;
    if (type !== hello && type !== HANDSHAKE_CERTIFICATE) {
      this.#skipLeft = length;
      this.#message = length === 0 ? Message.Header : Message.Skip;
      this.#judged = base + i;
      return i;
    }
    if (length + HANDSHAKE_HEADER_LENGTH > this.#max) {
      this.#fail('handshake-too-large', `handshake message type ${type} of ${length} bytes (maxHandshakeBytes ${this.#max})`);
      return end;
    }
    this.#messageType = type;
    if (end - i >= length) {
      // Whole in this chunk: parsed from its bytes, no copy.
      const body = chunk.subarray(i, i + length);
      this.#recordLeft -= length;
      this.#judged = base + i + length;
      this.#onMessage(type, body);
      return i + length;
    }
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyHave = 0;
    this.#message = Message.Body;
    return i;
  }

  #onMessage(type: number, body: Buffer): void {
    if (type === HANDSHAKE_CLIENT_HELLO) this.#onClientHello(body);
    else if (type === HANDSHAKE_SERVER_HELLO) this.#onServerHello(body);
    else this.#onCertificate(body);
  }

  #onClientHello(body: Buffer): void {
    const hello = parseClientHello(body);
    if (typeof hello === 'string') {
      this.#fail('malformed-hello', `ClientHello: ${hello}`);
      return;
    }
    this.#ccsMayFollow = !this.#ccsSkipped && hello.supportedVersions.includes(TLS_1_3);
    for (const a of hello.anomalies) this.#handlers.anomaly(a.kind, `ClientHello: ${a.detail}`);
    this.#handlers.clientHello(hello);
  }

  #onServerHello(body: Buffer): void {
    const hello = parseServerHello(body);
    if (typeof hello === 'string') {
      this.#fail('malformed-hello', `ServerHello: ${hello}`);
      return;
    }
    if (hello.helloRetryRequest && this.#retrying) {
      this.#fail('unexpected-message', 'a second HelloRetryRequest');
      return;
    }
    this.#retrying = hello.helloRetryRequest;
    // After a TLS 1.3 ServerHello the rest of the handshake is encrypted (RFC 8446 §2).
    if (!hello.helloRetryRequest && hello.versionNumber === TLS_1_3) this.#finish();
    for (const a of hello.anomalies) this.#handlers.anomaly(a.kind, `ServerHello: ${a.detail}`);
    this.#handlers.serverHello(hello);
  }

  #onCertificate(body: Buffer): void {
    const chain = parseCertificate(body);
    if (typeof chain === 'string') {
      this.#fail('malformed-certificate', chain);
      return;
    }
    chain.certificates.forEach((c, n) => {
      const error = derSequenceError(c.der);
      if (error !== null) this.#handlers.anomaly('bad-certificate', `certificate ${n + 1}: ${error}`);
    });
    this.#handlers.certificate(chain);
  }
}
