/**
 * How a flow tracker (TCP or UDP) raises the declared events (core/events.ts): the engine runs
 * the rules listening to one and returns. This is the only way up from a tracker; everything
 * else it produces (ended flows, frames to release or drop, crafted RSTs) the engine drains.
 */
import type { AnyEvent } from '../../core/events.ts';

export interface EventSink {
  // Function-typed properties: the engine builds the sink from arrow functions.
  emit: (ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;
  listening: (ev: AnyEvent) => boolean;
}
