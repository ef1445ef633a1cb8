/**
 * Check-views mode (`palisade test`, `replay()` of palisade/testing, `replay --check-views`).
 * receiveData's `data` is a view into the frame, itself often a view into the capture reader's
 * reused buffer: valid only during the event. A rule that keeps it (chunks joined at
 * endConnection, a read after an await) gets other connections' bytes later, at scale, silently.
 * In this mode each receiveData listener gets a copy of its own instead, and once the event's
 * listeners have all run every copy handed out is filled with STALE_VIEW: a rule that kept one
 * reads the poison, every run, and fails its test. The frame's bytes are never touched, so the
 * output is the same. The mode is a Dispatch of its own, chosen when the engine is made: the
 * plain Dispatch pays nothing for it.
 */
import { Dispatch, type Listener } from './dispatch.ts';
import type { AnyEvent } from './events.ts';
import { tcpConnectionEvents } from '../dissectors/tcp-connection/index.ts';
import { udpConnectionEvents } from '../dissectors/udp-connection/index.ts';

/** What a kept chunk reads as after its event (repeated): readable in a failed expectation. */
export const STALE_VIEW = 'PALISADE-STALE-VIEW ';

/** The events whose second argument (`data`) is a view of the frame's bytes. */
const viewEvents = new Set<AnyEvent>([tcpConnectionEvents.receiveData, udpConnectionEvents.receiveData]);

export class ViewCheckingDispatch extends Dispatch {
  /** Copies handed to listeners of events still running (an event may be raised inside another's listener). */
  readonly #handedOut: Buffer[] = [];

  override add(ev: AnyEvent, listener: Listener): void {
    if (!viewEvents.has(ev)) {
      super.add(ev, listener);
      return;
    }
    const handedOut = this.#handedOut;
    const fn = listener.fn;
    super.add(ev, {
      name: listener.name,
      reason: listener.reason,
      fn: (a, b, c, d) => {
        const copy = Buffer.from(b as Buffer);
        handedOut.push(copy);
        return fn(a, copy, c, d);
      },
    });
  }

  override emit(ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const handedOut = this.#handedOut;
    const mark = handedOut.length;
    try {
      super.emit(ev, a, b, c, d);
    } finally {
      // Only this event's copies: an outer event's listener is still running with its own.
      for (let i = mark; i < handedOut.length; i++) (handedOut[i] as Buffer).fill(STALE_VIEW);
      handedOut.length = mark;
    }
  }
}
