/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by its length, two
 * bytes, big-endian. A DnsTcpReader reads one direction of a connection as it is fed and hands
 * each whole message to its handler, still unparsed (parseDnsMessage reads it).
 *
 * A message that arrives whole in one chunk is handed as a view of that chunk; only one split
 * across chunks is copied, into a buffer of its declared length. The two-byte prefix is the only
 * bound a message needs: 65535 bytes, the most held for one direction. A reader never throws;
 * what the stream does wrong is reported to `anomaly`.
 *
 * `buffered` is what the engine holds back for: the bytes fed that belong to a message not
 * complete yet, its prefix included. A rule refusing a query thus refuses it before any of its
 * bytes reach the server.
 */
import type { DnsAnomalyKind } from './anomalies.ts';

/** What a DnsTcpReader reports, in stream order. */
export interface DnsTcpHandlers {
  /**
   * One message, without its prefix: a view valid only during the call (of the chunk fed, or of
   * the reader's copy). `at` is the stream offset of its prefix, counting from the first byte fed.
   */
  message(bytes: Buffer, at: number): void;
  /** 'incomplete-tcp-message' (anomalies.ts), with what was seen. */
  anomaly(kind: DnsAnomalyKind, detail: string): void;
}

/** Where the reader is in the current message. */
const enum State {
  /** Between messages, or after the first byte of a prefix (`#high` holds it). */
  Prefix,
  /** Inside a message split across chunks, copied into `#body`. */
  Body,
}

const PREFIX_LENGTH = 2;

export class DnsTcpReader {
  readonly #handlers: DnsTcpHandlers;
  #state = State.Prefix;
  #ended = false;
  /** Stream bytes fed so far. */
  #fed = 0;
  /** Stream offset of the prefix of the message being read; `#fed` between messages. */
  #start = 0;
  /** The prefix's first byte, when a chunk ended after it; -1 otherwise. */
  #high = -1;
  #body: Buffer | null = null;
  #have = 0;

  constructor(handlers: DnsTcpHandlers) {
    this.#handlers = handlers;
  }

  /** Bytes fed that belong to a message not complete yet, its prefix included; 0 once ended. */
  get buffered(): number {
    return this.#ended ? 0 : this.#fed - this.#start;
  }

  /**
   * The next bytes of the stream, in order; `chunk` is read during the call only. A handler that
   * throws leaves the rest of the chunk unread.
   */
  feed(chunk: Buffer): void {
    if (this.#ended) return;
    const base = this.#fed;
    const n = chunk.length;
    this.#fed += n;
    let i = 0;
    while (i < n) {
      if (this.#state === State.Body) {
        i = this.#copy(chunk, i, base);
        continue;
      }
      if (this.#high >= 0) {
        // The prefix's second byte.
        const length = (this.#high << 8) | (chunk[i] as number);
        this.#high = -1;
        i++;
        this.#begin(length, base + i);
        continue;
      }
      if (n - i < PREFIX_LENGTH) {
        this.#start = base + i;
        this.#high = chunk[i] as number;
        i++;
        continue;
      }
      const length = ((chunk[i] as number) << 8) | (chunk[i + 1] as number);
      const from = i + PREFIX_LENGTH;
      if (n - from >= length) {
        // Whole in this chunk: a view, no copy.
        i = from + length;
        this.#start = base + i;
        this.#handlers.message(chunk.subarray(from, i), base + from - PREFIX_LENGTH);
        continue;
      }
      this.#start = base + i;
      i = from;
      this.#begin(length, base + i);
    }
  }

  /**
   * The stream ended; `truncated`: by a gap or a cut rather than a close. A message still
   * incomplete is reported as 'incomplete-tcp-message' either way, and never delivered.
   */
  end(truncated: boolean): void {
    if (this.#ended) return;
    const pending = this.#fed - this.#start;
    this.#ended = true;
    if (pending > 0) {
      const of = this.#body === null ? 'a length prefix' : `a message of ${this.#body.length} bytes`;
      this.#body = null;
      this.#handlers.anomaly('incomplete-tcp-message', `${pending} bytes of ${of} at ${this.#start} when the stream ${truncated ? 'was cut' : 'closed'}`);
    }
  }

  /** A prefix was read whole, the message's first byte at stream offset `next`: copies from here on. */
  #begin(length: number, next: number): void {
    if (length === 0) {
      this.#start = next;
      this.#handlers.message(Buffer.alloc(0), next - PREFIX_LENGTH);
      return;
    }
    this.#state = State.Body;
    this.#body = Buffer.allocUnsafe(length);
    this.#have = 0;
  }

  #copy(chunk: Buffer, i: number, base: number): number {
    const body = this.#body as Buffer;
    const take = Math.min(chunk.length - i, body.length - this.#have);
    chunk.copy(body, this.#have, i, i + take);
    this.#have += take;
    i += take;
    if (this.#have === body.length) {
      const at = this.#start;
      this.#state = State.Prefix;
      this.#body = null;
      this.#start = base + i;
      this.#handlers.message(body, at);
    }
    return i;
  }
}
