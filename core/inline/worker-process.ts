/**
 * A `palisade run --queues` worker process: one QueueWorker, driven by the parent over the IPC
 * channel (core/inline/workers.ts). Signals are the parent's business: it removes the iptables
 * rule first and then asks each worker to drain. If the parent dies (kill -9), the channel
 * closes and the worker drains and exits on its own; the queue then bypasses.
 */
import { QueueWorker } from './queue-worker.ts';
import { serializeError, type ChildMessage, type ParentMessage } from './workers.ts';

let worker: QueueWorker | null = null;
let stopping = false;

const send = (m: ChildMessage, then?: () => void): void => {
  if (process.connected && process.send !== undefined) process.send(m, () => then?.());
  else then?.();
};
const report = (message: string): void => {
  send({ type: 'report', message });
};

// Ctrl-C reaches the whole process group: the parent decides when to stop.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await worker?.stop();
  process.exit(0);
}

process.on('disconnect', () => {
  void stop();
});

process.on('message', (raw: unknown) => {
  const m = raw as ParentMessage;
  void handle(m).catch((err: unknown) => {
    if (m.type === 'start') send({ type: 'failed', error: serializeError(err) }, () => process.exit(1));
    else send({ type: 'reply', id: m.id, ok: false, error: serializeError(err) });
  });
});

async function handle(m: ParentMessage): Promise<void> {
  switch (m.type) {
    case 'start':
      worker = await QueueWorker.start(m.options, report);
      send({ type: 'ready' });
      return;
    case 'stats':
      send({ type: 'reply', id: m.id, ok: true, result: need().stats() });
      return;
    case 'reload':
      await need().reload(m.path);
      send({ type: 'reply', id: m.id, ok: true });
      return;
    case 'loglevel':
      need().setLogLevel(m.level);
      send({ type: 'reply', id: m.id, ok: true });
      return;
    case 'stop': {
      stopping = true;
      const stats = await need().stop();
      send({ type: 'reply', id: m.id, ok: true, result: stats }, () => process.exit(0));
      return;
    }
  }
}

function need(): QueueWorker {
  if (worker === null) throw new Error('the worker has not started');
  return worker;
}
