/**
 * The tcp_connection dissector: connection tracking, per-direction stream reassembly, the
 * flow actions (drop, reset, halfreset) and the connection events. The engine hands it every
 * dissected TCP segment while some rule listens to a tcpConnection event.
 */
import type { AnomalyCounter } from '../anomalies.ts';
import type { TcpPacket } from '../tcp.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../tcp-flags.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import { PIECE_BYTES, ReassemblyBudget, SEG_CONFLICT, SEG_DUPLICATE, SEG_MEMCAP, SEG_OUT_OF_WINDOW, StreamReassembler, type ReassemblyLimits, type StreamSink } from './reassembly.ts';
import { FLOW_DROPPED, FLOW_HALF_RESET, FLOW_RESET, TcpFlow, type Direction, type EndReason, type FlowActions, type Sender } from './flow.ts';
import { FlowTable } from '../flow/table.ts';

// The tracker's timeout lists.
const LIST_EMBRYONIC = 0;
const LIST_ESTABLISHED = 1;
const LIST_CLOSING = 2;
import { H_ACK, H_DATA, H_FIN, H_GAP, H_INCONSISTENT, H_MULTIFLAG, H_RETRANS, H_RST, H_SYN, H_SYNACK, H_ZEROWIN, history } from './history.ts';
import { finSent, finsAcknowledged, pickedUpMidstream, resetAccepted, synAcknowledged, synReceived, TcpState } from './state.ts';
import { tcpConnectionEvents as events, type TcpAnomaly } from './events.ts';
import type { AnomalyPolicy, PolicedTcpAnomaly } from './anomalies.ts';
import type { FlowHost } from '../flow/host.ts';
import { craftRst } from './reset.ts';
import { Hold, heldSize, type HeldFrame, type HeldPacket, type HoldHost } from './hold.ts';
import type { TcpStream } from './stream.ts';

export { tcpConnectionEvents } from './events.ts';
export type { TcpAnomaly } from './events.ts';
export { TcpFlow } from './flow.ts';
export { TcpStream } from './stream.ts';
export type { HeldFrame } from './hold.ts';
export type { Direction, EndReason, FlowState, Endpoint, DirectionStats } from './flow.ts';
export type { TcpAnomalyKind, AnomalyPolicy } from './anomalies.ts';

export interface TcpConnectionConfig {
  maxFlows: number;
  /** Half-open connections held at once (a SYN flood's). */
  maxEmbryonic: number;
  timeouts: { embryonic: number; established: number; closing: number };
  /** Timeouts while the engine is past its memcap (emergency mode), Suricata's emergency-* timeouts. */
  emergencyTimeouts: { embryonic: number; established: number; closing: number };
  midstream: 'accept' | 'drop' | 'ignore';
  reassembly: { maxBytes: number; maxSegments: number; memcap: number };
  hold: { maxBytes: number; memcap: number };
  policies: Record<PolicedTcpAnomaly, AnomalyPolicy>;
}

/** What the tracker needs from the engine. */
export interface TrackerHost extends FlowHost {
  /** The current frame's link layer (its header length: link.offset). */
  readonly link: { readonly offset: number };
  /** Sends a crafted frame now (replay: into the output at the current packet's time). */
  inject: (frame: Buffer, linkType: number) => void;
  /** Haka's "no connection found for tcp packet" alert. */
  alert: (description: string) => void;
  /** A connection ended (for the --flows log). */
  flowEnded: (flow: TcpFlow) => void;
  /** Streamed rules exist: every connection's data is streamed (asked once). */
  streaming: () => boolean;
  /** Starts the streamed consumers of a direction at its first byte (adds their streams to `hold`). */
  openStreams: (flow: TcpFlow, direction: Direction, hold: Hold) => void;
  /** A copy of the current frame, to hold it; null when it cannot be held (a reassembled IP datagram). */
  copyCurrent: () => HeldFrame | null;
  /** A held frame goes out now (its bytes were cleared by every streamed consumer). */
  release: (frame: HeldFrame) => void;
  /** A held frame is dropped now (its flow was dropped or reset). */
  discard: (frame: HeldFrame) => void;
  /** A streamed consumer went waiting for bytes. */
  blocked: () => void;
  /** What a waiting streamed consumer waits for has come. */
  ready: (stream: TcpStream) => void;
  /** Bytes the engine holds outside this tracker (IP fragments, UDP flows), for the memcap. */
  otherMemory: () => number;
}

/**
 * What one connection's own state costs, counted against the engine memcap: measured at about
 * 930 bytes for a half-open one (the flow, its two endpoints, its table entry); established
 * ones hold more, in their reassembly (counted apart).
 */
export const FLOW_BYTES = 1024;
/** Emergency mode ends once the engine is back under this share of its memcap. */
const EMERGENCY_END = 0.75;

const ACCEPT = 0;
const DROP = 1;

/** Delivers reassembled bytes as receiveData events; one per tracker, re-aimed per segment. */
class DataSink implements StreamSink {
  flow: TcpFlow | null = null;
  direction: Direction = 'up';
  constructor(
    private readonly host: TrackerHost,
    private readonly tracker: TcpTracker,
  ) {}
  data(chunk: Buffer, offset: number): void {
    const flow = this.flow;
    if (flow === null || flow.verdict !== 0) return;
    this.host.emit(events.receiveData, flow, chunk, this.direction, offset);
    if (!flow.dropped && this.tracker.streamed(flow)) this.tracker.feed(flow, this.direction, chunk, offset);
  }
}

export class TcpTracker implements FlowActions, HoldHost {
  readonly table = new FlowTable<TcpFlow>(3);
  readonly #host: TrackerHost;
  readonly #config: TcpConnectionConfig;
  readonly #stats: AnomalyCounter;
  readonly #budget: ReassemblyBudget;
  readonly #sink: DataSink;
  /** Hands out flow ids; shared with the UDP tracker so that ids (and uids) are engine-unique. */
  readonly #nextId: () => number;
  // Which events have listeners, asked once: the rule set is fixed by the first packet.
  #wantData: boolean | undefined = undefined;
  #wantAnomalies: boolean | undefined = undefined;
  /** The segment being handled, for actions called from rules. */
  #tcp: TcpPacket | null = null;
  #fromClient = true;
  /** The flow of the segment being handled. */
  #current: TcpFlow | null = null;
  /** Streamed rules exist (asked once, like #wantData); flow dissectors are asked per flow. */
  #streaming: boolean | undefined = undefined;
  /** The current frame's copy, once a stream needed its bytes to last or it was held. */
  #frameCopy: HeldFrame | null = null;
  /** The current frame went into a hold queue (#heldIn's): its verdict waits. */
  #held: HeldFrame | null = null;
  #heldIn: Hold | null = null;
  /** Stream offset past the current segment's bytes, and whether it brought new ones (set by #reassemble). */
  #segEnd = 0;
  #fresh = false;
  /** Bytes of held frames, every connection together. */
  #heldBytes = 0;
  /** Holds with frames queued, for close(). */
  readonly #holding = new Set<Hold>();
  /** Seconds of idleness before expiry, by timeout list. */
  #timeouts: readonly number[];
  /** Every stream's reassembly limits, pieces counted at what they cost. */
  readonly #limits: ReassemblyLimits;
  readonly #normalTimeouts: readonly number[];
  readonly #emergencyTimeouts: readonly number[];
  /** The engine's memcap (bytes), and whether it was reached (shorter timeouts until back under). */
  readonly #memcap: number;
  #emergency = false;
  /**
   * No flow expires before this engine time: expire() is a compare per packet, not three list
   * walks. Never later than the true earliest deadline: lowered when a flow joins a list,
   * recomputed by expire(), reset when a flow leaves its list some other way.
   */
  #expireCheck = Infinity;

  constructor(host: TrackerHost, config: TcpConnectionConfig, stats: AnomalyCounter, nextId?: () => number, memcap = Infinity) {
    let id = 1;
    this.#nextId = nextId ?? (() => id++);
    this.#host = host;
    this.#config = config;
    this.#stats = stats;
    this.#budget = new ReassemblyBudget(config.reassembly.memcap);
    this.#limits = { maxBytes: config.reassembly.maxBytes, maxSegments: config.reassembly.maxSegments, pieceBytes: PIECE_BYTES };
    this.#sink = new DataSink(host, this);
    this.#normalTimeouts = [config.timeouts.embryonic, config.timeouts.established, config.timeouts.closing];
    const e = config.emergencyTimeouts;
    // Never longer than the normal ones.
    this.#emergencyTimeouts = [Math.min(e.embryonic, config.timeouts.embryonic), Math.min(e.established, config.timeouts.established), Math.min(e.closing, config.timeouts.closing)];
    this.#timeouts = this.#normalTimeouts;
    this.#memcap = memcap;
  }

  /** Bytes the engine holds, as its memcap counts them: flows, reassembly, held frames, the rest. */
  get memory(): number {
    return this.table.size * FLOW_BYTES + this.#budget.used + this.#heldBytes + this.#host.otherMemory();
  }

  /** The engine is past its memcap: emergency timeouts, and new connections make room first. */
  get emergency(): boolean {
    return this.#emergency;
  }

  #setEmergency(on: boolean): void {
    this.#emergency = on;
    this.#timeouts = on ? this.#emergencyTimeouts : this.#normalTimeouts;
    // Deadlines move: the next expire() looks at every list again.
    this.#expireCheck = -Infinity;
    if (on) this.#stats.anomaly('memcap-emergency');
  }

  /**
   * A new connection with the engine at its memcap: emergency mode, and the oldest half-open, then
   * closing, connections forgotten (endReason memcap) until there is room. False when only
   * established ones are left: they are what palisade is there to inspect.
   */
  #makeRoom(): boolean {
    if (!this.#emergency) this.#setEmergency(true);
    for (let i = 0; i < 16 && this.memory >= this.#memcap; i++) {
      const victim = this.table.oldest(LIST_EMBRYONIC) ?? this.table.oldest(LIST_CLOSING);
      if (victim === null) return false;
      if (!victim.ended) this.#end(victim, 'memcap');
      this.#remove(victim);
    }
    return this.memory < this.#memcap;
  }

  /** Moves a flow to the tail of a timeout list (it was just active). */
  #touch(flow: TcpFlow, list: number): void {
    this.table.touch(flow, list);
    this.#deadline(flow, list);
  }

  /** A flow just joined the tail of `list`: its deadline may come before every other. */
  #deadline(flow: TcpFlow, list: number): void {
    const deadline = flow.lastTime + (this.#timeouts[list] as number);
    if (deadline < this.#expireCheck) this.#expireCheck = deadline;
  }

  get reassemblyMemory(): number {
    return this.#budget.used;
  }

  /** Bytes of frames held for streamed consumers now. */
  get heldMemory(): number {
    return this.#heldBytes;
  }

  /** The rule set changed (ctl reload): which events have listeners is asked again. */
  rulesChanged(): void {
    this.#wantData = undefined;
    this.#wantAnomalies = undefined;
    this.#streaming = undefined;
  }

  /** @internal this flow's bytes go to streamed consumers: streamed rules, or a dissector enabled on it. */
  streamed(flow: TcpFlow): boolean {
    return (this.#streaming ??= this.#host.streaming()) || flow.dissectors !== null;
  }

  /** The segment being handled was held (its frame's verdict waits). */
  get heldNow(): boolean {
    return this.#held !== null;
  }

  /**
   * After the engine's verdict on the frame: the frame the last receive() held, or null. When
   * the engine dropped it after all (a later rule), it leaves its queue. Either way the tracker
   * holds no current frame any more.
   */
  settleHeld(accepted: boolean): HeldFrame | null {
    const h = this.#held;
    if (!accepted) this.#cancelHeld();
    this.#held = null;
    this.#heldIn = null;
    this.#frameCopy = null;
    return h;
  }

  /** The current frame leaves the queue it went into last (nothing leaves a queue out of order while a packet is handled). */
  #cancelHeld(): void {
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

  /** Handles one segment; returns true when the packet must be dropped. */
  receive(tcp: TcpPacket): boolean {
    this.#held = null;
    this.#heldIn = null;
    this.#fresh = false;
    this.#frameCopy = null;
    const host = this.#host;
    const ip = tcp.ip;
    const sport = tcp.srcport;
    const dport = tcp.dstport;
    let flow = this.table.lookup(ip, sport, dport);
    const hash = this.table.hash;
    const flags = tcp.flagsByte;
    const syn = (flags & TCP_SYN) !== 0;
    const ack = (flags & TCP_ACK) !== 0;

    if (flow !== null && flow.ended) {
      // A new SYN on a finished connection's tuple: port reuse, a new connection.
      if (syn && !ack && (flow.verdict === 0 || flow.refused)) {
        this.#remove(flow);
        flow = null;
      } else {
        // Late packets of a finished (or dropped/reset) connection: no rules run.
        flow.lastTime = host.clock.now;
        const late = this.table.fromClient ? flow.up : flow.down;
        late.packets++;
        late.ipBytes += ip.len;
        if (flow.verdict !== 0) return true;
        if ((flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && tcp.payloadLength > 0) {
          const s = this.table.fromClient ? flow.up : flow.down;
          // The flow has ended but is still in the table: the anomaly event still names it.
          if (s.rstSeen || (this.table.fromClient ? flow.down : flow.up).rstSeen) return this.#anomaly(flow, 'data-after-rst', this.table.fromClient ? 'up' : 'down', tcp);
        }
        return false;
      }
    } else if (flow !== null && syn && !ack && this.table.fromClient && flow.up.synSeen && tcp.seqRaw !== flow.up.isn && flow.tcpState !== TcpState.SynSent) {
      // A SYN with another ISN on an open connection: the client reused the port.
      this.#end(flow, 'reuse');
      this.#remove(flow);
      flow = null;
    }

    if (flow === null) {
      const invalid = invalidFlags(flags);
      if (invalid) {
        this.#stats.anomaly('tcp-invalid-flags');
        return this.#config.policies['invalid-flags'] !== 'accept';
      }
      const midstream = !(syn && !ack);
      if (midstream) {
        const policy = this.#config.midstream;
        if (policy === 'ignore') return false;
        if (policy === 'drop') {
          this.#stats.anomaly('tcp-no-connection');
          host.alert('no connection found for tcp packet');
          return true;
        }
      }
      flow = this.#create(tcp, hash, midstream);
      if (flow === null) return this.#config.policies['flow-table-full'] !== 'accept';
      this.#fromClient = this.table.fromClient;
      this.#tcp = tcp;
      this.#current = flow;
      host.emit(events.newConnection, flow, tcp);
      if (host.packet.dropped || flow.verdict !== 0) {
        // Refused: the connection never opens. A retransmitted SYN is evaluated again (Haka);
        // other packets of the tuple (a capture recorded without palisade goes on after the
        // SYN) are dropped silently until the timeout instead of opening midstream flows.
        // A reset() here has already answered the SYN.
        if (flow.verdict === 0) flow.verdict = FLOW_DROPPED;
        flow.refused = true;
        // The refused packet still counts in the flow record (Zeek: S0, history "S").
        const first = this.table.fromClient ? flow.up : flow.down;
        first.packets++;
        first.ipBytes += ip.len;
        if (syn) history(flow, flow.up, true, H_SYN);
        this.#end(flow, 'dropped');
        this.#touch(flow, LIST_CLOSING);
        this.#tcp = null;
        this.#current = null;
        return true;
      }
    }

    const up = this.table.fromClient;
    this.#fromClient = up;
    this.#tcp = tcp;
    this.#current = flow;
    const sender = up ? flow.up : flow.down;
    const receiver = up ? flow.down : flow.up;
    const direction: Direction = up ? 'up' : 'down';
    sender.packets++;
    sender.ipBytes += ip.len;
    flow.lastTime = host.clock.now;

    // A dropped or reset flow's packets are dropped without rules (and leave no packet in hand
    // for an action from a streamed rule to mistake for its own).
    if (flow.verdict !== 0) {
      this.#tcp = null;
      this.#current = null;
      return true;
    }

    const verdict = this.#track(flow, tcp, sender, receiver, up, direction);
    if (verdict === DROP || this.#stopped(flow)) return this.#finish(flow, true);
    if (flow.bypassed) return this.#finish(flow, false);

    host.emit(events.receivePacket, flow, tcp, direction);
    if (this.#stopped(flow)) return this.#finish(flow, true);

    const len = tcp.payloadLength;
    sender.bytes += len;
    if (len > 0 && sender.stream !== null && !sender.ignoreData) {
      if (this.#reassemble(flow, tcp, sender, direction)) return this.#finish(flow, true);
    }
    // The receiver acknowledges: retained bytes go; an ack past a hole means it will never fill.
    if (ack && receiver.stream !== null && !receiver.ignoreData) this.#acknowledge(flow, tcp, receiver, up ? 'down' : 'up');
    if (this.#stopped(flow)) return this.#finish(flow, true);
    const hold = sender.hold;
    if (hold !== null && hold.active && hold.queue.length + hold.streams.length > 0) {
      if (this.#hold(flow, tcp, hold, this.#fresh, direction)) return this.#finish(flow, true);
    }
    return this.#finish(flow, this.#stopped(flow));
  }

  /**
   * Holds the current frame behind bytes a streamed consumer has not read: when it brought new
   * bytes (in order or not), or when frames of its direction already wait (order is kept).
   * Returns true when the hold cap's policy drops the packet.
   */
  #hold(flow: TcpFlow, tcp: TcpPacket, hold: Hold, fresh: boolean, direction: Direction): boolean {
    if (hold.floor === Infinity && hold.queue.length === 0) return false;
    if (!fresh && hold.queue.length === 0) return false;
    const frame = (this.#frameCopy ??= this.#host.copyCurrent());
    // Monitor-only mode: nothing is held.
    if (frame === null) return false;
    const size = heldSize(frame);
    const caps = this.#config.hold;
    if (hold.bytes + size > caps.maxBytes || this.#heldBytes + size > caps.memcap) {
      if (this.#anomaly(flow, 'hold-cap', direction, tcp)) {
        // The frame's bytes are in the streams already: dropping the frame alone would let its
        // retransmission pass unread. drop-packet fails closed like drop-flow.
        if (flow.verdict === 0) this.drop(flow);
        return true;
      }
      // accept: what waits goes now, and this direction is streamed no further.
      this.#cut(flow, hold, true);
      return false;
    }
    const end = fresh ? this.#segEnd : 0;
    hold.queue.push({ frame, end, seqEnd: segmentEnd(tcp) });
    hold.bytes += size;
    this.#heldBytes += size;
    // A RST is built behind a frame's link, IP and TCP headers: a fragment has no TCP header.
    if (frame.parts === undefined) hold.template = frame;
    this.#holding.add(hold);
    this.#held = frame;
    this.#heldIn = hold;
    return false;
  }

  /** Stops streaming a direction: its streams end (truncated: cut short), what it held goes. */
  #cut(flow: TcpFlow, hold: Hold, truncated: boolean): void {
    hold.active = false;
    hold.end(truncated);
    this.#flush(flow, hold, flow.verdict === 0);
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
      if (send) this.#sendHeld(flow, hold, h);
      else this.#host.discard(h.frame);
    }
  }

  #unaccount(hold: Hold, frame: HeldFrame): void {
    const size = heldSize(frame);
    hold.bytes -= size;
    this.#heldBytes -= size;
    if (hold.queue.length === 0) this.#holding.delete(hold);
  }

  /** What the receiver has been given now goes up to `end` (a RST must carry it, RFC 5961). */
  #forwarded(sender: Sender, end: number): void {
    if (!sender.forwarded || seqGt(end, sender.forwardedNxt)) sender.forwardedNxt = end;
    sender.forwarded = true;
  }

  /** @internal in-order bytes for the streamed consumers of one direction (from the data sink). */
  feed(flow: TcpFlow, direction: Direction, chunk: Buffer, offset: number): void {
    const up = direction === 'up';
    const sender = up ? flow.up : flow.down;
    let hold = sender.hold;
    if (hold === null) {
      hold = new Hold(this, flow, up, offset);
      sender.hold = hold;
      this.#host.openStreams(flow, direction, hold);
      if (flow.verdict !== 0) return;
    }
    if (!hold.active) return;
    if (offset !== hold.next) {
      // A gap: a stream cannot jump over bytes nobody saw. Its consumers get an early end.
      this.#cut(flow, hold, true);
      return;
    }
    hold.next = offset + chunk.length;
    if (hold.floor === Infinity) return;
    const stable = this.#stable(chunk);
    const id = this.#host.packet.id;
    for (const s of hold.streams) {
      s.lastFrame = id;
      s.push(stable);
    }
  }

  /** `chunk` as bytes that last: a view of the current frame's copy, or the reassembler's own piece. */
  #stable(chunk: Buffer): Buffer {
    const b = this.#host.packet.bytes;
    const at = chunk.byteOffset - b.byteOffset;
    if (chunk.buffer !== b.buffer || at < 0 || at + chunk.length > b.length) return chunk;
    const frame = (this.#frameCopy ??= this.#host.copyCurrent());
    return frame === null ? Buffer.from(chunk) : frame.bytes.subarray(at, at + chunk.length);
  }

  // ---- HoldHost -----------------------------------------------------------------------------

  /** Consumers of `hold` committed: the frames they are all done with go out, in order. */
  release(hold: Hold): void {
    const flow = hold.flow;
    if (flow.verdict !== 0) {
      this.#flush(flow, hold, false);
      return;
    }
    const floor = hold.floor;
    const q = hold.queue;
    while (q.length > 0 && (q[0] as (typeof q)[number]).end <= floor) {
      const h = q.shift() as (typeof q)[number];
      this.#unaccount(hold, h.frame);
      this.#sendHeld(flow, hold, h);
    }
  }

  /** A held frame (already out of its queue) goes to the receiver, which now expects what follows it. */
  #sendHeld(flow: TcpFlow, hold: Hold, h: HeldPacket): void {
    this.#forwarded(hold.fromClient ? flow.up : flow.down, h.seqEnd);
    this.#host.release(h.frame);
  }
  blocked(): void {
    this.#host.blocked();
  }
  ready(stream: TcpStream): void {
    this.#host.ready(stream);
  }

  /** Streamed rules said they are done with what they read: release it (flow.send()). */
  send(flow: TcpFlow, direction?: Direction): void {
    for (const hold of [flow.up.hold, flow.down.hold]) {
      if (hold === null || (direction !== undefined && hold.fromClient !== (direction === 'up'))) continue;
      for (const s of hold.streams) s.commit();
      this.release(hold);
    }
  }

  /** End of input: frames still held (consumers that never finished) go out, or are dropped with their flow. */
  releaseAll(): void {
    for (const hold of [...this.#holding]) this.#flush(hold.flow, hold, hold.flow.verdict === 0);
  }

  /** Read through a call: rules run between the checks and may have dropped packet or flow. */
  #stopped(flow: TcpFlow): boolean {
    return this.#host.packet.dropped || flow.verdict !== 0;
  }

  /** After rules: what the receivers expect now, and the end of the connection. */
  #finish(flow: TcpFlow, drop: boolean): boolean {
    const tcp = this.#tcp;
    if (drop) this.#cancelHeld();
    if (!drop && tcp !== null && !flow.ended && this.#held === null) {
      // What the receiver has been given: a RST must carry the next of these (RFC 5961).
      // A held frame counts when it is released.
      this.#forwarded(this.#fromClient ? flow.up : flow.down, segmentEnd(tcp));
    }
    if (!flow.ended) {
      if (flow.verdict !== 0) this.#end(flow, flow.verdict === FLOW_DROPPED ? 'dropped' : 'rst');
      else if (flow.tcpState === TcpState.Closed) this.#end(flow, 'fin');
      else if (flow.tcpState === TcpState.Reset) this.#end(flow, 'rst');
    }
    this.#touch(flow, flow.ended ? LIST_CLOSING : listOf(flow));
    this.#tcp = null;
    this.#current = null;
    return drop;
  }

  #create(tcp: TcpPacket, hash: number, midstream: boolean): TcpFlow | null {
    if (this.#memcap !== Infinity && this.memory >= this.#memcap && !this.#makeRoom()) {
      this.#stats.anomaly('tcp-flow-table-full');
      return null;
    }
    // A SYN flood is bounded by half-open connections, not only by the whole table: the oldest
    // half-open one is forgotten (a real client retransmits its SYN).
    if (this.table.count(LIST_EMBRYONIC) >= this.#config.maxEmbryonic) {
      const victim = this.table.oldest(LIST_EMBRYONIC);
      if (victim !== null) {
        if (!victim.ended) this.#end(victim, 'memcap');
        this.#remove(victim);
      }
    }
    if (this.table.size >= this.#config.maxFlows) {
      // SYN floods fill the table with embryonic flows: the oldest makes room first.
      const victim = this.table.oldest(LIST_EMBRYONIC) ?? this.table.oldest(LIST_CLOSING);
      if (victim === null) {
        this.#stats.anomaly('tcp-flow-table-full');
        return null;
      }
      if (!victim.ended) this.#end(victim, 'memcap');
      this.#remove(victim);
    }
    const ip = tcp.ip;
    // Midstream: the side sending a SYN/ACK is the server; otherwise the lower port is.
    const flags = tcp.flagsByte;
    const srcIsClient = !midstream || ((flags & TCP_SYN) === 0 ? tcp.dstport <= tcp.srcport : false);
    const flow = new TcpFlow(this, this.#nextId(), ip, srcIsClient, tcp.srcport, tcp.dstport, midstream, this.#host.clock.now);
    flow.hash = hash;
    this.table.insert(flow, LIST_EMBRYONIC);
    this.#deadline(flow, LIST_EMBRYONIC);
    this.table.fromClient = srcIsClient;
    if (midstream) pickedUpMidstream(flow);
    return flow;
  }

  /** Endpoint state for one segment (RFC 9293 as a middlebox sees it). Returns DROP by policy. */
  #track(flow: TcpFlow, tcp: TcpPacket, sender: Sender, receiver: Sender, up: boolean, direction: Direction): number {
    const flags = tcp.flagsByte;
    const seq = tcp.seqRaw;
    const len = tcp.payloadLength;
    if (invalidFlags(flags)) {
      history(flow, sender, up, H_MULTIFLAG);
      if (this.#anomaly(flow, 'invalid-flags', direction, tcp)) return DROP;
    }
    // A rule on anomalies wants the stream ones too (overlap-different-data, gap): they need
    // reassembly. A flow dissector wants the flows it was enabled on (by newConnection) only.
    const wantData = (this.#wantData ??= this.#host.listening(events.receiveData) || this.#host.listening(events.anomaly)) || this.streamed(flow);

    if ((flags & TCP_RST) !== 0) {
      // RFC 5961 §3.2: only an RST in the receiver's window ends the connection.
      // RFC 5961 §3.2: only a RST at exactly the next expected sequence number resets; one
      // elsewhere in the window earns a challenge ACK and the connection goes on; one outside
      // it is ignored. In SYN-SENT, a RST acknowledging the SYN is a refusal (RFC 9293 §3.10.7.3).
      const exact =
        !sender.nxtValid ||
        seq === sender.nxt ||
        (sender.forwarded && seq === sender.forwardedNxt) ||
        (flow.tcpState === TcpState.SynSent && (flags & TCP_ACK) !== 0 && tcp.ackRaw === seqAdd32(receiver.isn, 1));
      history(flow, sender, up, H_RST);
      if (exact) {
        sender.rstSeen = true;
        resetAccepted(flow);
      } else {
        const d = seqDiff(seq, sender.nxt);
        const inWindow = d >= 0 && d < Math.max(receiver.window, 1);
        if (!inWindow && this.#anomaly(flow, 'out-of-window', direction, tcp)) return DROP;
      }
      return ACCEPT;
    }

    if ((flags & TCP_SYN) !== 0) {
      const synAck = (flags & TCP_ACK) !== 0;
      history(flow, sender, up, synAck ? H_SYNACK : H_SYN);
      if (!sender.synSeen || seq !== sender.isn) {
        sender.synSeen = true;
        sender.isn = seq;
        sender.nxt = seqAdd32(seq, 1);
        sender.dataEnd = sender.nxt;
        sender.nxtValid = true;
        sender.wscale = tcp.windowScale ?? -1;
        if (wantData) this.#stream(sender).init(seqAdd32(seq, 1));
      }
      if (len > 0 && this.#anomaly(flow, 'syn-with-data', direction, tcp)) return DROP;
      // The server's SYN/ACK, or its own SYN: a simultaneous open.
      if (synAck || !up) synReceived(flow);
      sender.window = tcp.window;
    } else {
      // Window scaling applies only when both SYNs offered it (RFC 7323 §2.2).
      // The shift is at most 14 (§2.3), so the scaled window stays an int32: a plain shift.
      const shift = sender.wscale >= 0 && receiver.wscale >= 0 ? Math.min(sender.wscale, 14) : 0;
      sender.window = tcp.window << shift;
      if (tcp.window === 0) history(flow, sender, up, H_ZEROWIN);
      if (!sender.nxtValid) {
        // Midstream: this side's sequence space starts here.
        sender.nxtValid = true;
        sender.isn = seqAdd32(seq, -1);
        sender.nxt = seq;
        sender.dataEnd = seq;
        // Even for a pure ACK: this side's later data starts from here.
        if (wantData) this.#stream(sender).init(seq);
      }
      if ((flags & TCP_ACK) !== 0 && receiver.synSeen && tcp.ackRaw === seqAdd32(receiver.isn, 1)) synAcknowledged(flow);
      if ((flags & TCP_ACK) !== 0 && len === 0 && (flags & TCP_FIN) === 0) history(flow, sender, up, H_ACK);
    }

    if (len > 0) {
      history(flow, sender, up, H_DATA);
      const dataEnd = seqAdd32(seq, len + ((flags & TCP_SYN) !== 0 ? 1 : 0));
      if (seqGt(dataEnd, sender.dataEnd)) sender.dataEnd = dataEnd;
      if (sender.finSeen && seqGt(seqAdd32(seq, len), sender.finSeq)) {
        if (this.#anomaly(flow, 'data-after-fin', direction, tcp)) return DROP;
      }
      if (!seqGt(seqAdd32(seq, len), sender.nxt)) history(flow, sender, up, H_RETRANS);
    }
    const end = seqAdd32(seq, len + ((flags & TCP_SYN) !== 0 ? 1 : 0));
    if (seqGt(end, sender.nxt)) sender.nxt = end;

    if ((flags & TCP_FIN) !== 0) {
      history(flow, sender, up, H_FIN);
      if (!sender.finSeen) {
        sender.finSeen = true;
        sender.finSeq = seqAdd32(seq, len);
        const afterFin = seqAdd32(sender.finSeq, 1);
        if (seqGt(afterFin, sender.nxt)) sender.nxt = afterFin;
      }
      finSent(flow);
    }
    // A FIN is done when the other side acknowledges it; both done: closed (RFC 9293 §3.6).
    if ((flags & TCP_ACK) !== 0 && receiver.finSeen && seqDiff(tcp.ackRaw, seqAdd32(receiver.finSeq, 1)) >= 0) receiver.finAcked = true;
    if (sender.finAcked && receiver.finAcked) finsAcknowledged(flow);
    return ACCEPT;
  }

  #stream(sender: Sender): StreamReassembler {
    sender.stream ??= new StreamReassembler(this.#limits, this.#budget);
    return sender.stream;
  }

  /** Feeds the segment's bytes to the sender's stream. Returns true to drop the packet. */
  #reassemble(flow: TcpFlow, tcp: TcpPacket, sender: Sender, direction: Direction): boolean {
    const stream = sender.stream;
    if (stream === null || !stream.initialized) return false;
    let seq = tcp.seqRaw;
    if ((tcp.flagsByte & TCP_SYN) !== 0) seq = seqAdd32(seq, 1);
    const sink = this.#sink;
    sink.flow = flow;
    sink.direction = direction;
    this.#segEnd = stream.delivered + seqDiff(seq, stream.next) + tcp.payloadLength;
    const receiverWindow = flow.up === sender ? flow.down.window : flow.up.window;
    // RFC 9293 §3.10.7.4: a receiver whose window is zero takes no new byte: rules must not see
    // bytes the receiver will not, or be shown other ones later in their place. A window probe
    // (§3.8.6.1: one byte at the next sequence number) is normal, as Suricata treats it: not
    // reassembled, no anomaly; its byte comes again once the window opens.
    if (receiverWindow === 0 && tcp.payloadLength > 0 && seqGt(seqAdd32(seq, tcp.payloadLength), stream.next)) {
      this.#fresh = false;
      if (tcp.payloadLength === 1 && seq === stream.next) return false;
      return this.#anomaly(flow, 'out-of-window', direction, tcp);
    }
    const r = stream.add(seq, tcp.payload, sink, Math.max(receiverWindow, 65535) * 64);
    this.#fresh = stream.lastNewBytes > 0;
    if (r === SEG_CONFLICT) {
      history(flow, sender, direction === 'up', H_INCONSISTENT);
      if (this.#anomaly(flow, 'overlap-different-data', direction, tcp)) return true;
    } else if (r === SEG_MEMCAP) {
      if (this.#anomaly(flow, 'reassembly-memcap', direction, tcp)) return true;
    } else if (r === SEG_DUPLICATE) {
      history(flow, sender, direction === 'up', H_RETRANS);
    } else if (r === SEG_OUT_OF_WINDOW) {
      // Far beyond what the receiver could accept: not buffered.
      if (this.#anomaly(flow, 'out-of-window', direction, tcp)) return true;
    }
    // A capture cut (snaplen) leaves bytes we will never see: a gap, reported, never glued.
    const wire = tcp.ip.truncated ? wireLength(tcp) : 0;
    if (wire > tcp.payloadLength && seqGt(seqAdd32(seq, wire), stream.next)) {
      const skipped = stream.skipTo(seqAdd32(seq, wire), sink);
      if (skipped > 0) {
        history(flow, sender, direction === 'up', H_GAP);
        if (this.#anomaly(flow, 'gap', direction, tcp)) return true;
      }
    }
    return false;
  }

  /** `receiver` acknowledged up to tcp.ack; bytes before a hole it acknowledges are lost for good. */
  #acknowledge(flow: TcpFlow, tcp: TcpPacket, receiverSide: Sender, direction: Direction): void {
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
        this.#anomaly(flow, 'gap', direction, tcp);
      }
    }
    stream.acknowledge(ack);
  }

  /** Counts and raises an anomaly; true when its policy drops the packet (or the flow). */
  #anomaly(flow: TcpFlow, kind: PolicedTcpAnomaly, direction: Direction, packet?: TcpPacket): boolean {
    this.#stats.anomaly(`tcp-${kind}`);
    if ((this.#wantAnomalies ??= this.#host.listening(events.anomaly))) {
      const a: TcpAnomaly = packet === undefined ? { kind, direction } : { kind, direction, packet };
      this.#host.emit(events.anomaly, flow, a);
    }
    const policy = this.#config.policies[kind];
    if (policy === 'drop-flow' && flow.verdict === 0) this.drop(flow);
    return policy !== 'accept' || this.#host.packet.dropped;
  }

  // ---- actions (FlowActions) ----------------------------------------------------------------

  /** Inside a packet of this flow (a rule on its events), not from a streamed rule between packets. */
  #inPacketOf(flow: TcpFlow): boolean {
    return this.#current === flow && this.#tcp !== null;
  }

  drop(flow: TcpFlow): void {
    if (flow.verdict === 0) flow.verdict = FLOW_DROPPED;
    if (this.#inPacketOf(flow)) this.#host.packet.drop();
    this.#dropHeld(flow);
    this.#endOutside(flow);
  }

  /** A flow dropped or reset between its packets (by a streamed rule) ends now, not at its next packet. */
  #endOutside(flow: TcpFlow): void {
    if (this.#inPacketOf(flow) || flow.ended) return;
    this.#end(flow, flow.verdict === FLOW_DROPPED ? 'dropped' : 'rst');
    if (flow.list >= 0) this.#touch(flow, LIST_CLOSING);
  }

  reset(flow: TcpFlow, half: boolean): void {
    if (flow.verdict !== 0) {
      if (this.#inPacketOf(flow)) this.#host.packet.drop();
      return;
    }
    flow.verdict = half ? FLOW_HALF_RESET : FLOW_RESET;
    // What it held never reaches the receiver: the RSTs count only what went (RFC 5961).
    this.#dropHeld(flow);
    if (flow.ended) return;
    if (this.#inPacketOf(flow)) {
      this.#host.packet.drop();
      const pkt = this.#host.packet;
      this.#sendResets(flow, { frame: pkt.bytes, linkType: pkt.linkType, linkHeaderLength: this.#host.link.offset }, this.#fromClient);
      return;
    }
    // From a streamed rule between packets: the latest held frame of the flow is the template.
    const a = flow.up.hold?.template ?? null;
    const b = flow.down.hold?.template ?? null;
    const t = a === null ? b : b === null || a.id > b.id ? a : b;
    if (t !== null) this.#sendResets(flow, { frame: t.bytes, linkType: t.linkType, linkHeaderLength: t.linkOffset }, t === a);
    this.#endOutside(flow);
  }

  /** Drops what a dropped or reset flow holds and ends its streams (their consumers see the end). */
  #dropHeld(flow: TcpFlow): void {
    if (flow.up.hold !== null) this.#cut(flow, flow.up.hold, false);
    if (flow.down.hold !== null) this.#cut(flow, flow.down.hold, false);
  }

  /**
   * RSTs with the sequence number each receiver expects (RFC 5961 §3.2), counting only what was
   * forwarded: server→client first, then client→server (Haka's order). During the handshake the
   * client is answered as a refused SYN: RST|ACK acknowledging it (RFC 9293 §3.10.7.3).
   */
  #sendResets(flow: TcpFlow, link: { frame: Buffer; linkType: number; linkHeaderLength: number }, up: boolean): void {
    const host = this.#host;
    if (flow.verdict === FLOW_RESET) {
      // To the client, travelling server→client.
      const answered = flow.down.forwarded;
      // Refusing the SYN being handled: its sequence number is not tracked yet.
      const isn = flow.up.synSeen ? flow.up.isn : (this.#tcp?.seqRaw ?? 0);
      host.inject(
        answered
          ? craftRst({ ...link, sameDirection: !up, seq: flow.down.forwardedNxt >>> 0 })
          : craftRst({ ...link, sameDirection: !up, seq: 0, ack: seqAdd32(isn, 1) >>> 0 }),
        link.linkType,
      );
    }
    // To the server, travelling client→server: only if it has heard from the client at all.
    if (flow.up.forwarded) host.inject(craftRst({ ...link, sameDirection: up, seq: flow.up.forwardedNxt >>> 0 }), link.linkType);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  #end(flow: TcpFlow, reason: EndReason): void {
    if (flow.ended) return;
    flow.ended = true;
    flow.endReason = reason;
    this.#host.emit(events.endConnection, flow);
    // Streamed consumers get the end of their streams; what they hold goes when they finish.
    flow.up.hold?.end(false);
    flow.down.hold?.end(false);
    this.#host.flowEnded(flow);
    this.#release(flow);
  }

  #release(flow: TcpFlow): void {
    flow.up.stream?.clear();
    flow.down.stream?.clear();
    flow.up.stream = null;
    flow.down.stream = null;
  }

  #remove(flow: TcpFlow): void {
    this.#release(flow);
    this.table.remove(flow);
    // A list lost its head, maybe: the next expire() looks again.
    this.#expireCheck = -Infinity;
  }

  /** Ends and forgets flows idle past their state's timeout, by engine time. */
  expire(now: number): void {
    // A millisecond early rather than an ulp late: the lists decide with now - timeout.
    if (now < this.#expireCheck - 1e-3) return;
    const t = this.#timeouts;
    let next = Infinity;
    for (let list = LIST_EMBRYONIC; list <= LIST_CLOSING; list++) {
      const timeout = t[list] as number;
      this.#expireList(list, now - timeout);
      const head = this.table.oldest(list);
      if (head !== null && head.lastTime + timeout < next) next = head.lastTime + timeout;
    }
    this.#expireCheck = next;
    if (this.#emergency && this.memory < this.#memcap * EMERGENCY_END) this.#setEmergency(false);
  }

  #expireList(list: number, before: number): void {
    for (let f = this.table.oldest(list); f !== null && f.lastTime <= before; f = this.table.oldest(list)) {
      this.#tcp = null;
      if (!f.ended) this.#end(f, f.tcpState === TcpState.Closing && f.up.finSeen && f.down.finSeen ? 'fin' : 'timeout');
      this.#remove(f);
    }
  }

  /** End of input or shutdown: every open connection ends. */
  shutdown(): void {
    this.#tcp = null;
    for (const f of [...this.table.all()]) {
      if (!f.ended) this.#end(f, 'shutdown');
      this.#remove(f);
    }
  }
}

function invalidFlags(flags: number): boolean {
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN | TCP_PSH | TCP_URG)) === 0) return true;
  if ((flags & TCP_SYN) !== 0 && (flags & (TCP_RST | TCP_FIN)) !== 0) return true;
  return false;
}

/** The sequence number after a segment (int32): its bytes, and its SYN and FIN, counted. */
function segmentEnd(tcp: TcpPacket): number {
  const f = tcp.flagsByte;
  return seqAdd32(tcp.seqRaw, tcp.payloadLength + ((f & TCP_SYN) !== 0 ? 1 : 0) + ((f & TCP_FIN) !== 0 ? 1 : 0));
}

/** Which timeout list a live flow belongs to. */
function listOf(flow: TcpFlow): number {
  switch (flow.state) {
    case 'syn-sent':
    case 'syn-received':
      return LIST_EMBRYONIC;
    case 'established':
      return LIST_ESTABLISHED;
    default:
      return LIST_CLOSING;
  }
}


/** The segment's payload length on the wire (more than captured when a snaplen cut it). */
function wireLength(tcp: TcpPacket): number {
  const ip = tcp.ip;
  const ipEnd = ip.version === 4 ? ip.off + ip.len : ip.off + 40 + ip.payloadLength;
  return Math.max(0, ipEnd - tcp.off - tcp.hdrLen);
}
