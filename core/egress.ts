/**
 * The egress: everything that leaves the engine goes through here. Frames go out or are
 * dropped (the current one; held ones released or discarded; fragments of a dropped datagram),
 * and every frame that goes out fires `packet.sendPacket` first, where a rule may still drop it.
 * Crafted RSTs are sent, and ended connections give their flow record and release their rule
 * state. The trackers' outboxes are drained here, in the order they were filled.
 */
import { packetEvents } from './events.ts';
import { releaseFlowState, type FlowStores } from './rules.ts';
import type { Clock } from './clock.ts';
import type { Stats } from './stats.ts';
import type { Dispatch } from './dispatch.ts';
import { Packet } from '../dissectors/packet.ts';
import { flowRecord, TcpFlow, type CraftedFrame, type KeptFrame } from '../dissectors/tcp-connection/index.ts';
import { udpFlowRecord, type UdpFlow } from '../dissectors/udp-connection/index.ts';
import { OUT_DISCARD, OUT_ENDED, OUT_INJECT, OUT_RELEASE, type Outbox } from '../dissectors/flow/outbox.ts';
import type { Turn } from '../dissectors/turn.ts';
import type { Tracer } from './trace/tracer.ts';
import type { FlowRecord } from '../dissectors/flow/record.ts';
import { UNNAMED_REASON as UNNAMED, type DropReason } from '../dissectors/verdict.ts';


/** Where settled frames go: the output capture in replay, NFQUEUE verdicts inline. */
export interface EngineOutput {
  /**
   * A frame that passes. `bytes` is valid only during the call. `rewritten`: palisade changed its
   * bytes (a normalised segment): they must go out, not the original.
   */
  forward(bytes: Buffer, secs: number, nsecs: number, linkType: number, id: number, rewritten?: boolean): void;
  /** A frame that is dropped, and why. */
  drop?(id: number, reason: DropReason): void;
  /**
   * A frame that is held (an IP fragment waiting for the rest, a segment waiting for streamed
   * rules): its forward() or drop() comes later, naming the same id.
   */
  hold?(id: number): void;
  /** A frame palisade crafted (a RST), sent now. `bytes` is palisade's own copy. */
  inject?(bytes: Buffer, secs: number, nsecs: number, linkType: number): void;
  /**
   * forward() sends the bytes it is given, so a packet palisade rewrote goes out rewritten
   * (tcp.policies.overlap-different-data `normalize`). Default true; false where only the
   * original can go: such a packet is dropped instead.
   */
  rewrites?: boolean;
}

export class Egress {
  /** The view `packet.sendPacket` gets for a held frame going out (the current packet's view stays as it is). */
  readonly #released = new Packet();
  readonly #pkt: Packet;
  readonly #turn: Turn;
  readonly #tracer: () => Tracer | null;
  readonly #dispatch: Dispatch;
  readonly #stats: Stats;
  readonly #clock: Clock;
  readonly #output: EngineOutput | undefined;
  /** Monitor only: a dropped frame still goes out (its verdict is counted, not applied). */
  readonly #passThrough: boolean;
  readonly #flowStores: FlowStores;
  readonly #onFlow: ((record: FlowRecord) => void) | undefined;
  /** The watchdog's heartbeat (index 0): each flow record written is progress, as a packet is. */
  readonly #progress: Int32Array;

  constructor(
    pkt: Packet,
    turn: Turn,
    dispatch: Dispatch,
    stats: Stats,
    clock: Clock,
    output: EngineOutput | undefined,
    passThrough: boolean,
    flowStores: FlowStores,
    onFlow: ((record: FlowRecord) => void) | undefined,
    progress: Int32Array,
    tracer: () => Tracer | null,
  ) {
    this.#progress = progress;
    this.#pkt = pkt;
    this.#turn = turn;
    this.#tracer = tracer;
    this.#dispatch = dispatch;
    this.#stats = stats;
    this.#clock = clock;
    this.#output = output;
    this.#passThrough = passThrough;
    this.#flowStores = flowStores;
    this.#onFlow = onFlow;
  }

  /** The current frame goes out: `packet.sendPacket`, then the output (or a drop there). */
  forwardCurrent(): void {
    const pkt = this.#pkt;
    if (this.#dispatch.has(packetEvents.sendPacket)) {
      this.#dispatch.emit(packetEvents.sendPacket, pkt);
      if (pkt.dropped) {
        this.dropCurrent();
        return;
      }
    }
    this.#stats.accepted++;
    const ts = pkt.timestamp;
    this.#output?.forward(pkt.bytes, ts.secs, ts.nsecs, pkt.linkType, pkt.id, pkt.rewritten);
  }

  dropCurrent(): void {
    const pkt = this.#pkt;
    const reason = pkt.reason ?? UNNAMED;
    this.#stats.drop(reason.kind);
    if (this.#passThrough) {
      const ts = pkt.timestamp;
      this.#output?.forward(pkt.bytes, ts.secs, ts.nsecs, pkt.linkType, pkt.id);
    } else {
      this.#output?.drop?.(pkt.id, reason);
    }
  }

  /** The current frame waits: its verdict comes later (output.hold). */
  holdCurrent(): void {
    this.#output?.hold?.(this.#pkt.id);
  }

  /** Frames kept past their push (fragments of a datagram that is dropped or never completed, held frames) are dropped. */
  dropFrames(frames: readonly KeptFrame[], reason: DropReason): void {
    for (const f of frames) {
      this.#stats.drop(reason.kind);
      this.#traceLater(f.id, 'drop', reason);
      if (this.#passThrough) this.#output?.forward(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
      else this.#output?.drop?.(f.id, reason);
    }
  }

  /** A held frame goes out now: `packet.sendPacket` on a view of its own, then the output. */
  release(frame: KeptFrame): void {
    const dispatch = this.#dispatch;
    for (const f of frame.parts ?? [frame]) {
      if (dispatch.has(packetEvents.sendPacket)) {
        const pkt = this.#released;
        pkt.point(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
        const turn = this.#turn;
        const outer = turn.releasing;
        turn.releasing = pkt;
        try {
          dispatch.emit(packetEvents.sendPacket, pkt);
        } finally {
          turn.releasing = outer;
        }
        if (pkt.dropped) {
          const reason = pkt.reason ?? UNNAMED;
          this.#stats.drop(reason.kind);
          this.#traceLater(f.id, 'drop', reason);
          this.#output?.drop?.(f.id, reason);
          continue;
        }
      }
      this.#traceLater(f.id, 'accept', null);
      this.#stats.accepted++;
      this.#output?.forward(f.bytes, f.secs, f.nsecs, f.linkType, f.id, f.rewritten === true);
    }
  }

  /** A held frame is dropped now (its flow was dropped or reset). */
  discard(frame: KeptFrame): void {
    this.dropFrames(frame.parts ?? [frame], frame.reason ?? UNNAMED);
  }

  /** A crafted frame goes out now, at the current packet's time. */
  inject(frame: CraftedFrame): void {
    this.#stats.injected++;
    this.#turn.trace?.steps.push({ step: 'injected', length: frame.bytes.length });
    const ts = this.#pkt.timestamp;
    this.#output?.inject?.(frame.bytes, ts.secs, ts.nsecs, frame.linkType);
  }

  /**
   * A frame kept past its push got its verdict now: its trace (if traced) ends, and the trace of
   * the frame being judged says so.
   */
  #traceLater(id: number, verdict: 'accept' | 'drop', reason: DropReason | null): void {
    const tracer = this.#tracer();
    if (tracer === null) return;
    const turn = this.#turn;
    if (id === turn.frame?.id) return;
    turn.trace?.steps.push({ step: 'settled', frame: id, verdict });
    tracer.settled(id, verdict, reason, turn.frame?.id ?? 0, turn.running);
  }

  /**
   * Carries out what a tracker produced, in order. A rule run here (sendPacket) may add to the
   * outbox: the loop reads its length each time round.
   */
  drain(out: Outbox): void {
    for (let i = 0; i < out.kinds.length; i++) {
      const kind = out.kinds[i];
      const item = out.items[i];
      if (kind === OUT_RELEASE) this.release(item as KeptFrame);
      else if (kind === OUT_DISCARD) this.discard(item as KeptFrame);
      else if (kind === OUT_INJECT) this.inject(item as CraftedFrame);
      else if (kind === OUT_ENDED) {
        if (item instanceof TcpFlow) this.#ended(item, flowRecord);
        else this.#ended(item as UdpFlow, udpFlowRecord);
      }
    }
    out.clear();
  }

  #ended<F extends TcpFlow | UdpFlow>(flow: F, record: (flow: F, now: number) => FlowRecord): void {
    releaseFlowState(this.#flowStores, flow);
    const stats = this.#stats;
    stats.connections++;
    const proto = flow.appProto ?? 'none';
    stats.flowsByProto.set(proto, (stats.flowsByProto.get(proto) ?? 0) + 1);
    // An expiry that ends 50,000 connections at one packet writes 50,000 records before the next.
    this.#progress[0] = (this.#progress[0] as number) + 1;
    this.#onFlow?.(record(flow, this.#clock.now));
  }
}
