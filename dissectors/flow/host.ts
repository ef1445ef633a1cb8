/** What a flow tracker (TCP or UDP) needs from the engine for every packet. */
import type { Clock } from '../../core/clock.ts';
import type { AnyEvent } from '../../core/events.ts';
import type { Packet } from '../../core/packet.ts';

export interface FlowHost {
  readonly packet: Packet;
  /** Engine time (clock.now, seconds): a plain field, read per packet (a getter on an object literal is a generic load V8 does not inline). */
  readonly clock: Clock;
  // Function-typed properties: the engine builds the host from arrow functions.
  emit: (ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;
  listening: (ev: AnyEvent) => boolean;
}
