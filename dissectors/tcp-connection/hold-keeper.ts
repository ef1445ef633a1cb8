/**
 * Frames held for streamed consumers, every connection together (design §3, "Streamed rules"):
 * which frame of the packet being handled was held, the hold caps, and what leaves a hold. A
 * frame that leaves goes into the outbox (OUT_RELEASE, or OUT_DISCARD when its flow was dropped
 * or reset); the engine sends it through the same path as every other frame.
 */
import type { Turn } from '../turn.ts';
import type { Packet } from '../packet.ts';
import type { LinkLayer } from '../link.ts';
import type { TcpPacket } from '../tcp.ts';
import { TCP_FIN, TCP_SYN } from '../tcp-flags.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import { Hold, heldSize, type KeptFrame, type HoldHost } from './hold.ts';
import { OUT_DISCARD, OUT_INJECT, OUT_RELEASE, type Outbox } from '../flow/outbox.ts';
import type { Direction, Sender, TcpFlow } from './flow.ts';
import type { PolicedTcpAnomaly } from './anomalies.ts';
import { ParserFeed, type ParserHost, type StreamParser } from './stream-parser.ts';
import { rewriteError } from '../../core/errors.ts';
import { StreamEdits } from './stream-edits.ts';
import { editKept } from './edit-segments.ts';

/** What holding needs of the tracker: anomalies with their policies, and dropping a flow. */
export interface HoldKeeperTracker {
  anomaly(flow: TcpFlow, kind: PolicedTcpAnomaly, direction: Direction, packet?: TcpPacket): boolean;
  drop(flow: TcpFlow): void;
  /** The flow's bytes go to streamed consumers. */
  streamed(flow: TcpFlow): boolean;
}

/** Starts a direction's streamed consumers at its first byte (the engine's streamed rules and flow dissectors); `dissectorsOnly` on a hold already open. */
export type OpenStreams = (flow: TcpFlow, direction: Direction, hold: Hold, dissectorsOnly?: boolean) => void;

/**
 * Holds a client's first bytes while protocol detection cannot tell yet what they are: a
 * consumer that judges nothing, so that a request written a byte at a time waits whole for the
 * dissector detection turns on, and none of it reaches the server before a rule has seen it.
 */
class ProbeGate implements StreamParser {
  buffered = 0;
  /** The bytes held, copied: the dissectors turned on read them first. */
  readonly chunks: Buffer[] = [];
  data(chunk: Buffer): void {
    this.buffered += chunk.length;
    this.chunks.push(Buffer.from(chunk));
  }
  end(): void {
    this.buffered = 0;
  }
}

const NO_HOST: ParserHost = { enter: () => '', leave: () => undefined, failed: () => undefined };

export interface HoldCaps {
  /** Bytes one direction may hold. */
  maxBytes: number;
  /** Bytes every connection together may hold. */
  memcap: number;
}

/** What the receiver has been given now goes up to `end` (a RST must carry it, RFC 5961). */
export function forwarded(sender: Sender, end: number): void {
  if (!sender.forwarded || seqGt(end, sender.forwardedNxt)) sender.forwardedNxt = end;
  sender.forwarded = true;
}

/** The sequence number after a segment (int32): its bytes, and its SYN and FIN, counted. */
export function segmentEnd(tcp: TcpPacket): number {
  const f = tcp.flagsByte;
  return seqAdd32(tcp.seqRaw, tcp.payloadLength + ((f & TCP_SYN) !== 0 ? 1 : 0) + ((f & TCP_FIN) !== 0 ? 1 : 0));
}

export class HoldKeeper implements HoldHost {
  /** Bytes of held frames, every connection together. */
  bytes = 0;
  /** Holds with frames queued, for releaseAll(). */
  readonly #holding = new Set<Hold>();
  /** The current frame went into a hold queue (#heldIn's): its verdict waits. */
  #held: KeptFrame | null = null;
  #heldIn: Hold | null = null;
  /** The current frame's copy, once a stream needed its bytes to last or it was held. */
  #frameCopy: KeptFrame | null = null;
  readonly #packet: Packet;
  /** The engine's turn: a reassembled datagram's fragments (a segment of it is held as those frames, already copies), the trace. */
  readonly #turn: Turn;
  readonly #link: LinkLayer;
  readonly #caps: HoldCaps;
  readonly #out: Outbox;
  readonly #tracker: HoldKeeperTracker;
  readonly #openStreams: OpenStreams;
  /** False in monitor-only mode: everything is forwarded at once, nothing is held. */
  readonly #holdFrames: boolean;

  constructor(packet: Packet, turn: Turn, link: LinkLayer, caps: HoldCaps, out: Outbox, tracker: HoldKeeperTracker, openStreams: OpenStreams, holdFrames: boolean) {
    this.#turn = turn;
    this.#packet = packet;
    this.#link = link;
    this.#caps = caps;
    this.#out = out;
    this.#tracker = tracker;
    this.#openStreams = openStreams;
    this.#holdFrames = holdFrames;
  }

  /** A new packet: nothing of it is held or copied yet. */
  begin(): void {
    this.#held = null;
    this.#heldIn = null;
    this.#frameCopy = null;
  }

  /** The packet being handled was held (its frame's verdict waits). */
  get heldNow(): boolean {
    return this.#held !== null;
  }

  /**
   * After the engine's verdict on the frame: the frame the packet held, or null. When the engine
   * dropped it after all (a later rule), it leaves its queue. Either way no frame is current.
   */
  afterVerdict(accepted: boolean): KeptFrame | null {
    const h = this.#held;
    if (!accepted) this.cancel();
    this.begin();
    return h;
  }

  /** The current frame leaves the queue it went into last (nothing leaves a queue out of order while a packet is handled). */
  cancel(): void {
    const hold = this.#heldIn;
    const frame = this.#held;
    if (hold === null || frame === null) return;
    if (hold.queue[hold.queue.length - 1]?.frame === frame) {
      hold.queue.pop();
      this.#unaccount(hold, frame);
    }
    this.#held = null;
    this.#heldIn = null;
  }

  /**
   * Holds the current frame behind bytes a streamed consumer has not read: when it brought new
   * bytes (in order or not; `end` is the stream offset past them, 0 when none), or when frames of
   * its direction already wait (order is kept). Returns true when the hold cap's policy drops it.
   */
  hold(flow: TcpFlow, tcp: TcpPacket, hold: Hold, end: number, direction: Direction): boolean {
    // Nothing waits, and every consumer is done with its bytes (a push parser judged them in this packet).
    if (hold.queue.length === 0 && (end === 0 || end <= hold.floor)) return false;
    const frame = this.copyCurrent();
    // Monitor-only mode: nothing is held.
    if (frame === null) return false;
    const size = heldSize(frame);
    const caps = this.#caps;
    if (hold.bytes + size > caps.maxBytes || this.bytes + size > caps.memcap) {
      if (this.#tracker.anomaly(flow, 'hold-cap', direction, tcp)) {
        // The frame's bytes are in the streams already: dropping the frame alone would let its
        // retransmission pass unread. drop-packet fails closed like drop-flow.
        if (flow.verdict === 0) this.#tracker.drop(flow);
        return true;
      }
      // accept: what waits goes now, and this direction is streamed no further.
      this.cut(flow, hold, true);
      return false;
    }
    hold.queue.push({ frame, end, seqEnd: segmentEnd(tcp) });
    hold.bytes += size;
    this.bytes += size;
    // A RST is built behind a frame's link, IP and TCP headers: a fragment has no TCP header.
    if (frame.parts === undefined) hold.template = frame;
    this.#holding.add(hold);
    this.#held = frame;
    this.#heldIn = hold;
    return false;
  }

  /** The segment in hand came in a reassembled IP datagram (its frames cannot be rewritten). */
  get inDatagram(): boolean {
    return this.#turn.datagramFrames !== null;
  }

  /** A copy of the current frame, made once per packet; null when nothing is held (monitor only). */
  copyCurrent(): KeptFrame | null {
    if (this.#frameCopy !== null) return this.#frameCopy;
    if (!this.#holdFrames) return null;
    const pkt = this.#packet;
    const parts = this.#turn.datagramFrames;
    // A segment of a reassembled datagram: its fragments (copies already) are what waits.
    if (parts !== null) return (this.#frameCopy = { ...(parts[parts.length - 1] as KeptFrame), id: pkt.id, parts });
    const ts = pkt.timestamp;
    return (this.#frameCopy = { id: pkt.id, bytes: Buffer.from(pkt.bytes), secs: ts.secs, nsecs: ts.nsecs, linkType: pkt.linkType, linkOffset: this.#link.offset, rewritten: pkt.rewritten, checksumPartial: pkt.checksumPartial });
  }

  /** The current frame was rewritten in place (normalised): a copy made before says so (one made after takes packet.rewritten). */
  rewritten(): void {
    if (this.#frameCopy !== null) this.#frameCopy.rewritten = true;
  }

  /** Rules wrote the current frame (its fields, its checksums) after it was copied to be held: the copy takes the bytes that go out. */
  takeWrites(): void {
    const c = this.#frameCopy;
    if (c === null || c.parts !== undefined) return;
    const b = this.#packet.bytes;
    // A tracked segment's length cannot change (tcp.payload refuses it): the copy is as long.
    if (b.length === c.bytes.length) b.copy(c.bytes);
    c.rewritten = true;
  }

  /** Stops streaming a direction: its streams end (truncated: cut short), what it held goes. */
  cut(flow: TcpFlow, hold: Hold, truncated: boolean): void {
    hold.active = false;
    hold.end(truncated);
    this.#flush(flow, hold, flow.verdict === 0);
  }

  /** Drops what a dropped or reset flow holds and ends its streams (their consumers see the end). */
  dropAll(flow: TcpFlow): void {
    if (flow.up.hold !== null) this.cut(flow, flow.up.hold, false);
    if (flow.down.hold !== null) this.cut(flow, flow.down.hold, false);
  }

  /** Sends (or drops) every frame a direction holds, except the current one (the engine settles that). */
  #flush(flow: TcpFlow, hold: Hold, send: boolean): void {
    const q = hold.queue;
    while (q.length > 0) {
      const h = q.shift() as (typeof q)[number];
      this.#unaccount(hold, h.frame);
      if (h.frame === this.#held) {
        this.#held = null;
        this.#heldIn = null;
        continue;
      }
      if (send) {
        const sender = hold.fromClient ? flow.up : flow.down;
        forwarded(sender, h.seqEnd);
        this.#send(h.frame, sender, hold.fromClient ? flow.down : flow.up);
      } else {
        if (flow.reason !== null) h.frame.reason = flow.reason;
        this.#out.push(OUT_DISCARD, h.frame);
      }
    }
  }

  /** A held frame goes out: edited first when its direction's stream was, with the segments an insertion added after it. */
  #send(frame: KeptFrame, sender: Sender, receiver: Sender): void {
    if (sender.edits === null) {
      this.#out.push(OUT_RELEASE, frame);
      return;
    }
    const edited = editKept(frame, sender.edits, receiver.mss);
    this.#out.push(OUT_RELEASE, edited.frame);
    for (const bytes of edited.more) this.#out.push(OUT_INJECT, { bytes, linkType: frame.linkType });
  }

  #unaccount(hold: Hold, frame: KeptFrame): void {
    const size = heldSize(frame);
    hold.bytes -= size;
    this.bytes -= size;
    if (hold.queue.length === 0) this.#holding.delete(hold);
  }

  /**
   * Detection needs more of the client's first bytes: its direction is held from them (a gate
   * in the hold, opened for the streamed consumers already there, if any).
   */
  gate(flow: TcpFlow): void {
    if (!this.#holdFrames) return;
    let hold = flow.up.hold;
    if (hold === null) {
      // The client's stream from its first byte (detection sees only the segments that start it).
      hold = new Hold(this, flow, true, 0);
      flow.up.hold = hold;
      this.#openStreams(flow, 'up', hold);
      hold.active = true;
    }
    if (hold.gate !== null || !hold.active) return;
    const gate = new ProbeGate();
    const feed = new ParserFeed(gate, '', flow, NO_HOST, hold.next);
    hold.gate = { feed, chunks: gate.chunks, offset: hold.next };
    hold.parsers.push(feed);
  }

  /**
   * Detection has decided: the dissectors it turned on read the client's stream from its first
   * byte (`head`, the bytes held so far, at `offset`), and what waited for the decision goes on
   * to them, or out when none wants it.
   */
  decided(flow: TcpFlow, kept: Buffer | null): void {
    const hold = flow.up.hold;
    const gated = hold?.gate ?? null;
    if (hold === null || gated === null) {
      // Nothing was held (a first segment that told, or monitor only): the bytes detection kept, from the stream's start.
      if (kept !== null && this.#tracker.streamed(flow)) this.feed(flow, 'up', kept, 0);
      return;
    }
    hold.gate = null;
    hold.parsers.splice(hold.parsers.indexOf(gated.feed), 1);
    if (!hold.active) return;
    const head = gated.chunks.length === 0 ? null : Buffer.concat(gated.chunks);
    const offset = gated.offset;
    const before = hold.parsers.length;
    const next = hold.next;
    // New parsers start where the held bytes do, and read them first.
    hold.next = offset;
    this.#openStreams(flow, 'up', hold, true);
    hold.next = next;
    if (head !== null) for (let i = before; i < hold.parsers.length; i++) (hold.parsers[i] as ParserFeed).push(head, offset);
    if (hold.consumers === 0) hold.active = false;
    if (hold.queue.length > 0) this.release(hold);
  }

  /** In-order bytes for the streamed consumers of one direction (from the data sink). */
  feed(flow: TcpFlow, direction: Direction, chunk: Buffer, offset: number): void {
    const up = direction === 'up';
    const sender = up ? flow.up : flow.down;
    let hold = sender.hold;
    if (hold === null) {
      hold = new Hold(this, flow, up, offset);
      sender.hold = hold;
      this.#openStreams(flow, direction, hold);
      if (flow.verdict !== 0) return;
    }
    if (!hold.active) return;
    if (offset !== hold.next) {
      // A gap: a stream cannot jump over bytes nobody saw. Its consumers get an early end.
      this.cut(flow, hold, true);
      return;
    }
    hold.next = offset + chunk.length;
    if (hold.floor === Infinity) return;
    const trace = this.#turn.trace;
    if (trace !== null) trace.steps.push({ step: 'stream', direction, offset, length: chunk.length });
    // Push parsers first, on the frame's own bytes: their events are this packet's.
    const parsers = hold.parsers;
    if (parsers.length > 0) {
      for (const p of parsers) p.push(chunk, offset);
      // What waited for these bytes (held back by a parser, or out of order before them) and is now judged goes, before this frame.
      const q = hold.queue;
      if (q.length > 0 && (q[0] as (typeof q)[number]).end <= hold.floor) this.release(hold);
      if (flow.verdict !== 0 || hold.streams.length === 0) return;
    }
    const stable = this.#stable(chunk);
    const id = this.#packet.id;
    for (const s of hold.streams) {
      s.lastFrame = id;
      s.push(stable);
    }
  }

  /** `chunk` as bytes that last: a view of the current frame's copy, or the reassembler's own piece. */
  #stable(chunk: Buffer): Buffer {
    const b = this.#packet.bytes;
    const at = chunk.byteOffset - b.byteOffset;
    if (chunk.buffer !== b.buffer || at < 0 || at + chunk.length > b.length) return chunk;
    const frame = this.copyCurrent();
    return frame === null ? Buffer.from(chunk) : frame.bytes.subarray(at, at + chunk.length);
  }

  /** HoldHost: consumers of `hold` committed; the frames they are all done with go out, in order. */
  release(hold: Hold): void {
    const flow = hold.flow;
    if (flow.verdict !== 0) {
      this.#flush(flow, hold, false);
      return;
    }
    const floor = hold.floor;
    const q = hold.queue;
    const sender = hold.fromClient ? flow.up : flow.down;
    while (q.length > 0 && (q[0] as (typeof q)[number]).end <= floor) {
      const h = q.shift() as (typeof q)[number];
      this.#unaccount(hold, h.frame);
      // The receiver now expects what follows it.
      forwarded(sender, h.seqEnd);
      this.#send(h.frame, sender, hold.fromClient ? flow.down : flow.up);
    }
  }

  /** A flow dissector's edit of one direction (FlowDissectorHost.edit). */
  editFlow(flow: TcpFlow, direction: Direction, at: number, erase: number, insert: Buffer): void {
    const hold = direction === 'up' ? flow.up.hold : flow.down.hold;
    if (hold === null) throw rewriteError('edit', 'this direction of the connection is not read by a dissector: nothing of it is held to edit');
    this.edit(hold, at, erase, insert);
  }

  /** HoldHost: a streamed consumer edits the bytes it has not read, which are all still held. */
  edit(hold: Hold, at: number, erase: number, insert: Buffer): void {
    if (!this.#holdFrames) throw rewriteError('TcpStream', 'with --pass-through nothing is held, so nothing can be edited: streams are read-only (run without it to edit)');
    const flow = hold.flow;
    const sender = hold.fromClient ? flow.up : flow.down;
    const stream = sender.stream;
    if (flow.verdict !== 0 || !hold.active || stream === null) throw rewriteError('TcpStream', 'this direction is no longer held (its flow was dropped or cut): nothing can be edited');
    // Offset 0's sequence number, from where the reassembly is now.
    const edits = (sender.edits ??= new StreamEdits(seqAdd32(stream.next, -stream.delivered)));
    if (at < edits.end) throw rewriteError('TcpStream', `an edit at stream offset ${at} comes before one made already (to ${edits.end}): edits go forward`);
    // Bytes the receiver has been given already cannot be taken back.
    const sent = sender.forwarded ? seqDiff(sender.forwardedNxt, edits.base) : 0;
    if (at < sent) throw rewriteError('TcpStream', `stream offset ${at} has gone to the receiver already (it has ${sent} bytes): only bytes still held can be edited`);
    edits.add(at, erase, insert);
  }

  /** Streamed rules said they are done with what they read: release it (flow.send()). */
  send(flow: TcpFlow, direction?: Direction): void {
    for (const hold of [flow.up.hold, flow.down.hold]) {
      if (hold === null || (direction !== undefined && hold.fromClient !== (direction === 'up'))) continue;
      for (const s of hold.streams) s.commit();
      this.release(hold);
    }
  }

  /** Every frame held now, oldest first in each direction (a halted engine drops them where they are). */
  *frames(): IterableIterator<KeptFrame> {
    for (const hold of this.#holding) for (const h of hold.queue) yield h.frame;
  }

  /** End of input: frames still held (consumers that never finished) go out, or are dropped with their flow. */
  releaseAll(): void {
    for (const hold of [...this.#holding]) this.#flush(hold.flow, hold, hold.flow.verdict === 0);
  }
}
