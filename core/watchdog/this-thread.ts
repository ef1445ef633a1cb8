/**
 * Rule watchdogs for engines on this process's main thread (replay, `palisade test`, a
 * `--workers process` child): one watcher thread reads each engine's heartbeat and, after
 * rules.timeoutMs without progress, stops the running JavaScript (see watcher-thread.js).
 * JavaScript cannot interrupt itself, and a rule stuck in a loop never yields, so the watcher
 * must be another thread; the engine pays one counter store per packet.
 * Worker threads have no inspector session to their own thread: there, the parent watches the
 * heartbeat and replaces the thread (core/inline/workers.ts).
 */
import { getHeapStatistics } from 'node:v8';
import { isMainThread, Worker } from 'node:worker_threads';
import { ARMED, createHeartbeat } from './heartbeat.js';

export interface ThreadWatchdog {
  /** For the engine (EngineOptions.heartbeat). */
  readonly heartbeat: Int32Array;
  /** The engine has work from now on: no progress for timeoutMs is a stuck rule. */
  arm(): void;
  disarm(): void;
  /** Resolves once the watcher thread is gone when this was its last watch. */
  close(): Promise<void>;
}

let watcher: Worker | undefined;
let nextId = 1;
const stopped = new Map<number, (stop: Stop) => void>();

function watcherThread(): Worker {
  if (watcher !== undefined) return watcher;
  const thread = new Worker(new URL('./watcher-thread.js', import.meta.url), { stdout: false, stderr: false });
  // It must not keep a finished replay alive.
  thread.unref();
  thread.on('message', (m: Stop & { id: number }) => stopped.get(m.id)?.(m));
  thread.on('exit', () => {
    if (watcher === thread) watcher = undefined;
  });
  watcher = thread;
  return thread;
}

/** Why the watcher stopped the thread. */
export type Stop = { reason: 'timeout'; stuckMs: number } | { reason: 'heap'; usedMb: number };

/** Near V8's heap limit (it aborts at the limit): past this, an armed engine is stopped. */
export const emergencyBytes = (): number => getHeapStatistics().heap_size_limit * EMERGENCY_SHARE;
const EMERGENCY_SHARE = 0.85;

/**
 * Null when this is not the main thread. timeoutMs 0 turns the time limit off, not the heap
 * emergency stop. `onStopped` runs in a task of its own after the running JavaScript was
 * unwound: whatever it was awaiting never settles.
 */
export function watchThisThread(timeoutMs: number, onStopped: (stop: Stop) => void): ThreadWatchdog | null {
  if (!isMainThread) return null;
  const heartbeat = createHeartbeat();
  const id = nextId++;
  const thread = watcherThread();
  stopped.set(id, (stop) => {
    // Disarmed: the watcher may watch this heartbeat again.
    Atomics.store(heartbeat, ARMED, 0);
    onStopped(stop);
  });
  thread.postMessage({ type: 'watch', id, beat: heartbeat, timeoutMs, emergencyBytes: emergencyBytes() });
  return {
    heartbeat,
    arm: () => {
      Atomics.add(heartbeat, ARMED, 1);
    },
    disarm: () => {
      Atomics.sub(heartbeat, ARMED, 1);
    },
    close: async () => {
      stopped.delete(id);
      thread.postMessage({ type: 'unwatch', id });
      // After a stop, its inspector session keeps this process alive: the last one out ends it.
      if (stopped.size === 0) {
        watcher = undefined;
        await thread.terminate();
      }
    },
  };
}
