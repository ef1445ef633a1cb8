/**
 * The thread of a `ctl reload`'s vet (core/inline/vet.ts): type-checks the rule file, then
 * trial-loads it with the heartbeat armed, beating between the loading's asynchronous steps, so
 * that the main thread sees how long its top-level code holds the thread without a break.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ARMED, BEAT } from '../watchdog/heartbeat.js';
import { checkTypes, trialLoad } from './trial-load.ts';
import type { VetData, VetMessage } from './vet.ts';
import { serializeError } from './workers.ts';

const BEAT_EVERY_MS = 10;

const port = parentPort;
if (port === null) throw new Error('worker-vet.ts runs in a worker thread');
const { path, typecheck, heartbeat } = workerData as VetData;
const say = (m: VetMessage): void => {
  port.postMessage(m);
};

try {
  if (typecheck) await checkTypes(path);
  say({ type: 'loading' });
  Atomics.add(heartbeat, ARMED, 1);
  const beat = setInterval(() => Atomics.add(heartbeat, BEAT, 1), BEAT_EVERY_MS);
  try {
    await trialLoad(path);
  } finally {
    clearInterval(beat);
    Atomics.sub(heartbeat, ARMED, 1);
  }
  say({ type: 'vetted' });
} catch (err) {
  say({ type: 'failed', error: serializeError(err) });
}
