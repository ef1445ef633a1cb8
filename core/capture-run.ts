/**
 * The rules over a capture, packet by packet, under the rule bounds (rules.timeoutMs,
 * rules.heapLimitMb): the one replay loop, for `palisade replay` and for `replay()` (tests,
 * `palisade test`). A capture error ends the loop and the engine finishes normally (flows end,
 * streamed rules see their streams close); a rule stopped by the watchdog or a heap past its
 * limit halts the engine where it was, since its state was cut mid-packet: outputs keep
 * everything decided before it, and no rule runs again.
 */
import type { Engine } from './engine.ts';
import type { Config } from './config.ts';
import type { CaptureReader } from './io/capture.ts';
import type { DropReason } from '../dissectors/verdict.ts';
import { getHeapStatistics } from 'node:v8';
import { heapLimit, heapNearV8Limit, PalisadeError, ruleExit, ruleTimeout } from './errors.ts';
import { trapExit, type ExitTrap } from './exit-trap.ts';
import { STRAY_RULE, trapStrayErrors } from './stray-errors.ts';
import { HeapLimit } from './watchdog/heap-limit.ts';
import { watchThisThread } from './watchdog/this-thread.ts';

/** Packets between two looks at the heap and the outputs (a look is about a microsecond). */
const HEAP_CHECK_EVERY = 64;
/**
 * Packets between two turns of the event loop: a signal (Ctrl-C) is handled there, the loop
 * being synchronous otherwise (a setImmediate costs microseconds; 4096 packets, milliseconds).
 */
const YIELD_EVERY = 4096;
const MIB = 1024 * 1024;
/** Connections ended at the end of input between two turns of the event loop. */
const FLUSH_SLICE = 4096;

export interface CaptureRunOptions {
  /** The first write error of an output the engine does not own (the flow log), or null. */
  outputFailure?: () => PalisadeError | null;
  /** Set once the run must stop (a signal): the loop stops reading and flushes everything. */
  interrupted?: (frame: number) => PalisadeError | null;
}

export interface CaptureRun {
  engine: Engine;
  /** What ended the run early: a capture error, PAL_ERR_OUTPUT, PAL_ERR_RULE_TIMEOUT or PAL_ERR_HEAP_LIMIT. */
  error?: PalisadeError;
}

/**
 * `makeEngine` gets the watchdog's heartbeat (undefined off the main thread). An output's write
 * error (the engine's alert and log outputs, `options.outputFailure`) or an interruption, checked
 * between packets, ends the run with everything still held flushed to the outputs that work.
 */
export async function runCapture(
  reader: CaptureReader,
  limits: Config['rules'],
  makeEngine: (heartbeat: Int32Array | undefined) => Engine,
  options: CaptureRunOptions = {},
): Promise<CaptureRun> {
  const outputFailure = options.outputFailure ?? ((): null => null);
  const interruption = options.interrupted ?? ((): null => null);
  let onStop: (err: PalisadeError) => void = () => undefined;
  const stopped = new Promise<PalisadeError>((resolve) => (onStop = resolve));
  // The handler runs in a later task, once the engine exists.
  let watchdogReason: DropReason = { kind: 'watchdog' };
  const dog = watchThisThread(limits.timeoutMs, (stop) => {
    const { rule, frame } = engine.running;
    watchdogReason = { kind: 'watchdog', ...(rule !== '' ? { rule } : {}), policy: stop.reason === 'heap' ? 'rules.heapLimitMb' : 'rules.timeoutMs' };
    // A stop outside any rule (engine code, a dissector) is counted under a name, as reported.
    engine.stats.ruleError(rule || '(unknown)');
    if (stop.reason === 'heap') {
      onStop(heapNearV8Limit(rule, frame, stop.usedMb, Math.round(getHeapStatistics().heap_size_limit / MIB)));
      return;
    }
    engine.stats.ruleTimeouts++;
    onStop(ruleTimeout(rule, frame, stop.stuckMs, limits.timeoutMs));
  });
  let engine: Engine;
  try {
    engine = makeEngine(dog?.heartbeat);
  } catch (err) {
    void dog?.close(); // the watcher thread would keep the process alive
    throw err;
  }
  const heap = new HeapLimit(limits.heapLimitMb);
  const exits: ExitTrap = trapExit(() => {
    const { rule, frame } = engine.running;
    return { rule, frame: frame ?? engine.stats.packets };
  });
  const strays = trapStrayErrors((err) => {
    engine.strayError(STRAY_RULE, err);
  });
  const exitError = (): PalisadeError | undefined => {
    const r = exits.request;
    return r === null ? undefined : ruleExit(r.rule, r.frame, typeof r.code === 'number' || typeof r.code === 'string' ? String(r.code) : '');
  };

  const work = async (): Promise<PalisadeError | undefined> => {
    // Returns here first: the race below must hold its promise before any rule runs, since a
    // stop unwinds everything on the stack, the caller of a synchronous loop too. And goes on in
    // a task of its own: a stop also drops the microtasks pending at that moment (V8 empties the
    // queue), which must be the engine's, not those of whoever called (a test runner).
    await new Promise<void>((resolve) => setImmediate(resolve));
    let failure: PalisadeError | undefined;
    let n = 0;
    let turn = 0;
    try {
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        // A rule (or its timer, run at the last turn) called process.exit(): no packet after it.
        if (exits.request !== null) break;
        engine.push(rec.data, rec, rec.linkType, false, rec.origLen);
        // Streamed rules judge a packet's bytes before the next packet is read (deterministic replay).
        if (engine.busy) await engine.settle();
        if (++n === HEAP_CHECK_EVERY) {
          n = 0;
          const usedMb = heap.exceeded();
          if (usedMb > 0) return heapLimit(usedMb, limits.heapLimitMb, engine.stats.packets);
          failure = engine.outputFailure ?? outputFailure() ?? interruption(engine.stats.packets) ?? undefined;
          if (failure !== undefined) break;
          if (++turn === YIELD_EVERY / HEAP_CHECK_EVERY) {
            turn = 0;
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
        }
      }
      // And once at the end, for a capture shorter than the period.
      const usedMb = heap.exceeded();
      if (usedMb > 0) return heapLimit(usedMb, limits.heapLimitMb, engine.stats.packets);
    } catch (err) {
      if (!(err instanceof PalisadeError)) throw err;
      failure = err;
    } finally {
      reader.close();
    }
    // End of input: every open connection ends (an hour of a busy link leaves tens of
    // thousands), a slice at a time with a turn of the event loop between slices, so that a
    // second Ctrl-C still stops at once and the watchdog sees the endings as progress.
    while (!engine.flush(FLUSH_SLICE)) {
      if (engine.busy) await engine.settle();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await engine.settle();
    engine.close();
    return exitError() ?? failure ?? engine.outputFailure ?? outputFailure() ?? undefined;
  };

  dog?.arm();
  try {
    const ended = await Promise.race([work(), stopped]);
    if (ended !== undefined && (ended.code === 'PAL_ERR_RULE_TIMEOUT' || ended.code === 'PAL_ERR_HEAP_LIMIT')) {
      reader.close();
      engine.halt(watchdogReason);
    }
    return ended === undefined ? { engine } : { engine, error: ended };
  } finally {
    dog?.disarm();
    await dog?.close();
    // Only now: a rule's timer may fire while the watcher thread ends (its alert, its error are the run's).
    exits.restore();
    strays.restore();
  }
}
