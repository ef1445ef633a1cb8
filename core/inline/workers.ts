/**
 * The queue workers of `palisade run`: one worker thread per queue (the NFQUEUE addon polls on
 * its own thread's loop; RSTs are sent from the main thread, as raw-socket cannot load in a
 * second thread), or one child process per queue (`--workers process`). The kernel's queue
 * balancing hashes both directions of a flow to the same queue, so workers share no flow state.
 * The main thread is never busy with packets, so it is the watchdog: a worker that dies, stops
 * beating for rules.timeoutMs (a rule that never returns) or reaches rules.heapLimitMb is
 * replaced, and its queue bypasses palisade meanwhile (--queue-bypass, inline.failOpen). While a
 * `ctl reload` loads its new rule file, a thread is watched with the reload's bound instead
 * (its top-level code runs between two packets). A replacement binds the queue only once the
 * kernel has let go of the old worker's socket.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { PalisadeError, type ErrorCode } from '../errors.ts';
import { Injector } from '../io/inject.ts';
import { compiled } from '../package.ts';
import { createHeartbeat, Stall } from '../watchdog/heartbeat.js';
import { injectFailure, type WorkerOptions, type WorkerStats } from './queue-worker.ts';
import { queuePort, socketHolders } from './queue-holder.ts';
import { reloadHoldMs } from './reload-bounds.ts';
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { FlowSelection } from '../trace/flow-selection.ts';
import type { QueueTraceEnd } from './queue-trace.ts';

/** Why a queue's `ctl trace` ended, as the main thread sees it: the worker's reason, or its exit. */
export type WorkerTraceEnd = QueueTraceEnd | 'exited';

export interface WorkerHandle {
  readonly queue: number;
  readonly pid: number;
  /** Times the worker's process died and was started again. */
  readonly restarts: number;
  readonly alive: boolean;
  stats(): Promise<WorkerStats>;
  reload(path: string): Promise<void>;
  setLogLevel(level: Config['logLevel']): Promise<void>;
  /**
   * `ctl trace` on this queue: resolves once the worker traces (PAL_ERR_TRACE_BUSY if it traces
   * already), with the way to stop it; each trace goes to `onTrace`, and `onEnd` is called once.
   */
  trace(select: FlowSelection, packets: number, onTrace: (trace: FrameTrace) => void, onEnd: (ended: WorkerTraceEnd) => void): Promise<() => void>;
  /** Drains and closes; resolves with the final counters. */
  stop(): Promise<WorkerStats>;
}

/** What travels over the IPC channel (JSON). */
export type ParentMessage =
  | { type: 'start'; options: WorkerOptions }
  | { type: 'stats'; id: number }
  | { type: 'reload'; id: number; path: string }
  | { type: 'loglevel'; id: number; level: Config['logLevel'] }
  /** `ctl trace`: replied to once the worker traces; its traces and its end follow as `trace` and `trace-end`. */
  | { type: 'trace'; id: number; select: FlowSelection; packets: number }
  /** Ends the trace started by the `trace` message `id` (no reply: its `trace-end` follows). */
  | { type: 'untrace'; id: number }
  | { type: 'stop'; id: number };

export interface SerializedError {
  code: string;
  message: string;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'report'; message: string }
  /** A worker thread's crafted packet, for the main thread to send. */
  | { type: 'inject'; bytes: Uint8Array }
  /** A trace of the `ctl trace` started by the `trace` message `id`, and that trace's end. */
  | { type: 'trace'; id: number; trace: FrameTrace }
  | { type: 'trace-end'; id: number; ended: QueueTraceEnd }
  | { type: 'reply'; id: number; ok: true; result?: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof PalisadeError) return { code: err.code, message: err.message };
  return { code: 'PAL_ERR_INTERNAL', message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}

export function deserializeError(e: SerializedError): Error {
  // Every PalisadeError code crosses as is; anything else was a bug in the worker.
  if (e.code.startsWith('PAL_ERR_') && e.code !== 'PAL_ERR_INTERNAL') return new PalisadeError(e.code as ErrorCode, e.message);
  return new Error(`${e.code}: ${e.message}`);
}

// The compiled build starts a worker's module itself; the sources need an entry that registers tsx.
const entry = fileURLToPath(new URL(compiled ? './worker-process.js' : './worker-entry.js', import.meta.url));
const threadEntry = fileURLToPath(new URL(compiled ? './worker-thread.js' : './worker-thread-entry.js', import.meta.url));
/** A worker that dies is started again after this long (the queue bypasses meanwhile). */
const RESTART_DELAY_MS = 1000;
/** How often the main thread reads a worker thread's heartbeat. */
const WATCH_EVERY_MS = 50;
/**
 * A watch this late means the whole process was paused (SIGSTOP, a suspended VM, swapping), the
 * worker with it: its silence then is no stall, and is measured afresh.
 */
const PAUSED_MS = 4 * WATCH_EVERY_MS;
/** How often a replacement looks whether its queue is free yet, and after how long it says it waits. */
const FREE_EVERY_MS = 100;
const FREE_REPORT_MS = 1000;

/** What the main thread needs of a worker's channel, a child process or a worker thread. */
interface Channel {
  readonly pid: number;
  send(message: ParentMessage): void;
  onMessage(handler: (message: ChildMessage) => void): void;
  /** `why`: the signal or status it ended with. */
  onExit(handler: (why: string) => void): void;
  exited(): boolean;
  end(): void;
  /** Milliseconds the worker has been stuck in its engine (0 when it cannot be told from here). */
  stuckMs(now: number): number;
  /** Milliseconds a reload's loading has held the worker's thread without a break (0 likewise). */
  loadingMs(now: number): number;
  /** Measure afresh from `now` (the whole process was paused: no one was stuck). */
  unstick(now: number): void;
}

function childChannel(options: WorkerOptions): Channel {
  // stdout/stderr shared: alerts and logs go where palisade run's go. A child watches its own
  // rules (core/watchdog/this-thread.ts) and exits when one is stopped; its heap is bounded by
  // V8 itself, with the watcher's emergency stop just below.
  const child: ChildProcess = fork(entry, [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    execArgv: [...process.execArgv, `--max-old-space-size=${options.config.rules.heapLimitMb}`],
  });
  return {
    pid: child.pid ?? 0,
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (h) => child.on('message', (m: unknown) => h(m as ChildMessage)),
    onExit: (h) => child.on('exit', (code, signal) => h(signal ?? `status ${code ?? '?'}`)),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    end: () => undefined,
    stuckMs: () => 0,
    loadingMs: () => 0,
    unstick: () => undefined,
  };
}

function threadChannel(options: WorkerOptions): Channel {
  const heartbeat = createHeartbeat();
  const stall = new Stall(heartbeat);
  // Armed by the worker while a reload loads its rule file, instead of the packets' heartbeat.
  const loading = createHeartbeat();
  const loadStall = new Stall(loading);
  const heapMb = options.config.rules.heapLimitMb;
  // Alerts and logs: the thread writes to the process's own file descriptors, as a child would.
  const thread = new Worker(threadEntry, {
    stdout: false,
    stderr: false,
    workerData: { heartbeat, loading },
    // V8 ends the thread, not the process, when its heap reaches the limit.
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  let done = false;
  thread.on('exit', () => (done = true));
  // An exception that ended the thread: reported through onExit.
  let failure = '';
  thread.on('error', (err: Error & { code?: string }) => {
    failure = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `PAL_ERR_HEAP_LIMIT: its heap reached rules.heapLimitMb (${heapMb} MiB)` : err.message;
  });
  return {
    pid: process.pid,
    send: (m) => {
      if (!done) thread.postMessage(m);
    },
    onMessage: (h) => thread.on('message', (m: unknown) => h(m as ChildMessage)),
    onExit: (h) => thread.on('exit', (code) => h(failure !== '' ? failure : `status ${code}`)),
    exited: () => done,
    end: () => void thread.terminate(),
    stuckMs: (now) => stall.check(now),
    loadingMs: (now) => loadStall.check(now),
    unstick: (now) => {
      stall.reset(now);
      loadStall.reset(now);
    },
  };
}

/** One queue's worker, in a worker thread or a child process. */
export class SpawnedWorker implements WorkerHandle {
  readonly queue: number;
  #options: WorkerOptions;
  #child: Channel;
  readonly #spawn: (options: WorkerOptions) => Channel;
  /** Why the main thread ended the worker (it was stuck), for the report of its exit. */
  #replaced = '';
  readonly #watch: NodeJS.Timeout | undefined;
  #watchedAt = performance.now();
  /** A thread's RSTs, sent from here. */
  readonly #injector: Injector | null;
  #restarts = 0;
  #alive = false;
  #stopping = false;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** `ctl trace`s running on this worker, by the id of their `trace` message. */
  readonly #tracing = new Map<number, { onTrace: (trace: FrameTrace) => void; onEnd: (ended: WorkerTraceEnd) => void }>();
  readonly #report: (message: string) => void;

  private constructor(options: WorkerOptions, kind: 'thread' | 'process', report: (message: string) => void) {
    this.queue = options.queue;
    this.#options = options;
    this.#report = report;
    this.#spawn = kind === 'thread' ? threadChannel : childChannel;
    // Opened before the worker binds its queue, so a missing privilege stops palisade first.
    this.#injector =
      kind === 'thread'
        ? new Injector((err, dst) => {
            this.#report(injectFailure(this.queue, err, dst));
          })
        : null;
    this.#child = this.#spawn(options);
    const timeoutMs = options.config.rules.timeoutMs;
    if (kind === 'thread' && timeoutMs > 0) {
      this.#watch = setInterval(() => {
        this.#check(timeoutMs);
      }, WATCH_EVERY_MS);
      this.#watch.unref();
    }
  }

  /** A thread stuck for timeoutMs is ended; the exit handler starts another. */
  #check(timeoutMs: number): void {
    const now = performance.now();
    const late = now - this.#watchedAt > PAUSED_MS;
    this.#watchedAt = now;
    if (!this.#alive || this.#stopping || this.#replaced !== '') return;
    if (late) {
      this.#child.unstick(now);
      return;
    }
    const stuck = this.#child.stuckMs(now);
    // The vet refused what holds a thread longer than reloadHoldMs; the worker gets its timeout on top.
    const holdMs = reloadHoldMs(this.#options.config) + timeoutMs;
    const loading = this.#child.loadingMs(now);
    if (stuck >= timeoutMs) {
      this.#replaced = `PAL_ERR_RULE_TIMEOUT: its rules ran ${Math.round(stuck)} ms without returning (rules.timeoutMs ${timeoutMs})`;
    } else if (loading >= holdMs) {
      this.#replaced = `PAL_ERR_RELOAD: the rule file it was reloading held its thread ${Math.round(loading)} ms while loading (at most ${holdMs} ms); the new worker runs the rules that ran before`;
    } else return;
    this.#child.end();
  }

  static async start(options: WorkerOptions, kind: 'thread' | 'process', report: (message: string) => void): Promise<SpawnedWorker> {
    const w = new SpawnedWorker(options, kind, report);
    await w.#boot();
    return w;
  }

  get pid(): number {
    return this.#child.pid;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Sends the options and waits for the queue to be bound. */
  #boot(): Promise<void> {
    const child = this.#child;
    return new Promise<void>((resolve, reject) => {
      let booted = false;
      child.onMessage((m) => {
        if (m.type === 'inject') {
          this.#injector?.send(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
        } else if (m.type === 'ready') {
          booted = true;
          this.#alive = true;
          resolve();
        } else if (m.type === 'failed') {
          // Not booted: its exit then starts no other; start() fails, or #restart tries again.
          reject(deserializeError(m.error));
        } else if (m.type === 'report') {
          this.#report(m.message);
        } else if (m.type === 'trace') {
          this.#tracing.get(m.id)?.onTrace(m.trace);
        } else if (m.type === 'trace-end') {
          const t = this.#tracing.get(m.id);
          this.#tracing.delete(m.id);
          t?.onEnd(m.ended);
        } else {
          const w = this.#waiting.get(m.id);
          if (w === undefined) return;
          this.#waiting.delete(m.id);
          if (m.ok) w.resolve(m.result);
          else w.reject(deserializeError(m.error));
        }
      });
      child.onExit((why) => {
        this.#alive = false;
        for (const w of this.#waiting.values()) w.reject(new Error(`worker for queue ${this.queue} exited`));
        this.#waiting.clear();
        // Its engine is gone, and its tracer with it; a new worker traces nothing.
        const traces = [...this.#tracing.values()];
        this.#tracing.clear();
        for (const t of traces) t.onEnd('exited');
        if (!booted) {
          reject(new Error(`the worker for queue ${this.queue} exited while starting (${why})`));
          return;
        }
        if (this.#stopping) return;
        const replaced = this.#replaced;
        this.#replaced = '';
        // Packets of this queue bypass it meanwhile (--queue-bypass).
        const who = `worker for queue ${this.queue} (${child.pid === process.pid ? 'thread' : `pid ${child.pid}`})`;
        this.#report(replaced !== '' ? `${who} was stuck and is ended (${replaced}); starting it again` : `${who} died (${why}); starting it again`);
        setTimeout(() => {
          void this.#restart();
        }, RESTART_DELAY_MS);
      });
      child.send({ type: 'start', options: this.#options });
    });
  }

  /**
   * A new worker, once the kernel has let go of the old one's socket: bound before that, it would
   * fail with EBUSY (a process still holding the old socket keeps the queue bound).
   */
  async #restart(): Promise<void> {
    const since = performance.now();
    let said = false;
    for (let port = queuePort(this.queue); port !== null; port = queuePort(this.queue)) {
      if (this.#stopping) return;
      if (!said && performance.now() - since >= FREE_REPORT_MS) {
        said = true;
        const pids = socketHolders(port);
        this.#report(
          `queue ${this.queue} is still bound to netlink port ${port}${pids.length > 0 ? `, a socket open in pid ${pids.join(', ')}` : ''}; its new worker starts once that socket is closed (meanwhile the kernel queues the packets to it)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, FREE_EVERY_MS));
    }
    if (this.#stopping) return;
    this.#restarts++;
    this.#child = this.#spawn(this.#options);
    try {
      await this.#boot();
    } catch (err) {
      this.#report(`worker for queue ${this.queue} did not start again (${err instanceof Error ? err.message : String(err)}); trying again in ${RESTART_DELAY_MS / 1000} s`);
      setTimeout(() => {
        void this.#restart();
      }, RESTART_DELAY_MS);
    }
  }

  #call(
    message: { type: 'stats' | 'stop' } | { type: 'reload'; path: string } | { type: 'loglevel'; level: Config['logLevel'] } | { type: 'trace'; select: FlowSelection; packets: number },
    id = this.#nextId++,
  ): Promise<unknown> {
    if (!this.#alive) return Promise.reject(new Error(`the worker for queue ${this.queue} is not running`));
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#child.send({ ...message, id });
    });
  }

  async stats(): Promise<WorkerStats> {
    const s = (await this.#call({ type: 'stats' })) as WorkerStats;
    return this.#withInjector(s);
  }

  /** A thread's RSTs are counted where they are sent. */
  #withInjector(s: WorkerStats): WorkerStats {
    if (this.#injector === null) return { ...s, restarts: this.#restarts };
    return { ...s, restarts: this.#restarts, injected: this.#injector.stats.sent, injectFailed: this.#injector.stats.failed };
  }

  async reload(path: string): Promise<void> {
    await this.#call({ type: 'reload', path });
    // A worker started again later loads the new rules.
    this.#options = { ...this.#options, rulesPath: path };
  }

  async setLogLevel(level: Config['logLevel']): Promise<void> {
    await this.#call({ type: 'loglevel', level });
    this.#options = { ...this.#options, config: { ...this.#options.config, logLevel: level } };
  }

  async trace(select: FlowSelection, packets: number, onTrace: (trace: FrameTrace) => void, onEnd: (ended: WorkerTraceEnd) => void): Promise<() => void> {
    const id = this.#nextId++;
    // Before the request: the worker traces from the moment it has it.
    this.#tracing.set(id, { onTrace, onEnd });
    try {
      await this.#call({ type: 'trace', select, packets }, id);
    } catch (err) {
      this.#tracing.delete(id);
      throw err;
    }
    const child = this.#child;
    return () => {
      // Once ended (its N traces, the worker's exit) there is nothing to stop; a new worker never traced.
      if (this.#tracing.has(id) && this.#child === child) child.send({ type: 'untrace', id });
    };
  }

  async stop(): Promise<WorkerStats> {
    this.#stopping = true;
    clearInterval(this.#watch);
    const child = this.#child;
    const exited = new Promise<void>((resolve) => {
      if (child.exited()) resolve();
      else child.onExit(() => { resolve(); });
    });
    const stats = (await this.#call({ type: 'stop' })) as WorkerStats;
    child.end();
    await exited;
    // RSTs still on their way out of the thread's queue have been handed over by now.
    const final = this.#withInjector(stats);
    this.#injector?.close();
    return final;
  }
}
