/**
 * rules.heapLimitMb on a thread whose heap V8 cannot bound for us (replay's main thread; worker
 * threads get resourceLimits instead): checked between packets, so that a rule keeping state
 * without bound ends the run with a coded error, not a V8 abort. Heap in use includes garbage
 * not yet collected, so a reading past the limit is confirmed after a full collection.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MIB = 1024 * 1024;
/** A full collection at most this often: one takes a while on a large heap. */
const CONFIRM_EVERY_MS = 1000;

let collect: (() => void) | undefined;

function fullCollection(): void {
  if (collect === undefined) {
    // gc() without starting node with --expose-gc: the flag applies to contexts made after it.
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

export class HeapLimit {
  /** Bytes; the V8 limit caps it, below the watcher's emergency stop (this-thread.ts). */
  readonly bytes: number;
  #confirmedAt = -Infinity;

  constructor(readonly limitMb: number) {
    this.bytes = Math.min(limitMb * MIB, getHeapStatistics().heap_size_limit * 0.8);
  }

  /** MiB in use after a full collection when past the limit; 0 when under it. */
  exceeded(): number {
    if (getHeapStatistics().used_heap_size < this.bytes) return 0;
    const now = performance.now();
    if (now - this.#confirmedAt < CONFIRM_EVERY_MS) return 0;
    this.#confirmedAt = now;
    fullCollection();
    const used = getHeapStatistics().used_heap_size;
    return used < this.bytes ? 0 : Math.round(used / MIB);
  }
}
