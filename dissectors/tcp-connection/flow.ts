/**
 * TcpFlow: one tracked connection, from newConnection to endConnection. Rules see its public
 * fields and actions; the tracker keeps its endpoint state in the internal fields below.
 */
import type { StreamReassembler } from './reassembly.ts';
import type { Hold } from './hold.ts';
import type { StreamEdits } from './stream-edits.ts';
import { FlowEndpoints } from '../flow/endpoints.ts';
import type { Ipv4Packet } from '../ipv4.ts';
import type { Ipv6Packet } from '../ipv6.ts';
import { IPPROTO_TCP } from '../ip-protocols.ts';
import type { DropReason } from '../verdict.ts';
import { stateNames, TcpState } from './state.ts';
import type { Direction, DirectionStats, EndReason } from '../flow/types.ts';

export type { Endpoint } from '../flow/endpoints.ts';

export type { Direction, DirectionStats, EndReason } from '../flow/types.ts';
export type FlowState = 'syn-sent' | 'syn-received' | 'established' | 'closing' | 'closed' | 'reset';

/** One sender's side of the connection, as the middlebox sees it (the tracker's, not the rule API). */
export class Sender {
  /** A SYN was seen from this side; `isn` is valid. */
  synSeen = false;
  isn = 0;
  /** snd.nxt: one past the highest sequence number this side sent (SYN and FIN count). */
  nxt = 0;
  /** Like nxt, counting only segments palisade forwarded: what the receiver really expects. */
  forwardedNxt = 0;
  /** Some segment of this side was forwarded (forwardedNxt is valid). */
  forwarded = false;
  nxtValid = false;
  /** One past the highest data byte seen (int32 sequence space): bytes sent = dataEnd - (isn + 1). */
  dataEnd = 0;
  finSeen = false;
  finSeq = 0;
  /** The other side acknowledged this side's FIN. */
  finAcked = false;
  rstSeen = false;
  /** The MSS its SYN offered, or 0 without the option: the largest segment it takes (RFC 9293 §3.7.1). */
  mss = 0;
  /** Window scale shift from its SYN (RFC 7323), -1 without the option. */
  wscale = -1;
  /** Its last advertised receive window, in bytes (scaled). */
  window = 65535;
  /** Zeek history letters already recorded for this side (bit per letter). */
  historySeen = 0;
  stream: StreamReassembler | null = null;
  /** Streamed consumers of this side's bytes and the frames held for them (from its first byte). */
  hold: Hold | null = null;
  /** Edits streamed consumers made to this side's bytes (insert, erase, replace): its later segments are renumbered, the other side's acknowledgments numbered back. */
  edits: StreamEdits | null = null;
  /** Rules no longer want this side's data (ignoreData). */
  ignoreData = false;
  /**
   * The other side acknowledged this side's bytes up to `ackedUnseenTo` (int32) before they were
   * seen: on a tap the acknowledgment is often recorded first. They are waited for (segment-data.ts).
   */
  ackedUnseen = false;
  ackedUnseenTo = 0;
  // What flow.stats shows for this side: counted here, where every packet already writes.
  packets = 0;
  bytes = 0;
  ipBytes = 0;
}

/** One side's counters as rules see them (flow.stats.up / down), read from its Sender. */
class SenderStats implements DirectionStats {
  readonly #s: Sender;
  constructor(s: Sender) {
    this.#s = s;
  }
  get packets(): number {
    return this.#s.packets;
  }
  get bytes(): number {
    return this.#s.bytes;
  }
  get ipBytes(): number {
    return this.#s.ipBytes;
  }
  toJSON(): DirectionStats {
    return { packets: this.packets, bytes: this.bytes, ipBytes: this.ipBytes };
  }
}

const DROPPED = 1;
const RESET = 2;
const HALF_RESET = 3;

/** The tracker's hooks for a flow's actions (palisade's own, not the rule API). */
export interface FlowActions {
  drop(flow: TcpFlow): void;
  reset(flow: TcpFlow, half: boolean): void;
  send(flow: TcpFlow, direction?: Direction): void;
}

export class TcpFlow extends FlowEndpoints {
  /** Engine-unique id, in creation order. */
  readonly id: number;
  /** The first packet was not a SYN: picked up in the middle. */
  readonly midstream: boolean;
  /** Capture/engine time of the first packet, in seconds. */
  readonly startTime: number;
  lastTime: number;
  /** @internal the state machine's state (state.ts); rules read `state`. */
  tcpState = TcpState.SynSent;
  /** Where the connection is, as RFC 9293 names it from a middlebox (state.ts). */
  get state(): FlowState {
    return stateNames[this.tcpState] as FlowState;
  }
  endReason: EndReason | undefined = undefined;
  #stats: { readonly up: DirectionStats; readonly down: DirectionStats } | null = null;

  /** @internal */ readonly up = new Sender();
  /** @internal */ readonly down = new Sender();
  /** @internal DROPPED, RESET, HALF_RESET or 0. */
  verdict = 0;
  /** @internal Why its frames are dropped, once it is dropped or reset: who did it, on which frame. */
  reason: DropReason | null = null;
  /** @internal accept the rest without rules. */
  bypassed = false;
  /** @internal endConnection has fired. */
  ended = false;
  /** @internal refused in newConnection: only a new SYN may reopen the tuple. */
  refused = false;
  /**
   * @internal the flow dissectors enabled on it (core/flow-dissector.ts): reassembly runs for it
   * even when no rule asks for every flow's data. Opaque here: the engine runs them.
   */
  dissectors: object[] | null = null;
  /** @internal what each enabled dissector keeps for the connection, by its index in `dissectors`. */
  dissectorState: unknown[] | null = null;
  /** @internal the client's first bytes were shown to protocol detection (app-detect.ts). */
  probed = false;
  /** @internal the first client bytes kept while they are too few to tell the protocol. */
  probeHead: Buffer | null = null;
  /** @internal the sequence number that continues probeHead. */
  probeNext = 0;
  /** @internal Zeek history string. */
  history = '';
  /** @internal hash-chain and timeout-list links. */
  nextInBucket: TcpFlow | null = null;
  /** @internal */ hash = 0;
  /** @internal */ prevInList: TcpFlow | null = null;
  /** @internal */ nextInList: TcpFlow | null = null;
  /** @internal which timeout list holds it (-1: none). */
  list = -1;
  readonly #actions: FlowActions;

  constructor(
    actions: FlowActions,
    id: number,
    ip: Ipv4Packet | Ipv6Packet,
    srcIsClient: boolean,
    sport: number,
    dport: number,
    midstream: boolean,
    now: number,
  ) {
    super(ip, srcIsClient, sport, dport, IPPROTO_TCP);
    this.#actions = actions;
    this.id = id;
    this.midstream = midstream;
    this.startTime = now;
    this.lastTime = now;
  }

  /** Drops this packet and every later packet of the flow, silently. */
  drop(): void {
    this.#actions.drop(this);
  }
  /** Drops this packet and sends a RST to the server and to the client. */
  reset(): void {
    this.#actions.reset(this, false);
  }
  /** Drops this packet and sends a RST to the server only: the client is left hanging. */
  halfreset(): void {
    this.#actions.reset(this, true);
  }
  /**
   * Releases held frames whose bytes the streamed rules have read, without waiting for their
   * next read (Haka's `send`): for one direction, or both.
   */
  send(direction?: Direction): void {
    this.#actions.send(this, direction);
  }
  /** Stops reassembling one direction, or both: no more receiveData for it. */
  ignoreData(direction?: Direction): void {
    if (direction !== 'down') this.up.ignoreData = true;
    if (direction !== 'up') this.down.ignoreData = true;
  }
  /** Accepts the rest of the flow without running rules (Suricata's bypass). */
  bypass(): void {
    this.bypassed = true;
  }

  /** Packets and bytes each way so far (created on first use: most flows are never asked). */
  get stats(): { readonly up: DirectionStats; readonly down: DirectionStats } {
    return (this.#stats ??= { up: new SenderStats(this.up), down: new SenderStats(this.down) });
  }

  /** True once drop(), reset() or halfreset() was called. */
  get dropped(): boolean {
    return this.verdict !== 0;
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, client: this.client, server: this.server, state: this.state, midstream: this.midstream };
  }
}

export const FLOW_DROPPED = DROPPED;
export const FLOW_RESET = RESET;
export const FLOW_HALF_RESET = HALF_RESET;
