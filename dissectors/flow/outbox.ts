/**
 * What a flow tracker produced besides events, for the engine to carry out in order: held
 * frames that go out or are dropped, RSTs it crafted (TCP), flows that ended (TCP and UDP). A
 * tracker never calls the engine for these; the engine drains every outbox once, at the end of
 * each turn (core/engine.ts: a packet, a timer, a streamed rule's resume), so everything leaves
 * through one egress (core/egress.ts).
 */
import type { KeptFrame } from '../tcp-connection/hold.ts';
import type { TcpFlow } from '../tcp-connection/flow.ts';
import type { UdpFlow } from '../udp-connection/flow.ts';

/** A held frame goes out now: its bytes were cleared by every streamed consumer. */
export const OUT_RELEASE = 0;
/** A held frame is dropped now: its flow was dropped or reset. */
export const OUT_DISCARD = 1;
/** A crafted frame (a RST) is sent now. */
export const OUT_INJECT = 2;
/** A flow ended: its flow record is written and its rule state released. */
export const OUT_ENDED = 3;

export interface CraftedFrame {
  readonly bytes: Buffer;
  readonly linkType: number;
}

export type OutItem = KeptFrame | CraftedFrame | TcpFlow | UdpFlow;

export class Outbox {
  /** OUT_* per item. Parallel arrays: nothing is allocated per item. */
  readonly kinds: number[] = [];
  readonly items: OutItem[] = [];

  push(kind: number, item: OutItem): void {
    this.kinds.push(kind);
    this.items.push(item);
  }

  /** Forgets what was drained (the engine reads kinds[i], items[i] first). */
  clear(): void {
    this.kinds.length = 0;
    this.items.length = 0;
  }
}
