/**
 * How long a `ctl reload` may take. A new rule file's top-level code, and its rules' set-up,
 * run on each worker's own thread between two packets: an ES module evaluates on the thread
 * that imports it and its state is that thread's, so no other thread can do it for the worker.
 * The vet (core/inline/vet.ts) runs the same code under the same bound first, in a thread of its
 * own: a file too slow for the bound is refused before any worker imports it.
 */
import type { Config } from '../config.ts';

/** The longest a reload's loading may hold a thread without a break (the worker's packets wait meanwhile). */
export const reloadHoldMs = (config: Config): number => Math.max(1000, 5 * config.rules.timeoutMs);

/** The longest a reload's loading may take in all (imports, transforms, top-level await); the type-check aside. */
export const RELOAD_LOAD_MS = 10_000;
