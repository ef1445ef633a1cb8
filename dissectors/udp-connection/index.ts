/**
 * The udp_connection dissector: UDP "flows" for rules. Datagrams are grouped by 4-tuple (the
 * sender of the first one is the client), each datagram's data is a receiveData event, and a
 * flow ends after one idle timeout, when the table is full, when dropped, or at shutdown. The
 * engine hands it every dissected UDP datagram while some rule listens to a udpConnection event.
 */
import { UDP_HEADER_LENGTH, type UdpPacket } from '../udp.ts';
import type { EventSink } from '../flow/event-sink.ts';
import type { Packet } from '../packet.ts';
import { FlowTable } from '../flow/table.ts';
import { OUT_ENDED, Outbox } from '../flow/outbox.ts';
import { Turn } from '../turn.ts';
import { traceFlow } from '../flow/trace-flow.ts';
import { UdpFlow, type UdpEndReason, type UdpFlowActions } from './flow.ts';
import { udpConnectionEvents as events } from './events.ts';
import { ACCEPT, DROP, UNNAMED_REASON as UNNAMED, type DropReason, type FlowAction } from '../verdict.ts';

export { udpConnectionEvents } from './events.ts';
export { UdpFlow } from './flow.ts';
export type { UdpEndReason } from './flow.ts';
export { udpFlowRecord, type UdpFlowRecord } from './flow-log.ts';

export interface UdpConnectionConfig {
  /** Flows tracked at once; when full, the least recently active one ends (memcap). */
  maxFlows: number;
  /** Seconds a flow may stay idle (endReason timeout). */
  timeout: number;
}

export class UdpTracker implements UdpFlowActions {
  /** @internal one timeout list (0); its flows' table links are internal too. */
  readonly table = new FlowTable<UdpFlow>(1);
  readonly #host: EventSink;
  /** The frame being handled (its id, its verdict). */
  readonly #packet: Packet;
  /** Flows that ended (OUT_ENDED), oldest first, for the engine to log (udpFlowRecord) and forget; it drains it. */
  readonly out = new Outbox();
  /** Engine time (seconds), from the latest expire(): the engine calls it before every frame. */
  #now = 0;
  readonly #config: UdpConnectionConfig;
  readonly #nextId: () => number;
  // Asked once: the rule set is fixed by the first packet.
  #wantData: boolean | undefined = undefined;
  /** What reads each datagram's payload as a protocol (the engine sets it with the rules), null for nothing. */
  datagram: ((flow: UdpFlow, udp: UdpPacket, up: boolean) => void) | null = null;

  /** The rule set changed (ctl reload): whether data is wanted is asked again. */
  rulesChanged(): void {
    this.#wantData = undefined;
  }

  /**
   * `nextId` hands out flow ids; pass a counter shared with other trackers to make ids (and the
   * flow log's uids) unique across protocols. By default the tracker counts from 1.
   */
  /** `config`: the `udp` section of the engine's config (core/config.ts holds the defaults). */
  /** Bumped for every flow that ends (index 0): progress for a watchdog, as TrackerOptions.progress. */
  readonly #progress: Int32Array;

  readonly #actionReason: (action: FlowAction) => DropReason;

  /** `actionReason`: the reason a flow's drop gives its datagrams (the engine names the rule). */
  /** The engine's turn: the frame's trace. */
  readonly #turn: Turn;

  constructor(host: EventSink, packet: Packet, config: UdpConnectionConfig, nextId?: () => number, progress?: Int32Array, actionReason?: (action: FlowAction) => DropReason, turn?: Turn) {
    this.#turn = turn ?? new Turn();
    this.#progress = progress ?? new Int32Array(1);
    this.#actionReason = actionReason ?? ((action) => ({ kind: 'flow-action', action }));
    this.#host = host;
    this.#packet = packet;
    this.#config = config;
    let id = 1;
    this.#nextId = nextId ?? (() => id++);
  }

  /** Handles one datagram: ACCEPT or DROP (dissectors/verdict.ts). */
  receive(udp: UdpPacket): number {
    const ip = udp.ip;
    const sport = udp.srcport;
    const dport = udp.dstport;
    const table = this.table;
    const flow = table.lookup(ip, sport, dport);
    if (flow === null) return this.#open(udp, table.hash);
    if (this.#turn.trace !== null) traceFlow(this.#turn.trace, 'udp', flow, false);

    const up = table.fromClient;
    const dstats = up ? flow.counters.up : flow.counters.down;
    dstats.packets++;
    dstats.ipBytes += ip.len;
    flow.lastTime = this.#now;
    flow.packetId = this.#packet.id;
    table.touch(flow, 0);
    if (flow.verdict) {
      // Dropped: silently, until it times out. Dropped from outside its own datagram: it ends now.
      this.#end(flow, 'dropped');
      return this.#drop(flow);
    }
    return this.#deliver(flow, udp, up);
  }

  /** The first datagram of a 4-tuple: newConnection decides whether the flow is kept. */
  #open(udp: UdpPacket, hash: number): number {
    const host = this.#host;
    const ip = udp.ip;
    const flow = new UdpFlow(this, this.#nextId(), ip, udp.srcport, udp.dstport, this.#now);
    flow.hash = hash;
    flow.packetId = this.#packet.id;
    flow.counters.up.packets = 1;
    flow.counters.up.ipBytes = ip.len;
    if (this.#turn.trace !== null) traceFlow(this.#turn.trace, 'udp', flow, true);
    host.emit(events.newConnection, flow, udp);
    if (this.#packet.dropped || flow.verdict) {
      // Refused: never inserted, so the next datagram of the tuple raises newConnection again.
      flow.verdict = true;
      flow.reason ??= this.#packet.reason ?? UNNAMED;
      this.#end(flow, 'dropped');
      return this.#drop(flow);
    }
    // Room is made only for a flow that is kept: refused datagrams cannot evict live flows.
    const max = Math.max(1, this.#config.maxFlows);
    for (let victim = this.table.oldest(0); victim !== null && this.table.size >= max; victim = this.table.oldest(0)) {
      this.#end(victim, 'memcap');
      this.table.remove(victim);
    }
    this.table.insert(flow, 0);
    return this.#deliver(flow, udp, true);
  }

  /** Counts the datagram's data and hands it to the rules. */
  #deliver(flow: UdpFlow, udp: UdpPacket, up: boolean): number {
    const host = this.#host;
    const dstats = up ? flow.counters.up : flow.counters.down;
    const offset = dstats.bytes;
    // The header's length, not what was captured: a snaplen cut shows as a jump in offsets.
    dstats.bytes += udp.length - UDP_HEADER_LENGTH;
    if (flow.bypassed) return ACCEPT;
    if ((this.#wantData ??= host.listening(events.receiveData))) {
      host.emit(events.receiveData, flow, udp.payload, up ? 'up' : 'down', offset);
      if (flow.verdict) {
        this.#end(flow, 'dropped');
        return this.#drop(flow);
      }
    }
    // A protocol dissector on datagrams (DNS): after the rules on bytes, as a TCP stream's.
    const datagram = this.datagram;
    if (datagram !== null && !this.#packet.dropped) {
      datagram(flow, udp, up);
      if (flow.verdict) {
        this.#end(flow, 'dropped');
        return this.#drop(flow);
      }
    }
    return this.#packet.dropped ? DROP : ACCEPT;
  }

  /** The datagram goes with its dropped flow, for the flow's reason (unless a rule's drop of the packet came first). */
  #drop(flow: UdpFlow): number {
    this.#packet.dropFor(flow.reason ?? UNNAMED);
    return DROP;
  }

  // ---- actions (UdpFlowActions) -------------------------------------------------------------

  drop(flow: UdpFlow): void {
    if (!flow.verdict) flow.reason ??= this.#actionReason('drop');
    flow.verdict = true;
    // Only the flow's own datagram goes with it; called while another packet is handled (a timer,
    // another flow's rule), the flow's next datagram is the first dropped.
    const pkt = this.#packet;
    if (flow.packetId === pkt.id) pkt.dropFor(flow.reason ?? UNNAMED);
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /** Fires endConnection once; a dropped flow ends as `dropped` whatever ended it. */
  #end(flow: UdpFlow, reason: UdpEndReason): void {
    if (flow.ended) return;
    flow.ended = true;
    flow.endReason = flow.verdict ? 'dropped' : reason;
    this.#progress[0] = (this.#progress[0] as number) + 1;
    this.#host.emit(events.endConnection, flow);
    this.out.push(OUT_ENDED, flow);
  }

  /** Engine time is now `now` (seconds); true when the least recently active flow is idle past the timeout (expire() ends it). */
  advance(now: number): boolean {
    this.#now = now;
    const oldest = this.table.oldest(0);
    return oldest !== null && oldest.lastTime <= now - this.#config.timeout;
  }

  /** Ends and forgets flows idle for `timeout` seconds or more, by engine time. */
  expire(now: number): void {
    this.#now = now;
    const before = now - this.#config.timeout;
    for (let f = this.table.oldest(0); f !== null && f.lastTime <= before; f = this.table.oldest(0)) {
      this.#end(f, 'timeout');
      this.table.remove(f);
    }
  }

  /** End of input or shutdown: flows still open end, `max` of them at most; true once none is left. */
  shutdown(max = Infinity): boolean {
    for (let n = 0; n < max; n++) {
      const f = this.table.oldest(0);
      if (f === null) return true;
      this.#end(f, 'shutdown');
      this.table.remove(f);
    }
    return this.table.size === 0;
  }
}


