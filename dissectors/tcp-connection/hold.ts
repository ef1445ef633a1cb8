/**
 * Held packets of one direction of a connection (design §3, "Streamed rules"). While a streamed
 * consumer (a streamed rule or a flow dissector) has not finished with some bytes, the packets
 * that carried them wait here, in arrival order, and go out once every consumer of the direction
 * has read past them: inline they get their verdict then, in replay they reach the output then
 * (Haka's behaviour). A flow dropped or reset meanwhile drops them: the receiver never sees
 * bytes a rule had not cleared.
 */
import type { StreamOwner, TcpStream } from './stream.ts';
import type { ParserFeed } from './stream-parser.ts';
import type { TcpFlow } from './flow.ts';
import type { DropReason } from '../verdict.ts';

/** A copy of a frame kept past its push (held, or a fragment waiting for the rest). */
export interface KeptFrame {
  readonly id: number;
  readonly bytes: Buffer;
  readonly secs: number;
  readonly nsecs: number;
  readonly linkType: number;
  /** Where its IP header starts (the link dissector's offset), for crafting RSTs from it. */
  readonly linkOffset: number;
  /**
   * A segment that came in a fragmented IP datagram: the fragments' frames, which go (or are
   * dropped) together. `bytes` is then the last fragment's, with no TCP header.
   */
  readonly parts?: readonly KeptFrame[];
  /** Its bytes were rewritten (a normalised segment): they, not the original, must go out. */
  rewritten?: boolean;
  /** Its transport checksum was left unfinished (Packet.checksumPartial): an edit computes it whole. */
  checksumPartial?: boolean;
  /** Why it is dropped, once it is (its flow's reason). */
  reason?: DropReason;
}

/**
 * What a held frame costs beside its bytes: its record and the Buffer that copies them (measured
 * at about 460 B for tiny frames, Buffer pool slabs included, so a round figure below it); a
 * flood of one-byte segments held for a streamed rule is counted at what it holds.
 */
export const KEPT_FRAME_OVERHEAD = 256;

/** Bytes a held frame takes (all its fragments), each counted with its overhead. */
export function heldSize(frame: KeptFrame): number {
  if (frame.parts === undefined) return frame.bytes.length + KEPT_FRAME_OVERHEAD;
  let n = 0;
  for (const p of frame.parts) n += p.bytes.length + KEPT_FRAME_OVERHEAD;
  return n;
}

export interface QueuedFrame {
  readonly frame: KeptFrame;
  /** Stream offset just past the bytes it brought (0 when it brought none): released once every consumer committed that far. */
  readonly end: number;
  /** The sequence number after it (int32, SYN and FIN counted): what the receiver expects once it is forwarded. */
  readonly seqEnd: number;
}

/** What a Hold tells whoever keeps the frames (hold-keeper.ts). */
export interface HoldHost {
  /** Consumers committed: frames they are all done with may go. */
  release(hold: Hold): void;
  /** A consumer edits the held bytes from stream offset `at`. */
  edit(hold: Hold, at: number, erase: number, insert: Buffer): void;
}

/** What a gate holds (hold-keeper.ts): its place among the parsers, and the bytes, from `offset`. */
export interface HoldGate {
  readonly feed: ParserFeed;
  readonly chunks: readonly Buffer[];
  readonly offset: number;
}

export class Hold implements StreamOwner {
  readonly flow: TcpFlow;
  /** The direction it holds: client→server when true. */
  readonly fromClient: boolean;
  /** One per streamed consumer (streamed rule, flow dissector read with awaits), started at the direction's first data. */
  readonly streams: TcpStream[] = [];
  /** One per flow dissector in push mode (stream-parser.ts), fed inside the packet. */
  readonly parsers: ParserFeed[] = [];
  /** While protocol detection waits for more of the client's first bytes: the consumer that holds them (hold-keeper.ts). */
  gate: HoldGate | null = null;
  /** The dissectors reading this direction (opaque here, as TcpFlow.dissectors). */
  readonly readers: object[] = [];
  readonly queue: QueuedFrame[] = [];
  /** Bytes of the frames in `queue`. */
  bytes = 0;
  /** Stream offset the streams expect next: data at another offset means a gap. */
  next: number;
  /** False once cut (gap, hold cap, flow dropped): nothing more is held or streamed. */
  active = true;
  /** The latest frame held in this direction, kept as a template for RSTs sent outside a packet. */
  template: KeptFrame | null = null;
  readonly #host: HoldHost;

  constructor(host: HoldHost, flow: TcpFlow, fromClient: boolean, offset: number) {
    this.#host = host;
    this.flow = flow;
    this.fromClient = fromClient;
    this.next = offset;
  }

  /** The lowest position every consumer is done with. */
  get floor(): number {
    let c = Infinity;
    for (const s of this.streams) if (s.committed < c) c = s.committed;
    for (const p of this.parsers) if (p.committed < c) c = p.committed;
    return c;
  }

  committed(): void {
    this.#host.release(this);
  }

  edit(at: number, erase: number, insert: Buffer): void {
    this.#host.edit(this, at, erase, insert);
  }

  /** Consumers of either kind. */
  get consumers(): number {
    return this.streams.length + this.parsers.length;
  }

  /** Ends every stream: their consumers get the end of stream (truncated: cut short). */
  end(truncated: boolean): void {
    this.endParsers(truncated);
    for (const s of this.streams) s.end(truncated);
  }

  /** The push parsers get the end of the stream (before endConnection: what they raise at the end belongs to the connection). */
  endParsers(truncated: boolean): void {
    if (this.parsers.length === 0) return;
    for (const p of this.parsers) p.end(truncated);
    // What they were holding back (an incomplete head) is theirs no more.
    if (this.queue.length > 0) this.#host.release(this);
  }
}
