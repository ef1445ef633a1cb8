/**
 * Connection timeouts: the table's three LRU lists (the head of each is the next to time out),
 * their timeouts, normal or emergency (Suricata's emergency-* timeouts while the engine is past
 * its memcap), and the earliest deadline, so that expiry is one compare per packet.
 */
import type { TcpFlow } from './flow.ts';
import { TcpState } from './state.ts';

export const LIST_EMBRYONIC = 0;
export const LIST_ESTABLISHED = 1;
export const LIST_CLOSING = 2;

export interface TimeoutConfig {
  embryonic: number;
  established: number;
  closing: number;
}

/** Which timeout list a live flow belongs to. */
export function listOf(flow: TcpFlow): number {
  switch (flow.tcpState) {
    case TcpState.SynSent:
    case TcpState.SynReceived:
      return LIST_EMBRYONIC;
    case TcpState.Established:
      return LIST_ESTABLISHED;
    default:
      return LIST_CLOSING;
  }
}

export class Timeouts {
  /** Seconds of idleness before expiry, by list. */
  #seconds: readonly number[];
  readonly #normal: readonly number[];
  readonly #emergency: readonly number[];
  #inEmergency = false;
  /**
   * No flow expires before this engine time. Never later than the true earliest deadline:
   * lowered when a flow joins a list, recomputed by the expiry walk, and set to -Infinity
   * (look again) when a list may have lost its head some other way.
   */
  check = Infinity;

  constructor(normal: TimeoutConfig, emergency: TimeoutConfig) {
    this.#normal = [normal.embryonic, normal.established, normal.closing];
    // Never longer than the normal ones.
    this.#emergency = [
      Math.min(emergency.embryonic, normal.embryonic),
      Math.min(emergency.established, normal.established),
      Math.min(emergency.closing, normal.closing),
    ];
    this.#seconds = this.#normal;
  }

  get emergency(): boolean {
    return this.#inEmergency;
  }

  set emergency(on: boolean) {
    this.#inEmergency = on;
    this.#seconds = on ? this.#emergency : this.#normal;
    // Deadlines move: the next expiry looks at every list again.
    this.check = -Infinity;
  }

  /** Seconds of idleness before a flow of `list` expires. */
  seconds(list: number): number {
    return this.#seconds[list] as number;
  }

  /** A flow just joined the tail of `list`: its deadline may come before every other. */
  deadline(flow: TcpFlow, list: number): void {
    const deadline = flow.lastTime + (this.#seconds[list] as number);
    if (deadline < this.check) this.check = deadline;
  }

  /** Some flow may be due at `now`. A millisecond early rather than an ulp late: the lists decide with now - timeout. */
  due(now: number): boolean {
    return now >= this.check - 1e-3;
  }
}
