// The heartbeat a rule watchdog reads from another thread (rules.timeoutMs): a progress counter
// the engine bumps for every packet and every resumed streamed run, and an armed flag its driver
// sets while the engine has work (a replay's loop, an NFQUEUE batch). Shared memory, so that the
// watcher reads it while the engine's thread is stuck in a rule and cannot answer a message.
// Plain JavaScript (types in heartbeat.d.ts): the watcher thread loads it without a TypeScript loader.

export const BEAT = 0;
export const ARMED = 1;

export function createHeartbeat() {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** Read on the watching side: how long the heartbeat has been armed without progress. */
export class Stall {
  #last = -1;
  #since = 0;

  constructor(beat) {
    this.beat = beat;
  }

  check(now) {
    const b = Atomics.load(this.beat, BEAT);
    if (Atomics.load(this.beat, ARMED) === 0 || b !== this.#last) {
      this.#last = b;
      this.#since = now;
      return 0;
    }
    return now - this.#since;
  }

  reset(now) {
    this.#last = Atomics.load(this.beat, BEAT);
    this.#since = now;
  }
}
