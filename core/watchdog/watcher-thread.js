// The watcher thread of the rule watchdogs on the main thread (core/watchdog/this-thread.ts):
// one per process, watching each registered heartbeat. When one has been armed without progress
// for its timeout, or the main thread's heap comes near V8's own limit while a heartbeat is
// armed (a rule allocating without bound inside one call, which the checks between packets
// cannot see), it stops the main thread's JavaScript through the inspector:
// Runtime.terminateExecution unwinds the running task, and V8 cancels the termination when that
// task ends, so the event loop goes on. Then it says which one and why in a message, handled in
// a fresh task. It watches that heartbeat again only once its owner has disarmed it: a second
// stop must never land on code that is not stuck.
// Plain JavaScript: a worker thread without a TypeScript loader starts in milliseconds.
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { ARMED, Stall } from './heartbeat.js';

const PERIOD_MS = 20;
const MIB = 1024 * 1024;
const session = new Session();
session.connectToMainThread();

/** id → { stall, timeoutMs, fired } */
const watched = new Map();
/** Bytes of the main thread's heap past which an armed engine is stopped (set by 'watch'). */
let emergencyBytes = Infinity;
let reading = false;

parentPort.on('message', (m) => {
  if (m.type === 'watch') {
    watched.set(m.id, { stall: new Stall(m.beat), timeoutMs: m.timeoutMs, fired: false });
    emergencyBytes = m.emergencyBytes;
  } else watched.delete(m.id);
});

function stop(id, w, why) {
  w.fired = true;
  session.post('Runtime.terminateExecution', () => parentPort.postMessage({ id, ...why }));
}

/** The armed, not yet stopped heartbeats. */
function* live() {
  for (const [id, w] of watched) if (!w.fired && Atomics.load(w.stall.beat, ARMED) !== 0) yield [id, w];
}

/** A tick this late means the whole process was paused (SIGSTOP, a suspended VM): no one was stuck. */
const PAUSED_MS = 4 * PERIOD_MS;
let tickedAt = performance.now();

setInterval(() => {
  const now = performance.now();
  const paused = now - tickedAt > PAUSED_MS;
  tickedAt = now;
  if (paused) {
    for (const w of watched.values()) w.stall.reset(now);
    return;
  }
  for (const [id, w] of watched) {
    if (w.fired) {
      if (Atomics.load(w.stall.beat, ARMED) === 0) {
        w.fired = false;
        w.stall.reset(now);
      }
      continue;
    }
    const stuckMs = w.timeoutMs === 0 ? 0 : w.stall.check(now);
    if (stuckMs >= w.timeoutMs && w.timeoutMs > 0) stop(id, w, { reason: 'timeout', stuckMs: Math.round(stuckMs) });
  }
  // Read while an engine is armed: an interrupt of the main thread, a few microseconds.
  if (reading || emergencyBytes === Infinity || live().next().done) return;
  reading = true;
  session.post('Runtime.getHeapUsage', (err, heap) => {
    reading = false;
    if (err !== null || heap.usedSize < emergencyBytes) return;
    // One stop unwinds the thread: every engine on it is stopped at once.
    for (const [id, w] of live()) stop(id, w, { reason: 'heap', usedMb: Math.round(heap.usedSize / MIB) });
  });
}, PERIOD_MS);
