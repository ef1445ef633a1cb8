/**
 * The queue workers of `palisade run`, behind one interface: in this process for one queue, or
 * one child process per queue for `--queues A-B` (the nfqueue and raw-socket bindings poll on
 * libuv's default loop, so they cannot run in worker threads). The kernel's queue balancing
 * hashes both directions of a flow to the same queue, so workers share no flow state.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { PalisadeError, type ErrorCode } from '../errors.ts';
import { QueueWorker, type WorkerOptions, type WorkerStats } from './queue-worker.ts';

export interface WorkerHandle {
  readonly queue: number;
  readonly pid: number;
  /** Times the worker's process died and was started again. */
  readonly restarts: number;
  readonly alive: boolean;
  stats(): Promise<WorkerStats>;
  reload(path: string): Promise<void>;
  setLogLevel(level: Config['logLevel']): Promise<void>;
  /** Drains and closes; resolves with the final counters. */
  stop(): Promise<WorkerStats>;
}

/** What travels over the IPC channel (JSON). */
export type ParentMessage =
  | { type: 'start'; options: WorkerOptions }
  | { type: 'stats'; id: number }
  | { type: 'reload'; id: number; path: string }
  | { type: 'loglevel'; id: number; level: Config['logLevel'] }
  | { type: 'stop'; id: number };

export interface SerializedError {
  code: string;
  message: string;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'report'; message: string }
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

/** The queue worker in this process (`--queue N`). */
export class LocalWorker implements WorkerHandle {
  readonly pid = process.pid;
  readonly restarts = 0;
  #stopped = false;

  private constructor(readonly worker: QueueWorker) {}

  static async start(options: WorkerOptions, report: (message: string) => void): Promise<LocalWorker> {
    return new LocalWorker(await QueueWorker.start(options, report));
  }

  get queue(): number {
    return this.worker.queue;
  }

  get alive(): boolean {
    return !this.#stopped;
  }

  stats(): Promise<WorkerStats> {
    return Promise.resolve(this.worker.stats());
  }

  reload(path: string): Promise<void> {
    return this.worker.reload(path);
  }

  setLogLevel(level: Config['logLevel']): Promise<void> {
    this.worker.setLogLevel(level);
    return Promise.resolve();
  }

  async stop(): Promise<WorkerStats> {
    this.#stopped = true;
    return this.worker.stop();
  }
}

const entry = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
/** A worker that dies is started again after this long (the queue bypasses meanwhile). */
const RESTART_DELAY_MS = 1000;

/** One queue's worker in a child process (`--queues A-B`). */
export class ChildWorker implements WorkerHandle {
  readonly queue: number;
  #options: WorkerOptions;
  #child: ChildProcess;
  #restarts = 0;
  #alive = false;
  #stopping = false;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #report: (message: string) => void;

  private constructor(options: WorkerOptions, child: ChildProcess, report: (message: string) => void) {
    this.queue = options.queue;
    this.#options = options;
    this.#child = child;
    this.#report = report;
  }

  static async start(options: WorkerOptions, report: (message: string) => void): Promise<ChildWorker> {
    const w = new ChildWorker(options, spawn(), report);
    await w.#boot();
    return w;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
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
      child.on('message', (raw: unknown) => {
        const m = raw as ChildMessage;
        if (m.type === 'ready') {
          booted = true;
          this.#alive = true;
          resolve();
        } else if (m.type === 'failed') {
          booted = true;
          reject(deserializeError(m.error));
        } else if (m.type === 'report') {
          this.#report(m.message);
        } else {
          const w = this.#waiting.get(m.id);
          if (w === undefined) return;
          this.#waiting.delete(m.id);
          if (m.ok) w.resolve(m.result);
          else w.reject(deserializeError(m.error));
        }
      });
      child.on('exit', (code, signal) => {
        this.#alive = false;
        for (const w of this.#waiting.values()) w.reject(new Error(`worker for queue ${this.queue} exited`));
        this.#waiting.clear();
        if (!booted) {
          reject(new Error(`the worker for queue ${this.queue} exited while starting (${signal ?? `status ${code ?? '?'}`})`));
          return;
        }
        if (this.#stopping) return;
        // Packets of this queue bypass it meanwhile (--queue-bypass).
        this.#report(`worker for queue ${this.queue} (pid ${child.pid ?? '?'}) died (${signal ?? `status ${code ?? '?'}`}); starting it again`);
        setTimeout(() => {
          if (this.#stopping) return;
          this.#restarts++;
          this.#child = spawn();
          this.#boot().catch((err: unknown) => {
            this.#report(`worker for queue ${this.queue} did not start again: ${err instanceof Error ? err.message : String(err)}`);
          });
        }, RESTART_DELAY_MS);
      });
      send(child, { type: 'start', options: this.#options });
    });
  }

  #call(message: { type: 'stats' | 'stop' } | { type: 'reload'; path: string } | { type: 'loglevel'; level: Config['logLevel'] }): Promise<unknown> {
    if (!this.#alive) return Promise.reject(new Error(`the worker for queue ${this.queue} is not running`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      send(this.#child, { ...message, id });
    });
  }

  async stats(): Promise<WorkerStats> {
    return (await this.#call({ type: 'stats' })) as WorkerStats;
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

  async stop(): Promise<WorkerStats> {
    this.#stopping = true;
    const child = this.#child;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => { resolve(); });
    });
    const stats = (await this.#call({ type: 'stop' })) as WorkerStats;
    await exited;
    return stats;
  }
}

function spawn(): ChildProcess {
  // stdout/stderr shared: alerts and logs go where palisade run's go.
  return fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
}

function send(child: ChildProcess, message: ParentMessage): void {
  if (child.connected) child.send(message);
}
