/**
 * A synchronous consumer of one direction's in-order bytes: a flow dissector in push mode
 * (design §3, "Streamed rules and flow dissectors"). It parses each chunk inside the packet that
 * brought it, with no await and no copy of the frame, and raises its events there; only while it
 * waits for the rest of something it must judge whole (an HTTP header section, a TLS hello) are
 * the packets that carried the start held back, so that a rule can refuse it before any of it
 * reaches the receiver.
 */

import type { TcpFlow } from './flow.ts';

export interface StreamParser {
  /** In-order bytes at stream offset `offset`; `chunk` is a view valid only during the call. */
  data(chunk: Buffer, offset: number): void;
  /** No more bytes: the connection ended, or (`truncated`) a gap or the hold cap cut the stream short. */
  end(truncated: boolean): void;
  /** Bytes given and not judged yet (the start of an incomplete header): their frames wait. */
  readonly buffered: number;
}

/**
 * Who runs the parsers (the engine's scheduler): while one runs its name is the running rule's
 * (its alerts and the flow actions it takes name it); one that throws is a rule error.
 */
export interface ParserHost {
  /** A parser starts running; returns what ran before it. */
  enter(name: string): string;
  leave(outer: string): void;
  failed(name: string, err: unknown, flow: TcpFlow): void;
}

/** One parser's place in a Hold: what it has judged, as a TcpStream's `committed`. */
export class ParserFeed {
  /** Stream offset before which the parser is done (Infinity once it ended or failed). */
  committed: number;
  readonly #parser: StreamParser;
  readonly #name: string;
  readonly #flow: TcpFlow;
  readonly #host: ParserHost;

  constructor(parser: StreamParser, name: string, flow: TcpFlow, host: ParserHost, offset: number) {
    this.#parser = parser;
    this.#name = name;
    this.#flow = flow;
    this.#host = host;
    this.committed = offset;
  }

  /** Gives the parser its bytes; what it has judged is then all but what it still buffers. */
  push(chunk: Buffer, offset: number): void {
    if (this.committed === Infinity) return;
    const host = this.#host;
    const outer = host.enter(this.#name);
    try {
      this.#parser.data(chunk, offset);
      this.committed = offset + chunk.length - this.#parser.buffered;
    } catch (err) {
      this.#fail(err);
    } finally {
      host.leave(outer);
    }
  }

  end(truncated: boolean): void {
    if (this.committed === Infinity) return;
    this.committed = Infinity;
    const host = this.#host;
    const outer = host.enter(this.#name);
    try {
      this.#parser.end(truncated);
    } catch (err) {
      this.#fail(err);
    } finally {
      host.leave(outer);
    }
  }

  /** The parser failed (it threw): it holds nothing back and gets no more bytes. */
  #fail(err: unknown): void {
    this.committed = Infinity;
    this.#host.failed(this.#name, err, this.#flow);
  }
}
