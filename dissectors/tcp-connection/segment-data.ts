/**
 * A segment's bytes into its direction's stream: reassembly (reassembly.ts) with the receiver's
 * window, the anomalies it finds, gaps where the capture cut a segment or bytes acknowledged
 * before they were seen never came, and in-order bytes out as receiveData events and to the
 * direction's streamed consumers (hold-keeper.ts).
 *
 * An acknowledgment of bytes not seen yet is no gap at once: on taps, SPAN ports and
 * multi-queue captures a packet is often recorded after the one that acknowledges it (a reply
 * before its request; Suricata counts "ack of unseen data" and still reassembles). The bytes
 * are waited for; the hole becomes a gap when the sender goes on past it (a segment starting at
 * or after the acknowledged point) or the connection ends. Inline this never happens: a receiver
 * cannot acknowledge what the bridge did not forward, so the wait costs nothing there.
 */
import type { TcpPacket } from '../tcp.ts';
import { TCP_SYN } from '../tcp-flags.ts';
import type { EventSink } from '../flow/event-sink.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import { CONFLICT_REFUSE, CONFLICT_REWRITE, SEG_CONFLICT, SEG_DUPLICATE, SEG_MEMCAP, SEG_OUT_OF_WINDOW, type StreamSink } from './reassembly.ts';
import type { Direction, Sender, TcpFlow } from './flow.ts';
import { H_GAP, H_INCONSISTENT, H_RETRANS, history } from './history.ts';
import { tcpConnectionEvents as events } from './events.ts';
import type { HoldKeeper } from './hold-keeper.ts';
import type { SegmentTracker } from './track.ts';

/** What the data path needs of the tracker. */
export interface DataTracker extends SegmentTracker {
  /** This flow's bytes go to streamed consumers. */
  streamed(flow: TcpFlow): boolean;
}

/** Delivers reassembled bytes as receiveData events; one per tracker, re-aimed per segment. */
class DataSink implements StreamSink {
  flow: TcpFlow | null = null;
  direction: Direction = 'up';
  constructor(
    private readonly events: EventSink,
    private readonly tracker: DataTracker,
    private readonly holding: HoldKeeper,
  ) {}
  data(chunk: Buffer, offset: number): void {
    const flow = this.flow;
    if (flow === null || flow.verdict !== 0) return;
    this.events.emit(events.receiveData, flow, chunk, this.direction, offset);
    if (!flow.dropped && this.tracker.streamed(flow)) this.holding.feed(flow, this.direction, chunk, offset);
  }
}

export class SegmentData {
  /** Stream offset past the current segment's bytes when it brought new ones, else 0 (the tracker clears it per segment). */
  freshEnd = 0;
  readonly #sink: DataSink;
  readonly #tracker: DataTracker;
  readonly #holding: HoldKeeper;
  /** What a segment overlapping earlier bytes with other ones does (CONFLICT_*, by policy). */
  readonly #conflicts: number;

  constructor(events: EventSink, tracker: DataTracker, holding: HoldKeeper, conflicts: number) {
    this.#tracker = tracker;
    this.#holding = holding;
    this.#conflicts = conflicts;
    this.#sink = new DataSink(events, tracker, holding);
  }

  /** Feeds the segment's bytes to the sender's stream. Returns true to drop the packet. */
  reassemble(flow: TcpFlow, tcp: TcpPacket, sender: Sender, direction: Direction): boolean {
    const stream = sender.stream;
    if (stream === null || !stream.initialized) return false;
    const t = this.#tracker;
    let seq = tcp.seqRaw;
    if ((tcp.flagsByte & TCP_SYN) !== 0) seq = seqAdd32(seq, 1);
    const sink = this.#sink;
    sink.flow = flow;
    sink.direction = direction;
    // The sender went on past bytes acknowledged before they were seen: they never came.
    if (sender.ackedUnseen && !seqGt(sender.ackedUnseenTo, seq) && this.#giveUp(flow, sender, direction, tcp)) return true;
    const segEnd = stream.delivered + seqDiff(seq, stream.next) + tcp.payloadLength;
    const receiverWindow = flow.up === sender ? flow.down.window : flow.up.window;
    // RFC 9293 §3.10.7.4: a receiver whose window is zero takes no new byte: rules must not see
    // bytes the receiver will not, or be shown other ones later in their place. A window probe
    // (§3.8.6.1: one byte at the next sequence number) is normal, as Suricata treats it: not
    // reassembled, no anomaly; its byte comes again once the window opens.
    if (receiverWindow === 0 && tcp.payloadLength > 0 && seqGt(seqAdd32(seq, tcp.payloadLength), stream.next)) {
      if (tcp.payloadLength === 1 && seq === stream.next) return false;
      return t.anomaly(flow, 'out-of-window', direction, tcp);
    }
    // A segment of a reassembled IP datagram goes out as its fragments: it cannot be rewritten.
    let conflicts = this.#conflicts;
    const refused = conflicts === CONFLICT_REWRITE && this.#holding.inDatagram;
    if (refused) conflicts = CONFLICT_REFUSE;
    const r = stream.add(seq, tcp.payload, sink, Math.max(receiverWindow, 65535) * 64, conflicts);
    if (stream.lastNewBytes > 0) this.freshEnd = segEnd;
    // What was acknowledged unseen has come.
    if (sender.ackedUnseen && !seqGt(sender.ackedUnseenTo, stream.next)) sender.ackedUnseen = false;
    if (r === SEG_CONFLICT) {
      history(flow, sender, direction === 'up', H_INCONSISTENT);
      // Normalised: the overlapping bytes now are the first copy's; the checksum follows them.
      if (conflicts === CONFLICT_REWRITE) {
        tcp.rewritePayload();
        this.#holding.rewritten();
      }
      if (t.anomaly(flow, 'overlap-different-data', direction, tcp)) return true;
      // normalize could not rewrite it: dropped whole, as drop-packet does.
      if (refused) return true;
    } else if (r === SEG_MEMCAP) {
      if (t.anomaly(flow, 'reassembly-memcap', direction, tcp)) return true;
    } else if (r === SEG_DUPLICATE) {
      history(flow, sender, direction === 'up', H_RETRANS);
    } else if (r === SEG_OUT_OF_WINDOW) {
      // Far beyond what the receiver could accept: not buffered.
      if (t.anomaly(flow, 'out-of-window', direction, tcp)) return true;
    }
    // A capture cut (snaplen) leaves bytes we will never see: a gap, reported, never glued.
    const wire = tcp.ip.truncated ? wireLength(tcp) : 0;
    if (wire > tcp.payloadLength && seqGt(seqAdd32(seq, wire), stream.next)) {
      const skipped = stream.skipTo(seqAdd32(seq, wire), sink);
      if (skipped > 0) {
        history(flow, sender, direction === 'up', H_GAP);
        if (t.anomaly(flow, 'gap', direction, tcp)) return true;
      }
    }
    return false;
  }

  /**
   * `receiverSide`'s bytes were acknowledged up to tcp.ack: retained ones before it are released;
   * bytes acknowledged before they were seen are waited for (see the module's comment).
   */
  acknowledge(tcp: TcpPacket, receiverSide: Sender): void {
    const stream = receiverSide.stream;
    if (stream === null || !stream.initialized) return;
    let ack = tcp.ackRaw;
    // The FIN occupies a sequence number that carries no byte.
    if (receiverSide.finSeen && ack === seqAdd32(receiverSide.finSeq, 1)) ack = receiverSide.finSeq;
    if (seqGt(ack, stream.next) && seqDiff(ack, stream.next) < 1 << 30 && (!receiverSide.ackedUnseen || seqGt(ack, receiverSide.ackedUnseenTo))) {
      receiverSide.ackedUnseen = true;
      receiverSide.ackedUnseenTo = ack;
    }
    stream.acknowledge(ack);
  }

  /**
   * The connection ends: bytes acknowledged and never seen are a gap now, and what was buffered
   * past them reaches the rules.
   */
  giveUpUnseen(flow: TcpFlow): void {
    if (flow.up.ackedUnseen) this.#giveUp(flow, flow.up, 'up');
    if (flow.down.ackedUnseen) this.#giveUp(flow, flow.down, 'down');
  }

  /** Skips `sender`'s stream to what was acknowledged unseen: a gap. True when its policy drops the packet. */
  #giveUp(flow: TcpFlow, sender: Sender, direction: Direction, tcp?: TcpPacket): boolean {
    sender.ackedUnseen = false;
    const stream = sender.stream;
    if (stream === null || !stream.initialized) return false;
    const sink = this.#sink;
    sink.flow = flow;
    sink.direction = direction;
    if (stream.skipTo(sender.ackedUnseenTo, sink) === 0) return false;
    history(flow, sender, direction === 'up', H_GAP);
    return this.#tracker.anomaly(flow, 'gap', direction, tcp);
  }
}

/** The segment's payload length on the wire (more than captured when a snaplen cut it). */
function wireLength(tcp: TcpPacket): number {
  const ip = tcp.ip;
  const ipEnd = ip.version === 4 ? ip.off + ip.len : ip.off + 40 + ip.payloadLength;
  return Math.max(0, ipEnd - tcp.off - tcp.hdrLen);
}
