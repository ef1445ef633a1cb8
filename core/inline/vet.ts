/**
 * The vet of a `ctl reload`: the new rule file is type-checked and trial-loaded in a short-lived
 * worker thread of its own (core/inline/worker-vet.ts), so that neither the control socket nor
 * any queue waits for it. Its loading is watched as a queue worker's rules are: a file whose
 * top-level code holds the thread longer than a reload may (reloadHoldMs), or that does not
 * finish loading in RELOAD_LOAD_MS, is refused with PAL_ERR_RELOAD, and the thread is ended.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { reloadError } from '../errors.ts';
import { compiled } from '../package.ts';
import { createHeartbeat, Stall } from '../watchdog/heartbeat.js';
import { RELOAD_LOAD_MS, reloadHoldMs } from './reload-bounds.ts';
import { deserializeError, type SerializedError } from './workers.ts';

/** What the vetting thread says: loading starts (the type-check passed), it loaded, or why not. */
export type VetMessage = { type: 'loading' } | { type: 'vetted' } | { type: 'failed'; error: SerializedError };

export interface VetData {
  path: string;
  typecheck: boolean;
  heartbeat: Int32Array;
}

// The compiled build starts the thread's module itself; the sources need an entry that registers tsx.
const entry = fileURLToPath(new URL(compiled ? './worker-vet.js' : './worker-vet-entry.js', import.meta.url));
const WATCH_EVERY_MS = 20;
/** A watch this late means the whole process was paused (SIGSTOP): no one was stuck. */
const PAUSED_MS = 4 * WATCH_EVERY_MS;
/** The type-checker needs more heap than rules do. */
const MIN_HEAP_MB = 512;

export async function vetOffThread(path: string, options: { typecheck: boolean; config: Config }): Promise<void> {
  const holdMs = reloadHoldMs(options.config);
  const heapMb = Math.max(MIN_HEAP_MB, options.config.rules.heapLimitMb);
  const heartbeat = createHeartbeat();
  const stall = new Stall(heartbeat);
  const thread = new Worker(entry, {
    stdout: false,
    stderr: false,
    workerData: { path, typecheck: options.typecheck, heartbeat } satisfies VetData,
    // V8 ends the thread, not the process, when a rule file's top level fills its heap.
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  let watch: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      let loadingSince = 0;
      let watchedAt = performance.now();
      watch = setInterval(() => {
        const now = performance.now();
        const late = now - watchedAt > PAUSED_MS;
        watchedAt = now;
        if (late) {
          stall.reset(now);
          return;
        }
        const held = stall.check(now);
        if (held >= holdMs) {
          reject(reloadError(path, `its top-level code held its thread ${Math.round(held)} ms without a break while loading; a reload may hold a worker's thread at most ${holdMs} ms (1 s, or 5 × rules.timeoutMs), so it was refused before any worker loaded it`));
        } else if (loadingSince > 0 && now - loadingSince >= RELOAD_LOAD_MS) {
          reject(reloadError(path, `did not finish loading in ${RELOAD_LOAD_MS / 1000} s (a top-level await that does not settle?)`));
        }
      }, WATCH_EVERY_MS);
      thread.on('message', (m: VetMessage) => {
        if (m.type === 'loading') loadingSince = performance.now();
        else if (m.type === 'vetted') resolve();
        else reject(deserializeError(m.error));
      });
      thread.on('error', (err: Error & { code?: string }) => {
        reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? reloadError(path, `its heap reached ${heapMb} MiB while loading`) : err);
      });
      thread.on('exit', (code) => {
        reject(new Error(`the thread vetting ${path} ended (status ${code}) before it answered`));
      });
    });
  } finally {
    clearInterval(watch);
    // Ends the file's code if it is still running; its heap goes with the thread.
    await thread.terminate();
  }
}
