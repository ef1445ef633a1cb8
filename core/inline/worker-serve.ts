/**
 * The queue worker's side of its channel to `palisade run`'s main thread, the same for a child
 * process (worker-process.ts) and a worker thread (worker-thread.ts): one QueueWorker driven by
 * the messages of core/inline/workers.ts. Signals are the main process's business: it removes
 * the iptables rule first and then asks each worker to drain. If the channel closes (the main
 * process died), the worker drains and exits on its own; the queue then bypasses.
 */
import { QueueWorker, type PacketSender, type WorkerOptions } from './queue-worker.ts';
import { serializeError, type ChildMessage, type ParentMessage } from './workers.ts';
import { watchThisThread, type Stop, type ThreadWatchdog } from '../watchdog/this-thread.ts';
import { reloadHoldMs } from './reload-bounds.ts';

export interface WorkerPort {
  send(message: ChildMessage, then?: () => void): void;
  onMessage(handler: (message: ParentMessage) => void): void;
  onClose(handler: () => void): void;
  exit(code: number): void;
  /** How crafted packets leave; raw sockets of the worker's own when absent. */
  sender?: PacketSender;
  /** A worker thread's heartbeat, watched by the main thread (core/watchdog/heartbeat.js). */
  heartbeat?: Int32Array;
  /** A worker thread's heartbeat while a reload loads its rule file, watched with the reload's bound. */
  loadHeartbeat?: Int32Array;
}

/** What a stopped rule (or a reload's loading, `reloading`) is reported as, before a worker process exits to be replaced. */
function stopMessage(queue: number, stop: Stop, options: WorkerOptions, reloading?: string): string {
  const what =
    stop.reason === 'heap'
      ? `PAL_ERR_HEAP_LIMIT: its heap reached ${stop.usedMb} MiB, near V8's limit (rules.heapLimitMb)`
      : reloading !== undefined
        ? `PAL_ERR_RELOAD: ${reloading} held its thread ${stop.stuckMs} ms while loading (at most ${reloadHoldMs(options.config) + options.config.rules.timeoutMs} ms); the new worker runs the rules that ran before`
        : `PAL_ERR_RULE_TIMEOUT: its rules ran ${stop.stuckMs} ms without returning (rules.timeoutMs ${options.config.rules.timeoutMs})`;
  return `worker for queue ${queue} (pid ${process.pid}) was stopped (${what}); it exits to be replaced`;
}

export function serveWorker(port: WorkerPort): void {
  let worker: QueueWorker | null = null;
  let started: WorkerOptions | null = null;
  let stopping = false;
  // A worker process watches its own rules; a worker thread is watched by the main thread.
  let dog: ThreadWatchdog | null = null;
  const report = (message: string): void => {
    port.send({ type: 'report', message });
  };
  /** A watch of this process's thread that, when it fires, reports why and exits to be replaced. */
  const watch = (options: WorkerOptions, timeoutMs: number, reloading?: string): ThreadWatchdog | null => {
    const w = watchThisThread(timeoutMs, (stop) => {
      // The engine was cut mid-packet (or mid-load): its queue bypasses until the parent starts
      // another. The watchers go first: an exit with an inspector session attached waits for "the debugger".
      void Promise.all([...new Set([w, dog])].map(async (d) => d?.close())).then(() => {
        port.send({ type: 'report', message: stopMessage(options.queue, stop, options, reloading) }, () => {
          port.exit(3);
        });
      });
    });
    return w;
  };
  const watchSelf = (options: WorkerOptions): Int32Array | undefined => {
    dog = watch(options, options.config.rules.timeoutMs);
    return dog?.heartbeat;
  };
  /** A reload's loading in a worker process: watched with the reload's bound, for as long as it loads. */
  const reload = async (w: QueueWorker, path: string): Promise<void> => {
    if (port.loadHeartbeat !== undefined || started === null || started.config.rules.timeoutMs === 0) {
      await w.reload(path, port.loadHeartbeat);
      return;
    }
    const loadDog = watch(started, reloadHoldMs(started.config) + started.config.rules.timeoutMs, path);
    try {
      await w.reload(path, loadDog?.heartbeat);
    } finally {
      await loadDog?.close();
    }
  };
  const need = (): QueueWorker => {
    if (worker === null) throw new Error('the worker has not started');
    return worker;
  };

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await worker?.stop();
    await dog?.close();
    port.exit(0);
  };
  port.onClose(() => {
    void stop();
  });

  const handle = async (m: ParentMessage): Promise<void> => {
    switch (m.type) {
      case 'start':
        started = m.options;
        worker = await QueueWorker.start(m.options, report, port.sender, port.heartbeat ?? watchSelf(m.options));
        port.send({ type: 'ready' });
        return;
      case 'stats':
        port.send({ type: 'reply', id: m.id, ok: true, result: need().stats() });
        return;
      case 'reload':
        await reload(need(), m.path);
        port.send({ type: 'reply', id: m.id, ok: true });
        return;
      case 'loglevel':
        need().setLogLevel(m.level);
        port.send({ type: 'reply', id: m.id, ok: true });
        return;
      case 'trace': {
        const { id } = m;
        need().trace(
          id,
          m.select,
          m.packets,
          (trace) => {
            port.send({ type: 'trace', id, trace });
          },
          (ended) => {
            port.send({ type: 'trace-end', id, ended });
          },
        );
        // Tracing from the next packet on: no packet comes between the start and this reply.
        port.send({ type: 'reply', id, ok: true });
        return;
      }
      case 'untrace':
        worker?.untrace(m.id);
        return;
      case 'stop': {
        stopping = true;
        const stats = await need().stop();
        await dog?.close();
        port.send({ type: 'reply', id: m.id, ok: true, result: stats }, () => {
          port.exit(0);
        });
        return;
      }
    }
  };

  port.onMessage((m) => {
    void handle(m).catch((err: unknown) => {
      if (m.type === 'start') {
        port.send({ type: 'failed', error: serializeError(err) }, () => {
          port.exit(1);
        });
      } else port.send({ type: 'reply', id: m.id, ok: false, error: serializeError(err) });
    });
  });
}
