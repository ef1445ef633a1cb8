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

export interface WorkerPort {
  send(message: ChildMessage, then?: () => void): void;
  onMessage(handler: (message: ParentMessage) => void): void;
  onClose(handler: () => void): void;
  exit(code: number): void;
  /** How crafted packets leave; raw sockets of the worker's own when absent. */
  sender?: PacketSender;
  /** A worker thread's heartbeat, watched by the main thread (core/watchdog/heartbeat.js). */
  heartbeat?: Int32Array;
}

/** What a stopped rule is reported as, before a worker process exits to be replaced. */
function stopMessage(queue: number, stop: Stop, options: WorkerOptions): string {
  const what =
    stop.reason === 'timeout'
      ? `PAL_ERR_RULE_TIMEOUT: its rules ran ${stop.stuckMs} ms without returning (rules.timeoutMs ${options.config.rules.timeoutMs})`
      : `PAL_ERR_HEAP_LIMIT: its heap reached ${stop.usedMb} MiB, near V8's limit (rules.heapLimitMb)`;
  return `worker for queue ${queue} (pid ${process.pid}) was stopped (${what}); it exits to be replaced`;
}

export function serveWorker(port: WorkerPort): void {
  let worker: QueueWorker | null = null;
  let stopping = false;
  // A worker process watches its own rules; a worker thread is watched by the main thread.
  let dog: ThreadWatchdog | null = null;
  const report = (message: string): void => {
    port.send({ type: 'report', message });
  };
  const watchSelf = (options: WorkerOptions): Int32Array | undefined => {
    dog = watchThisThread(options.config.rules.timeoutMs, (stop) => {
      // The engine was cut mid-packet: its queue bypasses until the parent starts another. The
      // watcher goes first: an exit with its inspector session attached waits for "the debugger".
      void dog?.close().then(() => {
        port.send({ type: 'report', message: stopMessage(options.queue, stop, options) }, () => {
          port.exit(3);
        });
      });
    });
    return dog?.heartbeat;
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
        worker = await QueueWorker.start(m.options, report, port.sender, port.heartbeat ?? watchSelf(m.options));
        port.send({ type: 'ready' });
        return;
      case 'stats':
        port.send({ type: 'reply', id: m.id, ok: true, result: need().stats() });
        return;
      case 'reload':
        await need().reload(m.path);
        port.send({ type: 'reply', id: m.id, ok: true });
        return;
      case 'loglevel':
        need().setLogLevel(m.level);
        port.send({ type: 'reply', id: m.id, ok: true });
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
