/**
 * A synchronous consumer of one direction's in-order bytes: a flow dissector in push mode
 * (design §3, "Streamed rules and flow dissectors"). It parses each chunk inside the packet that
 * brought it, with no await and no copy of the frame, and raises its events there; only while it
 * waits for the rest of something it must judge whole (an HTTP header section, a TLS hello) are
 * the packets that carried the start held back, so that a rule can refuse it before any of it
 * reaches the receiver.
 */

export interface StreamParser {
  /** In-order bytes at stream offset `offset`; `chunk` is a view valid only during the call. */
  data(chunk: Buffer, offset: number): void;
  /** No more bytes: the connection ended, or (`truncated`) a gap or the hold cap cut the stream short. */
  end(truncated: boolean): void;
  /** Bytes given and not judged yet (the start of an incomplete header): their frames wait. */
  readonly buffered: number;
}

/** One parser's place in a Hold: what it has judged, as a TcpStream's `committed`. */
export class ParserFeed {
  /** Stream offset before which the parser is done (Infinity once it ended or failed). */
  committed: number;
  readonly parser: StreamParser;

  constructor(parser: StreamParser, offset: number) {
    this.parser = parser;
    this.committed = offset;
  }

  /** Gives the parser its bytes; true when it judged bytes it had been holding back. */
  push(chunk: Buffer, offset: number): boolean {
    if (this.committed === Infinity) return false;
    const before = this.committed;
    this.parser.data(chunk, offset);
    if (this.committed === Infinity) return true;
    this.committed = offset + chunk.length - this.parser.buffered;
    return this.committed > before && before < offset;
  }

  end(truncated: boolean): void {
    if (this.committed === Infinity) return;
    this.committed = Infinity;
    this.parser.end(truncated);
  }

  /** The parser failed (it threw): it holds nothing back and gets no more bytes. */
  stop(): void {
    this.committed = Infinity;
  }
}
