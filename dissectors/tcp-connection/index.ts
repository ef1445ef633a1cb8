/**
 * The tcp_connection dissector: connection tracking, per-direction stream reassembly, the
 * flow actions (drop, reset, halfreset) and the connection events. The engine hands it every
 * dissected TCP segment while some rule listens to a tcpConnection event.
 *
 * The walk is one way. receive() returns the segment's verdict; on the way it raises the
 * declared events (the engine runs their rules and returns) and starts streamed consumers at a
 * direction's first byte. Everything else it produces (held frames that go or are dropped,
 * crafted RSTs, ended connections) goes into `out`, which the engine drains after each call.
 */
import type { AnomalyCounter } from '../anomalies.ts';
import type { Packet } from '../packet.ts';
import type { LinkLayer } from '../link.ts';
import type { TcpPacket } from '../tcp.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../tcp-flags.ts';
import { CONFLICT_MERGE, CONFLICT_REFUSE, CONFLICT_REWRITE, PIECE_BYTES, ReassemblyBudget, StreamReassembler, type ReassemblyLimits } from './reassembly.ts';
import { SegmentData } from './segment-data.ts';
import { FLOW_DROPPED, FLOW_HALF_RESET, FLOW_RESET, TcpFlow, type Direction, type EndReason, type FlowActions, type Sender } from './flow.ts';
import { FlowTable } from '../flow/table.ts';
import type { EventSink } from '../flow/event-sink.ts';
import { H_SYN, history } from './history.ts';
import { pickedUpMidstream, TcpState } from './state.ts';
import { tcpConnectionEvents as events, type TcpAnomaly } from './events.ts';
import type { AnomalyPolicy, PolicedTcpAnomaly } from './anomalies.ts';
import { flowResets } from './reset.ts';
import type { Hold } from './hold.ts';
import { forwarded, HoldKeeper, segmentEnd, type HoldCaps, type OpenStreams } from './hold-keeper.ts';
import { ackBack, editSegment } from './edit-segments.ts';
import { LIST_CLOSING, LIST_EMBRYONIC, listOf, Timeouts, type TimeoutConfig } from './timeouts.ts';
import { invalidFlags, trackSegment } from './track.ts';
import { ACCEPT, DROP, policyReason, UNNAMED_REASON as UNNAMED, type DropReason, type FlowAction } from '../verdict.ts';
import type { DataTracker } from './segment-data.ts';
import { OUT_ENDED, Outbox } from '../flow/outbox.ts';
import { Turn } from '../turn.ts';
import { decided, probeSegment, type Probe } from './app-detect.ts';
import { traceFlow, traceFlowAfter } from '../flow/trace-flow.ts';

export { tcpConnectionEvents } from './events.ts';
export type { TcpAnomaly } from './events.ts';
export { TcpFlow } from './flow.ts';
export { TcpStream } from './stream.ts';
export type { KeptFrame, Hold } from './hold.ts';
export { KEPT_FRAME_OVERHEAD } from './hold.ts';
export type { StreamScheduler } from './stream.ts';
export { ParserFeed, type ParserHost, type StreamParser } from './stream-parser.ts';
export type { Probe } from './app-detect.ts';
export { flowRecord } from './flow-log.ts';
export type { Direction, EndReason, FlowState, Endpoint, DirectionStats } from './flow.ts';
export type { TcpAnomalyKind, AnomalyPolicy } from './anomalies.ts';
export { OUT_DISCARD, OUT_ENDED, OUT_INJECT, OUT_RELEASE, Outbox, type CraftedFrame } from '../flow/outbox.ts';

export interface TcpConnectionConfig {
  maxFlows: number;
  /** Half-open connections held at once (a SYN flood's). */
  maxEmbryonic: number;
  timeouts: TimeoutConfig;
  /** Timeouts while the engine is past its memcap (emergency mode), Suricata's emergency-* timeouts. */
  emergencyTimeouts: TimeoutConfig;
  midstream: 'accept' | 'drop' | 'ignore';
  reassembly: { maxBytes: number; maxSegments: number; memcap: number };
  hold: HoldCaps;
  policies: Record<PolicedTcpAnomaly, AnomalyPolicy>;
}

export interface TrackerOptions {
  /** How the tracker raises events. */
  events: EventSink;
  /** Starts a direction's streamed consumers at its first byte. */
  openStreams: OpenStreams;
  /** The engine's frame view (id, bytes, verdict) and link view (where IP starts), re-pointed per frame. */
  packet: Packet;
  /** The engine's turn (dissectors/turn.ts): a reassembled datagram's fragments, the frame's trace. */
  turn?: Turn;
  link: LinkLayer;
  config: TcpConnectionConfig;
  anomalies: AnomalyCounter;
  /** Hands out flow ids; shared with the UDP tracker so that ids (and uids) are engine-unique. */
  nextId?: () => number;
  /** The engine's memcap, bytes (emergency mode past it). */
  memcap?: number;
  /**
   * Monitor only: every frame goes at once, none is held for streamed consumers, and a segment
   * that conflicts with bytes seen before still gives the stream its new bytes (the receiver
   * gets them: nothing is dropped or rewritten).
   */
  passThrough?: boolean;
  /** Live traffic (inline): the receivers of edited streams acknowledge them numbered anew (engine.ts EngineOptions.live). */
  live?: boolean;
  /**
   * The output can send a packet palisade rewrote (replay's capture: yes; NFQUEUE verdicts: not
   * yet). Without it, `normalize` drops the packet it would rewrite. Default true.
   */
  rewrite?: boolean;
  /**
   * A counter bumped for every connection that ends (index 0), so that a watchdog reading it sees
   * an expiry or a shutdown of a million connections as progress, not as a stuck rule.
   */
  progress?: Int32Array;
  /**
   * The reason a flow action (drop, reset, halfreset) gives its flow's frames: the engine names
   * the running rule and the frame it is about. Default: the action alone.
   */
  actionReason?: (action: FlowAction) => DropReason;
  /** Bytes the engine holds outside this tracker (IP fragments, UDP flows), for the memcap; read when a connection is admitted. */
  otherMemory?: () => number;
}

/**
 * What a segment that overlaps earlier bytes with other ones does to the stream, by policy: its
 * new bytes are taken unless the packet is dropped (refused whole, they would become a gap and
 * blind every rule to the rest of the connection); normalised, its overlapping bytes are also
 * rewritten to the first copy. Monitor only, nothing is dropped or rewritten.
 */
function conflictMode(o: TrackerOptions): number {
  const policy = o.config.policies['overlap-different-data'];
  if (o.passThrough === true) return CONFLICT_MERGE;
  if (policy === 'accept') return CONFLICT_MERGE;
  if (policy === 'normalize' && o.rewrite !== false) return CONFLICT_REWRITE;
  return CONFLICT_REFUSE;
}

/** A midstream packet under `tcp.midstream: drop`: Haka's "no connection found for tcp packet" alert is due. */
export const NO_CONNECTION_REASON: DropReason = policyReason('policy', 'tcp.midstream', 'tcp-no-connection');

/**
 * What one connection's own state costs, counted against the engine memcap: the flow, its two
 * endpoints and their reassemblers, its table entry. Measured (heap after a collection, 100,000
 * open connections): 645 bytes half-open, 918 with data one way, 1,352 with data both ways
 * (1,603 of RSS); its retention rings and held frames are counted apart.
 */
export const FLOW_BYTES = 1536;
/** A new connection refused at the memcap (only established ones left to forget). */
const MEMCAP_REASON: DropReason = policyReason('memcap', 'memcap', 'tcp-flow-table-full');
/** Emergency mode ends once the engine is back under this share of its memcap. */
const EMERGENCY_END = 0.75;

export class TcpTracker implements FlowActions, DataTracker {
  /** @internal the connections, by 4-tuple and by timeout list (its flows' table links are internal too). */
  readonly table = new FlowTable<TcpFlow>(3);
  /** What the engine carries out after each call (see the module's comment). */
  readonly out = new Outbox();
  /** Frames held for streamed consumers. */
  readonly holding: HoldKeeper;
  /** Protocol detection (app-detect.ts): set by the engine with the rules, null for none. */
  probe: Probe | null = null;
  /** A dissector on by use may be turned on by the probe: flows keep their streams until it has looked. */
  probeData = false;
  /** Streamed rules exist: every connection's data is streamed (the engine sets it with the rules). */
  streaming = false;
  readonly #events: EventSink;
  readonly #packet: Packet;
  readonly #link: LinkLayer;
  readonly #config: TcpConnectionConfig;
  readonly #stats: AnomalyCounter;
  readonly #budget: ReassemblyBudget;
  readonly #data: SegmentData;
  readonly #nextId: () => number;
  readonly #timeouts: Timeouts;
  /** Every stream's reassembly limits, pieces counted at what they cost. */
  readonly #limits: ReassemblyLimits;
  /** The engine's memcap (bytes). */
  readonly #memcap: number;
  // Which events have listeners, asked once: the rule set is fixed by the first packet.
  #wantData: boolean | undefined = undefined;
  /** Live traffic: acknowledgments of edited streams are numbered back (EngineOptions.live). */
  readonly #live: boolean;
  #wantAnomalies: boolean | undefined = undefined;
  /** The segment being handled, for actions called from rules. */
  #tcp: TcpPacket | null = null;
  #fromClient = true;
  /** The flow of the segment being handled. */
  #current: TcpFlow | null = null;
  /** Engine time (seconds), from the latest expire(): the engine calls it before every frame. */
  #now = 0;
  readonly #progress: Int32Array;
  readonly #actionReason: (action: FlowAction) => DropReason;
  readonly #otherMemory: () => number;
  readonly #turn: Turn;
  /** Each policed anomaly's drop reason, made on first use. */
  readonly #policyReasons = new Map<PolicedTcpAnomaly, DropReason>();
  /** The reason of the last anomaly policy that dropped something in this packet. */
  #anomalyReason: DropReason | null = null;
  /** Why #create() refused the last new connection: the memcap, or the flow table's size. */
  #refusal: DropReason = UNNAMED;

  constructor(o: TrackerOptions) {
    this.#actionReason = o.actionReason ?? ((action) => ({ kind: 'flow-action', action }));
    this.#otherMemory = o.otherMemory ?? ((): number => 0);
    this.#turn = o.turn ?? new Turn();
    let id = 1;
    this.#nextId = o.nextId ?? (() => id++);
    this.#events = o.events;
    this.#packet = o.packet;
    this.#link = o.link;
    this.#config = o.config;
    this.#stats = o.anomalies;
    this.#memcap = o.memcap ?? Infinity;
    this.#progress = o.progress ?? new Int32Array(1);
    this.#budget = new ReassemblyBudget(o.config.reassembly.memcap);
    this.#limits = { maxBytes: o.config.reassembly.maxBytes, maxSegments: o.config.reassembly.maxSegments, pieceBytes: PIECE_BYTES };
    this.#timeouts = new Timeouts(o.config.timeouts, o.config.emergencyTimeouts);
    this.#live = o.live === true;
    this.holding = new HoldKeeper(o.packet, this.#turn, o.link, o.config.hold, this.out, this, o.openStreams, o.passThrough !== true);
    this.#data = new SegmentData(o.events, this, this.holding, conflictMode(o));
  }

  /** Bytes the engine holds, as its memcap counts them: flows, reassembly, held frames, the rest. */
  get memory(): number {
    return this.table.size * FLOW_BYTES + this.#budget.held + this.holding.bytes + this.#otherMemory();
  }

  /** The engine is past its memcap: emergency timeouts, and new connections make room first. */
  get emergency(): boolean {
    return this.#timeouts.emergency;
  }

  get reassemblyMemory(): number {
    return this.#budget.used;
  }

  /** Bytes of frames held for streamed consumers now. */
  get heldMemory(): number {
    return this.holding.bytes;
  }

  /** The rule set changed (ctl reload): which events have listeners is asked again. */
  rulesChanged(streaming: boolean): void {
    this.#wantData = undefined;
    this.#wantAnomalies = undefined;
    this.streaming = streaming;
  }

  /** DataTracker: this flow's bytes go to streamed consumers: streamed rules, or a dissector enabled on it. */
  streamed(flow: TcpFlow): boolean {
    return this.streaming || flow.dissectors !== null || (flow.up.hold?.gate ?? null) !== null;
  }

  /** Handles one segment: ACCEPT or DROP (the packet's reason says why). */
  receive(tcp: TcpPacket): number {
    try {
      return this.#receive(tcp);
    } finally {
      // The segment is done with: an action from a rule between packets finds none in hand.
      this.#tcp = null;
      this.#current = null;
    }
  }

  #receive(tcp: TcpPacket): number {
    this.holding.begin();
    this.#anomalyReason = null;
    const data = this.#data;
    data.freshEnd = 0;
    const events_ = this.#events;
    const ip = tcp.ip;
    let flow = this.table.lookup(ip, tcp.srcport, tcp.dstport);
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
        return this.#late(flow, tcp);
      }
    } else if (flow !== null && syn && !ack && this.table.fromClient && flow.up.synSeen && tcp.seqRaw !== flow.up.isn && flow.tcpState !== TcpState.SynSent) {
      // A SYN with another ISN on an open connection: the client reused the port.
      this.#end(flow, 'reuse');
      this.#remove(flow);
      flow = null;
    }

    const created = flow === null;
    if (flow === null) {
      if (invalidFlags(flags)) {
        this.#stats.anomaly('tcp-invalid-flags');
        return this.#config.policies['invalid-flags'] !== 'accept' ? this.#drop(this.#policyReason('invalid-flags')) : ACCEPT;
      }
      const midstream = !(syn && !ack);
      if (midstream) {
        const policy = this.#config.midstream;
        if (policy === 'ignore') return ACCEPT;
        if (policy === 'drop') {
          this.#stats.anomaly('tcp-no-connection');
          return this.#drop(NO_CONNECTION_REASON);
        }
      }
      flow = this.#create(tcp, hash, midstream);
      if (flow === null) return this.#config.policies['flow-table-full'] !== 'accept' ? this.#drop(this.#refusal) : ACCEPT;
      this.#fromClient = this.table.fromClient;
      this.#tcp = tcp;
      this.#current = flow;
      if (this.#turn.trace !== null) traceFlow(this.#turn.trace, 'tcp', flow, true);
      events_.emit(events.newConnection, flow, tcp);
      if (this.#packet.dropped || flow.verdict !== 0) return this.#refuse(flow, tcp);
    }

    const up = this.table.fromClient;
    this.#fromClient = up;
    this.#tcp = tcp;
    this.#current = flow;
    if (!created && this.#turn.trace !== null) traceFlow(this.#turn.trace, 'tcp', flow, false);
    const sender = up ? flow.up : flow.down;
    const receiver = up ? flow.down : flow.up;
    const direction: Direction = up ? 'up' : 'down';
    sender.packets++;
    sender.ipBytes += ip.len;
    flow.lastTime = this.#now;

    // A dropped or reset flow's packets are dropped without rules (and leave no packet in hand
    // for an action from a streamed rule to mistake for its own).
    if (flow.verdict !== 0) return this.#drop(flow.reason ?? UNNAMED);
    // The receiver of edited bytes acknowledges them as it got them: numbered back, the sender's way.
    if (receiver.edits !== null && this.#live) ackBack(tcp, receiver.edits);

    // A rule on anomalies wants the stream ones too (overlap-different-data, gap): they need
    // reassembly. A flow dissector wants the flows it was enabled on (by newConnection) only.
    const wantAll = (this.#wantData ??= events_.listening(events.receiveData) || events_.listening(events.anomaly));
    // Which protocol it speaks, from the client's first bytes: a dissector on by use is turned on here.
    if (!flow.probed && up && this.probe !== null) {
      const kept = probeSegment(flow, tcp, this.probe);
      if (decided(flow)) {
        // A dissector turned on now reads the stream from its first byte; what waited for the decision goes on.
        this.holding.decided(flow, kept);
        // No dissector wants it after all: its streams, kept while it was probed, stop.
        if (this.probeData && !wantAll && !this.streamed(flow)) flow.ignoreData();
      } else if (this.probeData && flow.probeHead !== null) {
        // Too few bytes to tell: they wait (a request written a byte at a time leaves nothing before its rule).
        this.holding.gate(flow);
      }
    }
    // A dissector on by use needs the streams of a flow still probed from their first byte.
    const wantData = wantAll || this.streamed(flow) || (this.probeData && !flow.probed);
    if (trackSegment(this, flow, tcp, sender, receiver, up, direction, wantData) === DROP || this.#stopped(flow)) return this.#finish(flow, true);
    if (flow.bypassed) return this.#finish(flow, false);

    events_.emit(events.receivePacket, flow, tcp, direction);
    if (this.#stopped(flow)) return this.#finish(flow, true);

    const len = tcp.payloadLength;
    sender.bytes += len;
    if (len > 0 && sender.stream !== null && !sender.ignoreData) {
      if (data.reassemble(flow, tcp, sender, direction)) return this.#finish(flow, true);
    }
    // The receiver acknowledges: retained bytes go; bytes it acknowledges unseen are waited for.
    if (ack && receiver.stream !== null && !receiver.ignoreData) data.acknowledge(tcp, receiver);
    if (this.#stopped(flow)) return this.#finish(flow, true);
    const hold = sender.hold;
    if (hold !== null && hold.active && hold.queue.length + hold.consumers > 0) {
      if (this.holding.hold(flow, tcp, hold, data.freshEnd, direction)) return this.#finish(flow, true);
    }
    return this.#finish(flow, this.#stopped(flow));
  }

  /** A packet of a finished (or dropped/reset) connection still in the table: no rules run. */
  #late(flow: TcpFlow, tcp: TcpPacket): number {
    if (this.#turn.trace !== null) traceFlow(this.#turn.trace, 'tcp', flow, false);
    const ip = tcp.ip;
    const up = this.table.fromClient;
    flow.lastTime = this.#now;
    const late = up ? flow.up : flow.down;
    late.packets++;
    late.ipBytes += ip.len;
    if (flow.verdict !== 0) return this.#drop(flow.reason ?? UNNAMED);
    if ((tcp.flagsByte & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && tcp.payloadLength > 0 && (flow.up.rstSeen || flow.down.rstSeen)) {
      // The flow has ended but is still in the table: the anomaly event still names it.
      return this.anomaly(flow, 'data-after-rst', up ? 'up' : 'down', tcp) ? this.#drop(this.#anomalyReason ?? UNNAMED) : ACCEPT;
    }
    // After the end, an edited connection is still numbered as its receivers count (a last ACK, a resent FIN).
    const other = up ? flow.down : flow.up;
    if (other.edits !== null && this.#live) ackBack(tcp, other.edits);
    if (late.edits !== null) editSegment(tcp, late.edits);
    return ACCEPT;
  }

  /**
   * newConnection refused the connection: it never opens. A retransmitted SYN is evaluated
   * again (Haka); other packets of the tuple (a capture recorded without palisade goes on after
   * the SYN) are dropped silently until the timeout instead of opening midstream flows. A
   * reset() here has already answered the SYN.
   */
  #refuse(flow: TcpFlow, tcp: TcpPacket): number {
    // Refused by a rule's packet drop: the flow's reason is that rule's.
    flow.reason ??= this.#packet.reason ?? UNNAMED;
    if (flow.verdict === 0) flow.verdict = FLOW_DROPPED;
    this.#packet.dropFor(flow.reason);
    flow.refused = true;
    // The refused packet still counts in the flow record (Zeek: S0, history "S").
    const first = this.table.fromClient ? flow.up : flow.down;
    first.packets++;
    first.ipBytes += tcp.ip.len;
    if ((tcp.flagsByte & TCP_SYN) !== 0) history(flow, flow.up, true, H_SYN);
    this.#end(flow, 'dropped');
    this.#touch(flow, LIST_CLOSING);
    if (this.#turn.trace !== null) traceFlowAfter(this.#turn.trace, flow);
    return DROP;
  }

  /** Read through a call: rules run between the checks and may have dropped packet or flow. */
  #stopped(flow: TcpFlow): boolean {
    return this.#packet.dropped || flow.verdict !== 0;
  }

  /** After rules: what the receivers expect now, and the end of the connection. */
  #finish(flow: TcpFlow, drop: boolean): number {
    const tcp = this.#tcp;
    if (drop) {
      this.holding.cancel();
      // Dropped by a rule or an action (their reason is on the packet already), its flow's drop, or a policy.
      if (this.#packet.reason === null) this.#packet.dropFor(flow.verdict !== 0 ? (flow.reason ?? UNNAMED) : (this.#anomalyReason ?? UNNAMED));
    }
    if (!drop && tcp !== null && !this.holding.heldNow) {
      const sender = this.#fromClient ? flow.up : flow.down;
      // What the receiver has been given: a RST must carry the next of these (RFC 5961).
      // A held frame counts when it is released.
      if (!flow.ended) forwarded(sender, segmentEnd(tcp));
      // Going out now, after edits to its direction's stream: renumbered, its bytes edited (a held frame is, as it is released).
      if (sender.edits !== null) editSegment(tcp, sender.edits);
    }
    if (!flow.ended) {
      if (flow.verdict !== 0) this.#end(flow, flow.verdict === FLOW_DROPPED ? 'dropped' : 'rst');
      else if (flow.tcpState === TcpState.Closed) this.#end(flow, 'fin');
      else if (flow.tcpState === TcpState.Reset) this.#end(flow, 'rst');
    }
    this.#touch(flow, flow.ended ? LIST_CLOSING : listOf(flow));
    if (this.#turn.trace !== null) traceFlowAfter(this.#turn.trace, flow);
    return drop ? DROP : ACCEPT;
  }

  #create(tcp: TcpPacket, hash: number, midstream: boolean): TcpFlow | null {
    // Room for the new flow itself: the memcap is not passed by the connection it admits.
    if (this.#memcap !== Infinity && this.memory + FLOW_BYTES > this.#memcap && !this.#makeRoom()) {
      this.#stats.anomaly('tcp-flow-table-full');
      this.#refusal = MEMCAP_REASON;
      return null;
    }
    // A SYN flood is bounded by half-open connections, not only by the whole table: the oldest
    // half-open one is forgotten (a real client retransmits its SYN).
    if (this.table.count(LIST_EMBRYONIC) >= this.#config.maxEmbryonic) {
      const victim = this.table.oldest(LIST_EMBRYONIC);
      if (victim !== null) this.#evict(victim);
    }
    if (this.table.size >= this.#config.maxFlows) {
      // SYN floods fill the table with embryonic flows: the oldest makes room first.
      const victim = this.table.oldest(LIST_EMBRYONIC) ?? this.table.oldest(LIST_CLOSING);
      if (victim === null) {
        this.#stats.anomaly('tcp-flow-table-full');
        this.#refusal = this.#policyReason('flow-table-full');
        return null;
      }
      this.#evict(victim);
    }
    // Midstream: the side sending a SYN/ACK is the server; otherwise the lower port is.
    const srcIsClient = !midstream || ((tcp.flagsByte & TCP_SYN) === 0 ? tcp.dstport <= tcp.srcport : false);
    const flow = new TcpFlow(this, this.#nextId(), tcp.ip, srcIsClient, tcp.srcport, tcp.dstport, midstream, this.#now);
    flow.hash = hash;
    this.table.insert(flow, LIST_EMBRYONIC);
    this.#timeouts.deadline(flow, LIST_EMBRYONIC);
    this.table.fromClient = srcIsClient;
    if (midstream) pickedUpMidstream(flow);
    return flow;
  }

  /**
   * A new connection with the engine at its memcap: emergency mode, and the oldest half-open, then
   * closing, connections forgotten (endReason memcap) until there is room. False when only
   * established ones are left: they are what palisade is there to inspect.
   */
  #makeRoom(): boolean {
    if (!this.#timeouts.emergency) this.#setEmergency(true);
    for (let i = 0; i < 16 && this.memory + FLOW_BYTES > this.#memcap; i++) {
      const victim = this.table.oldest(LIST_EMBRYONIC) ?? this.table.oldest(LIST_CLOSING);
      if (victim === null) return false;
      this.#evict(victim);
    }
    return this.memory + FLOW_BYTES <= this.#memcap;
  }

  #setEmergency(on: boolean): void {
    this.#timeouts.emergency = on;
    if (on) this.#stats.anomaly('memcap-emergency');
  }

  /** Forgets a flow to make room (endReason memcap). */
  #evict(victim: TcpFlow): void {
    if (!victim.ended) this.#end(victim, 'memcap');
    this.#remove(victim);
  }

  /** Moves a flow to the tail of a timeout list (it was just active). */
  #touch(flow: TcpFlow, list: number): void {
    this.table.touch(flow, list);
    this.#timeouts.deadline(flow, list);
  }

  /** SegmentTracker: the sender's reassembler, made on first use. */
  stream(sender: Sender): StreamReassembler {
    sender.stream ??= new StreamReassembler(this.#limits, this.#budget);
    return sender.stream;
  }

  /** SegmentTracker: counts and raises an anomaly; true when its policy drops the packet (or the flow). */
  anomaly(flow: TcpFlow, kind: PolicedTcpAnomaly, direction: Direction, packet?: TcpPacket): boolean {
    this.#stats.anomaly(`tcp-${kind}`);
    if ((this.#wantAnomalies ??= this.#events.listening(events.anomaly))) {
      const a: TcpAnomaly = packet === undefined ? { kind, direction } : { kind, direction, packet };
      this.#events.emit(events.anomaly, flow, a);
    }
    const policy = this.#config.policies[kind];
    const reason = this.#policyReason(kind);
    // The packet's drop, when it follows: this policy's (normalize names it too, in case segment-data.ts cannot rewrite).
    if (policy !== 'accept') this.#anomalyReason = reason;
    // hold-cap drops the flow on either drop policy (hold-keeper.ts).
    if (policy === 'drop-flow' || (kind === 'hold-cap' && policy !== 'accept')) {
      if (flow.verdict === 0) {
        flow.reason ??= reason;
        if (policy === 'drop-flow') this.drop(flow);
      }
    }
    // normalize lets the packet go (segment-data.ts drops it when it could not be rewritten).
    return (policy !== 'accept' && policy !== 'normalize') || this.#packet.dropped;
  }

  /** A policed anomaly's drop reason: `tcp.policies.<kind>`, or `hold-cap`. */
  #policyReason(kind: PolicedTcpAnomaly): DropReason {
    let r = this.#policyReasons.get(kind);
    if (r === undefined) {
      r = policyReason(kind === 'hold-cap' ? 'hold-cap' : 'policy', `tcp.policies.${kind}`, `tcp-${kind}`);
      this.#policyReasons.set(kind, r);
    }
    return r;
  }

  /** Drops the current packet for `reason` (unless it was dropped before: the first reason stands). */
  #drop(reason: DropReason): number {
    this.#packet.dropFor(reason);
    return DROP;
  }

  // ---- actions (FlowActions) ----------------------------------------------------------------

  /** Inside a packet of this flow (a rule on its events), not from a streamed rule between packets. */
  #inPacketOf(flow: TcpFlow): boolean {
    return this.#current === flow && this.#tcp !== null;
  }

  drop(flow: TcpFlow): void {
    if (flow.verdict === 0) {
      flow.verdict = FLOW_DROPPED;
      flow.reason ??= this.#actionReason('drop');
    }
    if (this.#inPacketOf(flow)) this.#packet.dropFor(flow.reason ?? UNNAMED);
    this.holding.dropAll(flow);
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
      if (this.#inPacketOf(flow)) this.#packet.dropFor(flow.reason ?? UNNAMED);
      return;
    }
    flow.verdict = half ? FLOW_HALF_RESET : FLOW_RESET;
    flow.reason ??= this.#actionReason(half ? 'halfreset' : 'reset');
    // What it held never reaches the receiver: the RSTs count only what went (RFC 5961).
    this.holding.dropAll(flow);
    if (flow.ended) return;
    if (this.#inPacketOf(flow)) {
      const pkt = this.#packet;
      pkt.dropFor(flow.reason);
      // Refusing the SYN being handled: its sequence number is not tracked yet.
      flowResets(flow, { frame: pkt.bytes, linkType: pkt.linkType, linkHeaderLength: this.#link.offset }, this.#fromClient, this.#tcp?.seqRaw ?? 0, this.out);
      return;
    }
    // From a streamed rule between packets: the latest held frame of the flow is the template.
    const a = flow.up.hold?.template ?? null;
    const b = flow.down.hold?.template ?? null;
    const t = a === null ? b : b === null || a.id > b.id ? a : b;
    if (t !== null) flowResets(flow, { frame: t.bytes, linkType: t.linkType, linkHeaderLength: t.linkOffset }, t === a, 0, this.out);
    this.#endOutside(flow);
  }

  send(flow: TcpFlow, direction?: Direction): void {
    this.holding.send(flow, direction);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  #end(flow: TcpFlow, reason: EndReason): void {
    if (flow.ended) return;
    // Bytes acknowledged and never seen: a gap, and what was buffered after them goes to the rules.
    if (flow.up.ackedUnseen || flow.down.ackedUnseen) {
      this.#data.giveUpUnseen(flow);
      // A gap policy of drop-flow ended it meanwhile (read through a call: TypeScript cannot see it),
      // or dropped it inside this packet: it ends as dropped.
      if (this.#endedMeanwhile(flow)) return;
      if (flow.verdict !== 0 && reason !== 'dropped' && reason !== 'rst') reason = flow.verdict === FLOW_DROPPED ? 'dropped' : 'rst';
    }
    flow.ended = true;
    flow.endReason = reason;
    this.#progress[0] = (this.#progress[0] as number) + 1;
    // Push parsers see the end first: what they raise at it (a response ended by the close) comes before endConnection.
    flow.up.hold?.endParsers(false);
    flow.down.hold?.endParsers(false);
    this.#events.emit(events.endConnection, flow);
    // Streamed consumers get the end of their streams; what they hold goes when they finish.
    flow.up.hold?.end(false);
    flow.down.hold?.end(false);
    // Holds with only push parsers, done now and holding nothing, go: the flow may stay in the
    // table for its closing timeout, and what parsed it need not.
    if (releasable(flow.up.hold)) flow.up.hold = null;
    if (releasable(flow.down.hold)) flow.down.hold = null;
    flow.dissectorState = null;
    this.out.push(OUT_ENDED, flow);
    this.#release(flow);
  }

  #endedMeanwhile(flow: TcpFlow): boolean {
    return flow.ended;
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
    this.#timeouts.check = -Infinity;
  }

  /** Engine time is now `now` (seconds); true when some flow may be idle past its timeout (expire() ends it). */
  advance(now: number): boolean {
    this.#now = now;
    return this.#timeouts.due(now);
  }

  /** Engine time is now `now` (seconds): ends and forgets flows idle past their state's timeout. */
  expire(now: number): void {
    this.#now = now;
    const timeouts = this.#timeouts;
    if (!timeouts.due(now)) return;
    let next = Infinity;
    for (let list = LIST_EMBRYONIC; list <= LIST_CLOSING; list++) {
      const timeout = timeouts.seconds(list);
      const before = now - timeout;
      for (let f = this.table.oldest(list); f !== null && f.lastTime <= before; f = this.table.oldest(list)) {
        if (!f.ended) this.#end(f, f.tcpState === TcpState.Closing && f.up.finSeen && f.down.finSeen ? 'fin' : 'timeout');
        this.#remove(f);
      }
      const head = this.table.oldest(list);
      if (head !== null && head.lastTime + timeout < next) next = head.lastTime + timeout;
    }
    timeouts.check = next;
    if (timeouts.emergency && this.memory < this.#memcap * EMERGENCY_END) this.#setEmergency(false);
  }

  /** End of input or shutdown: open connections end, `max` of them at most (the caller drains the outbox between calls); true once none is left. */
  shutdown(max = Infinity): boolean {
    const table = this.table;
    for (let n = 0; n < max; n++) {
      // Oldest first in each list, as the lists keep them: the order is the capture's.
      const f = table.oldest(0) ?? table.oldest(1) ?? table.oldest(2);
      if (f === null) return true;
      if (!f.ended) this.#end(f, 'shutdown');
      this.#remove(f);
    }
    return table.size === 0;
  }
}

/** A hold that only push parsers used (they have ended) and that holds no frame. */
function releasable(hold: Hold | null): boolean {
  return hold !== null && hold.streams.length === 0 && hold.queue.length === 0;
}
