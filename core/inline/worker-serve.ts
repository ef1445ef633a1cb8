/**
 * The queue worker's side of its channel to `palisade run`'s main thread, the same for a child
 * process (worker-process.ts) and a worker thread (worker-thread.ts): one QueueWorker driven by
 * the messages of core/inline/workers.ts. Signals are the main process's business: it removes
 * the iptables rule first and then asks each worker to drain. If the channel closes (the main
 * process died), the worker drains and exits on its own; the queue then bypasses.
 */
import { QueueWorker, type PacketSender } from './queue-worker.ts';
import { serializeError, type ChildMessage, type ParentMessage } from './workers.ts';

export interface WorkerPort {
  send(message: ChildMessage, then?: () => void): void;
  onMessage(handler: (message: ParentMessage) => void): void;
  onClose(handler: () => void): void;
  exit(code: number): void;
  /** How crafted packets leave; raw sockets of the worker's own when absent. */
  sender?: PacketSender;
}

export function serveWorker(port: WorkerPort): void {
  let worker: QueueWorker | null = null;
  let stopping = false;
  const report = (message: string): void => {
    port.send({ type: 'report', message });
  };
  const need = (): QueueWorker => {
    if (worker === null) throw new Error('the worker has not started');
    return worker;
  };

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await worker?.stop();
    port.exit(0);
  };
  port.onClose(() => {
    void stop();
  });

  const handle = async (m: ParentMessage): Promise<void> => {
    switch (m.type) {
      case 'start':
        worker = await QueueWorker.start(m.options, report, port.sender);
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
