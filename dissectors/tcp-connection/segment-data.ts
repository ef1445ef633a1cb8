/**
 * A segment's bytes into its direction's stream: reassembly (reassembly.ts) with the receiver's
 * window, the anomalies it finds, gaps where the capture cut a segment or the receiver
 * acknowledged bytes nobody saw, and in-order bytes out as receiveData events and to the
 * direction's streamed consumers (holding.ts).
 */
import type { TcpPacket } from '../tcp.ts';
import { TCP_SYN } from '../tcp-flags.ts';
import type { EventSink } from '../flow/event-sink.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import { SEG_CONFLICT, SEG_DUPLICATE, SEG_MEMCAP, SEG_OUT_OF_WINDOW, type StreamSink } from './reassembly.ts';
import type { Direction, Sender, TcpFlow } from './flow.ts';
import { H_GAP, H_INCONSISTENT, H_RETRANS, history } from './history.ts';
import { tcpConnectionEvents as events } from './events.ts';
import type { Holding } from './holding.ts';
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
    private readonly holding: Holding,
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

  constructor(events: EventSink, tracker: DataTracker, holding: Holding) {
    this.#tracker = tracker;
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
    const r = stream.add(seq, tcp.payload, sink, Math.max(receiverWindow, 65535) * 64);
    if (stream.lastNewBytes > 0) this.freshEnd = segEnd;
    if (r === SEG_CONFLICT) {
      history(flow, sender, direction === 'up', H_INCONSISTENT);
      if (t.anomaly(flow, 'overlap-different-data', direction, tcp)) return true;
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

  /** `receiverSide` acknowledged up to tcp.ack; bytes before a hole it acknowledges are lost for good. */
  acknowledge(flow: TcpFlow, tcp: TcpPacket, receiverSide: Sender, direction: Direction): void {
    const stream = receiverSide.stream;
    if (stream === null || !stream.initialized) return;
    let ack = tcp.ackRaw;
    // The FIN occupies a sequence number that carries no byte.
    if (receiverSide.finSeen && ack === seqAdd32(receiverSide.finSeq, 1)) ack = receiverSide.finSeq;
    if (seqGt(ack, stream.next) && seqDiff(ack, stream.next) < 1 << 30) {
      const sink = this.#sink;
      sink.flow = flow;
      sink.direction = direction;
      if (stream.skipTo(ack, sink) > 0) {
        history(flow, receiverSide, direction === 'up', H_GAP);
        this.#tracker.anomaly(flow, 'gap', direction, tcp);
      }
    }
    stream.acknowledge(ack);
  }
}

/** The segment's payload length on the wire (more than captured when a snaplen cut it). */
function wireLength(tcp: TcpPacket): number {
  const ip = tcp.ip;
  const ipEnd = ip.version === 4 ? ip.off + ip.len : ip.off + 40 + ip.payloadLength;
  return Math.max(0, ipEnd - tcp.off - tcp.hdrLen);
}
