/**
 * UdpFlow: the datagrams of one 4-tuple, from newConnection to endConnection. The sender of the
 * first datagram is the client. Rules see the public fields and actions; the tracker keeps the
 * internal ones (table links, verdict).
 */
import { IPPROTO_UDP } from '../ip-protocols.ts';
import { FlowEndpoints } from '../flow/endpoints.ts';
import type { Ipv4Packet } from '../ipv4.ts';
import type { Ipv6Packet } from '../ipv6.ts';
import type { DirectionStats, EndReason } from '../flow/types.ts';
import type { DropReason } from '../verdict.ts';

/** Why a UDP flow ended: idle past the timeout, evicted from a full table, dropped, or end of input. */
export type UdpEndReason = Extract<EndReason, 'timeout' | 'memcap' | 'dropped' | 'shutdown'>;

/** DirectionStats as the tracker counts them. */
type Counters = { -readonly [K in keyof DirectionStats]: DirectionStats[K] };

/** The tracker's hook for the flow's action (palisade's own, not the rule API). */
export interface UdpFlowActions {
  drop(flow: UdpFlow): void;
}

/** The datagrams of one 4-tuple, as rules see them; the tracker's own fields are internal. */
export class UdpFlow extends FlowEndpoints {
  /** Engine-unique id (shared with TCP connections), in creation order. */
  readonly id: number;
  /** Capture/engine time of the first datagram, in seconds. */
  readonly startTime: number;
  /** Time of the latest datagram, either direction. */
  lastTime: number;
  endReason: UdpEndReason | undefined = undefined;
  /** @internal the tracker's counters, which `stats` shows. */
  readonly counters: { readonly up: Counters; readonly down: Counters } = {
    up: { packets: 0, bytes: 0, ipBytes: 0 },
    down: { packets: 0, bytes: 0, ipBytes: 0 },
  };

  /** @internal drop() was called: every later datagram is dropped without rules. */
  verdict = false;
  /** @internal Why its datagrams are dropped, once it is: who did it, on which frame. */
  reason: DropReason | null = null;
  /** @internal accept the rest without rules. */
  bypassed = false;
  /** @internal endConnection has fired. */
  ended = false;
  /** @internal what the datagram dissector (DNS) keeps for the flow: the queries awaiting an answer. */
  protocolState: unknown = null;
  /** @internal frame id of the latest datagram: drop() drops the current frame only if it is ours. */
  packetId = 0;
  /** @internal hash-chain and LRU links (flow-table.ts). */
  hash = 0;
  /** @internal */ nextInBucket: UdpFlow | null = null;
  /** @internal */ prevInList: UdpFlow | null = null;
  /** @internal */ nextInList: UdpFlow | null = null;
  /** @internal which timeout list holds it (-1: none). */
  list = -1;
  readonly #actions: UdpFlowActions;

  constructor(
    actions: UdpFlowActions,
    id: number,
    ip: Ipv4Packet | Ipv6Packet,
    sport: number,
    dport: number,
    now: number,
  ) {
    super(ip, true, sport, dport, IPPROTO_UDP);
    this.#actions = actions;
    this.id = id;
    this.startTime = now;
    this.lastTime = now;
  }

  /** Datagrams and bytes each way so far; `bytes` counts UDP data as the headers give it (Zeek's orig_bytes), even past a capture cut. */
  get stats(): { readonly up: DirectionStats; readonly down: DirectionStats } {
    return this.counters;
  }


  /**
   * Drops this datagram and every later one of the flow, silently, until it times out. Called
   * from the first datagram's newConnection, it refuses the flow: nothing is kept.
   */
  drop(): void {
    this.#actions.drop(this);
  }
  /** Accepts the rest of the flow without running rules (Suricata's bypass). */
  bypass(): void {
    this.bypassed = true;
  }

  /** True once drop() was called. */
  get dropped(): boolean {
    return this.verdict;
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, client: this.client, server: this.server };
  }
}
