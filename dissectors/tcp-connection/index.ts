/**
 * The tcp_connection dissector: connection tracking, per-direction stream reassembly, the
 * flow actions (drop, reset, halfreset) and the connection events. The engine hands it every
 * dissected TCP segment while some rule listens to a tcpConnection event.
 */
import type { Packet } from '../../core/packet.ts';
import type { Stats } from '../../core/stats.ts';
import type { AnyEvent } from '../../core/events.ts';
import type { TcpPacket } from '../tcp.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../tcp-flags.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import { ReassemblyBudget, SEG_CONFLICT, SEG_DUPLICATE, SEG_MEMCAP, SEG_OUT_OF_WINDOW, StreamReassembler, type StreamSink } from './reassembly.ts';
import { FLOW_DROPPED, FLOW_HALF_RESET, FLOW_RESET, TcpFlow, type Direction, type EndReason, type FlowActions, type Sender } from './flow.ts';
import { FlowTable } from '../flow-table.ts';
import { endpointKey } from '../flow-endpoints.ts';

// The tracker's timeout lists.
const LIST_EMBRYONIC = 0;
const LIST_ESTABLISHED = 1;
const LIST_CLOSING = 2;
import { H_ACK, H_DATA, H_FIN, H_GAP, H_INCONSISTENT, H_MULTIFLAG, H_RETRANS, H_RST, H_SYN, H_SYNACK, H_ZEROWIN, history } from './state.ts';
import { tcpConnectionEvents as events, type TcpAnomaly } from './events.ts';
import type { AnomalyPolicy, TcpAnomalyKind } from './anomalies.ts';
import { craftRst } from './reset.ts';
import { releaseFlowState } from '../../core/rules.ts';

export { tcpConnectionEvents } from './events.ts';
export type { TcpAnomaly } from './events.ts';
export { TcpFlow } from './flow.ts';
export type { Direction, EndReason, FlowState, Endpoint, DirectionStats } from './flow.ts';
export type { TcpAnomalyKind, AnomalyPolicy } from './anomalies.ts';

export interface TcpConnectionConfig {
  maxFlows: number;
  timeouts: { embryonic: number; established: number; closing: number };
  midstream: 'accept' | 'drop' | 'ignore';
  reassembly: { maxBytes: number; maxSegments: number; memcap: number };
  policies: Record<TcpAnomalyKind, AnomalyPolicy>;
}

/** What the tracker needs from the engine. */
export interface TrackerHost {
  readonly packet: Packet;
  /** Engine time, seconds. */
  readonly now: number;
  /** Length of the current frame's link header. */
  readonly linkOffset: number;
  // Function-typed properties: the engine builds the host from arrow functions.
  emit: (ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;
  listening: (ev: AnyEvent) => boolean;
  /** Sends a crafted frame now (replay: into the output at the current packet's time). */
  inject: (frame: Buffer, linkType: number) => void;
  /** Haka's "no connection found for tcp packet" alert. */
  alert: (description: string) => void;
  /** A connection ended (for the --flows log). */
  flowEnded: (flow: TcpFlow) => void;
}

const ACCEPT = 0;
const DROP = 1;

/** Delivers reassembled bytes as receiveData events; one per tracker, re-aimed per segment. */
class DataSink implements StreamSink {
  flow: TcpFlow | null = null;
  direction: Direction = 'up';
  constructor(private readonly host: TrackerHost) {}
  data(chunk: Buffer, offset: number): void {
    const flow = this.flow;
    if (flow === null || flow.verdict !== 0) return;
    this.host.emit(events.receiveData, flow, chunk, this.direction, offset);
  }
}

export class TcpTracker implements FlowActions {
  readonly table = new FlowTable<TcpFlow>(3);
  readonly #host: TrackerHost;
  readonly #config: TcpConnectionConfig;
  readonly #stats: Stats;
  readonly #budget: ReassemblyBudget;
  readonly #sink: DataSink;
  /** Hands out flow ids; shared with the UDP tracker so that ids (and uids) are engine-unique. */
  readonly #nextId: () => number;
  // Which events have listeners, asked once: the rule set is fixed by the first packet.
  #wantData: boolean | undefined = undefined;
  #wantAnomalies: boolean | undefined = undefined;
  /** The segment being handled, for actions called from rules. */
  #tcp: TcpPacket | null = null;
  #up = true;

  constructor(host: TrackerHost, config: TcpConnectionConfig, stats: Stats, nextId?: () => number) {
    let id = 1;
    this.#nextId = nextId ?? (() => id++);
    this.#host = host;
    this.#config = config;
    this.#stats = stats;
    this.#budget = new ReassemblyBudget(config.reassembly.memcap);
    this.#sink = new DataSink(host);
  }

  get reassemblyMemory(): number {
    return this.#budget.used;
  }

  /** Handles one segment; returns true when the packet must be dropped. */
  receive(tcp: TcpPacket): boolean {
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
        flow.lastTime = host.now;
        const late = this.table.up ? flow.stats.up : flow.stats.down;
        late.packets++;
        late.ipBytes += ip.len;
        if (flow.verdict !== 0) return true;
        if ((flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0 && tcp.payloadLength > 0) {
          const s = this.table.up ? flow.up : flow.down;
          // The flow has ended but is still in the table: the anomaly event still names it.
          if (s.rstSeen || (this.table.up ? flow.down : flow.up).rstSeen) return this.#anomaly(flow, 'data-after-rst', this.table.up ? 'up' : 'down', tcp);
        }
        return false;
      }
    } else if (flow !== null && syn && !ack && this.table.up && flow.up.synSeen && tcp.seqRaw !== flow.up.isn && flow.state !== 'syn-sent') {
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
      this.#up = this.table.up;
      this.#tcp = tcp;
      host.emit(events.newConnection, flow, tcp);
      if (host.packet.dropped || flow.verdict !== 0) {
        // Refused: the connection never opens. A retransmitted SYN is evaluated again (Haka);
        // other packets of the tuple (a capture recorded without palisade goes on after the
        // SYN) are dropped silently until the timeout instead of opening midstream flows.
        // A reset() here has already answered the SYN.
        if (flow.verdict === 0) flow.verdict = FLOW_DROPPED;
        flow.refused = true;
        // The refused packet still counts in the flow record (Zeek: S0, history "S").
        const first = this.table.up ? flow.stats.up : flow.stats.down;
        first.packets++;
        first.ipBytes += ip.len;
        if (syn) history(flow, flow.up, true, H_SYN);
        this.#end(flow, 'dropped');
        this.table.touch(flow, LIST_CLOSING);
        this.#tcp = null;
        return true;
      }
    }

    const up = this.table.up;
    this.#up = up;
    this.#tcp = tcp;
    const sender = up ? flow.up : flow.down;
    const receiver = up ? flow.down : flow.up;
    const direction: Direction = up ? 'up' : 'down';
    const dstats = up ? flow.stats.up : flow.stats.down;
    dstats.packets++;
    dstats.ipBytes += ip.len;
    flow.lastTime = host.now;

    if (flow.verdict !== 0) return true;

    const verdict = this.#track(flow, tcp, sender, receiver, up, direction);
    if (verdict === DROP || this.#stopped(flow)) return this.#finish(flow, true);
    if (flow.bypassed) return this.#finish(flow, false);

    host.emit(events.receivePacket, flow, tcp, direction);
    if (this.#stopped(flow)) return this.#finish(flow, true);

    const len = tcp.payloadLength;
    dstats.bytes += len;
    if (len > 0 && sender.stream !== null && !sender.ignoreData) {
      if (this.#reassemble(flow, tcp, sender, direction)) return this.#finish(flow, true);
    }
    // The receiver acknowledges: retained bytes go; an ack past a hole means it will never fill.
    if (ack && receiver.stream !== null && !receiver.ignoreData) this.#acknowledge(flow, tcp, receiver, up ? 'down' : 'up');
    return this.#finish(flow, this.#stopped(flow));
  }

  /** Read through a call: rules run between the checks and may have dropped packet or flow. */
  #stopped(flow: TcpFlow): boolean {
    return this.#host.packet.dropped || flow.verdict !== 0;
  }

  /** After rules: what the receivers expect now, and the end of the connection. */
  #finish(flow: TcpFlow, drop: boolean): boolean {
    const tcp = this.#tcp;
    if (!drop && tcp !== null && !flow.ended) {
      // What the receiver has been given: a RST must carry the next of these (RFC 5961).
      const sender = this.#up ? flow.up : flow.down;
      const end = seqAdd32(tcp.seqRaw, tcp.payloadLength + ((tcp.flagsByte & TCP_SYN) !== 0 ? 1 : 0) + ((tcp.flagsByte & TCP_FIN) !== 0 ? 1 : 0));
      if (!sender.forwarded || seqGt(end, sender.forwardedNxt)) sender.forwardedNxt = end;
      sender.forwarded = true;
    }
    if (!flow.ended) {
      if (flow.verdict !== 0) this.#end(flow, flow.verdict === FLOW_DROPPED ? 'dropped' : 'rst');
      else if (flow.state === 'closed') this.#end(flow, 'fin');
      else if (flow.state === 'reset') this.#end(flow, 'rst');
    }
    this.table.touch(flow, flow.ended ? LIST_CLOSING : listOf(flow));
    this.#tcp = null;
    return drop;
  }

  #create(tcp: TcpPacket, hash: number, midstream: boolean): TcpFlow | null {
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
    const src = endpointKey(ip, true, tcp.srcport);
    const dst = endpointKey(ip, false, tcp.dstport);
    const flow = new TcpFlow(this, this.#nextId(), ip.version, srcIsClient ? src : dst, srcIsClient ? dst : src, midstream, this.#host.now);
    flow.hash = hash;
    this.table.insert(flow, LIST_EMBRYONIC);
    this.table.up = srcIsClient;
    if (midstream) flow.state = 'established';
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
    const wantData = (this.#wantData ??= this.#host.listening(events.receiveData));

    if ((flags & TCP_RST) !== 0) {
      // RFC 5961 §3.2: only an RST in the receiver's window ends the connection.
      // RFC 5961 §3.2: only a RST at exactly the next expected sequence number resets; one
      // elsewhere in the window earns a challenge ACK and the connection goes on; one outside
      // it is ignored. In SYN-SENT, a RST acknowledging the SYN is a refusal (RFC 9293 §3.10.7.3).
      const exact =
        !sender.nxtValid ||
        seq === sender.nxt ||
        (sender.forwarded && seq === sender.forwardedNxt) ||
        (flow.state === 'syn-sent' && (flags & TCP_ACK) !== 0 && tcp.ackRaw === seqAdd32(receiver.isn, 1));
      history(flow, sender, up, H_RST);
      if (exact) {
        sender.rstSeen = true;
        flow.state = 'reset';
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
      if (synAck) {
        if (flow.state === 'syn-sent') flow.state = 'syn-received';
      } else if (!up && flow.state === 'syn-sent') {
        flow.state = 'syn-received'; // simultaneous open
      }
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
      if ((flow.state === 'syn-received' || flow.state === 'syn-sent') && (flags & TCP_ACK) !== 0 && receiver.synSeen && tcp.ackRaw === seqAdd32(receiver.isn, 1)) {
        flow.state = 'established';
      }
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
      if (flow.state !== 'reset') flow.state = 'closing';
    }
    // A FIN is done when the other side acknowledges it; both done: closed (RFC 9293 §3.6).
    if ((flags & TCP_ACK) !== 0 && receiver.finSeen && seqDiff(tcp.ackRaw, seqAdd32(receiver.finSeq, 1)) >= 0) receiver.finAcked = true;
    if (sender.finAcked && receiver.finAcked) flow.state = 'closed';
    return ACCEPT;
  }

  #stream(sender: Sender): StreamReassembler {
    sender.stream ??= new StreamReassembler(
      { maxBytes: this.#config.reassembly.maxBytes, maxSegments: this.#config.reassembly.maxSegments },
      this.#budget,
    );
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
    const r = stream.add(seq, tcp.payload, sink, Math.max(flow.up === sender ? flow.down.window : flow.up.window, 65535) * 64);
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
    const wire = wireLength(tcp);
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
  #anomaly(flow: TcpFlow, kind: TcpAnomalyKind, direction: Direction, packet?: TcpPacket): boolean {
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

  drop(flow: TcpFlow): void {
    if (flow.verdict === 0) flow.verdict = FLOW_DROPPED;
    this.#host.packet.drop();
  }

  reset(flow: TcpFlow, half: boolean): void {
    if (flow.verdict !== 0) {
      this.#host.packet.drop();
      return;
    }
    flow.verdict = half ? FLOW_HALF_RESET : FLOW_RESET;
    this.#host.packet.drop();
    // Called outside a packet of this flow (e.g. from a timer): nothing to answer.
    if (this.#tcp !== null && !flow.ended) this.#sendResets(flow);
  }

  /**
   * RSTs with the sequence number each receiver expects (RFC 5961 §3.2), counting only what was
   * forwarded: server→client first, then client→server (Haka's order). During the handshake the
   * client is answered as a refused SYN: RST|ACK acknowledging it (RFC 9293 §3.10.7.3).
   */
  #sendResets(flow: TcpFlow): void {
    const host = this.#host;
    const pkt = host.packet;
    const up = this.#up;
    const link = { frame: pkt.bytes, linkType: pkt.linkType, linkHeaderLength: host.linkOffset };
    if (flow.verdict === FLOW_RESET) {
      // To the client, travelling server→client.
      const answered = flow.down.forwarded;
      // Refusing the SYN being handled: its sequence number is not tracked yet.
      const isn = flow.up.synSeen ? flow.up.isn : (this.#tcp?.seqRaw ?? 0);
      host.inject(
        answered
          ? craftRst({ ...link, sameDirection: !up, seq: flow.down.forwardedNxt >>> 0 })
          : craftRst({ ...link, sameDirection: !up, seq: 0, ack: seqAdd32(isn, 1) >>> 0 }),
        pkt.linkType,
      );
    }
    // To the server, travelling client→server: only if it has heard from the client at all.
    if (flow.up.forwarded) host.inject(craftRst({ ...link, sameDirection: up, seq: flow.up.forwardedNxt >>> 0 }), pkt.linkType);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  #end(flow: TcpFlow, reason: EndReason): void {
    if (flow.ended) return;
    flow.ended = true;
    flow.endReason = reason;
    this.#host.emit(events.endConnection, flow);
    releaseFlowState(flow);
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
  }

  /** Ends and forgets flows idle past their state's timeout, by engine time. */
  expire(now: number): void {
    const t = this.#config.timeouts;
    this.#expireList(LIST_EMBRYONIC, now - t.embryonic);
    this.#expireList(LIST_ESTABLISHED, now - t.established);
    this.#expireList(LIST_CLOSING, now - t.closing);
  }

  #expireList(list: number, before: number): void {
    for (let f = this.table.oldest(list); f !== null && f.lastTime <= before; f = this.table.oldest(list)) {
      this.#tcp = null;
      if (!f.ended) this.#end(f, f.state === 'closing' && f.up.finSeen && f.down.finSeen ? 'fin' : 'timeout');
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
