/**
 * A `palisade run --queues` worker process (`--workers process`): one QueueWorker, driven by the
 * parent over the IPC channel (core/inline/worker-serve.ts).
 */
import type { ChildMessage, ParentMessage } from './workers.ts';
import { serveWorker } from './worker-serve.ts';

// Ctrl-C reaches the whole process group: the parent decides when to stop.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

serveWorker({
  send: (m: ChildMessage, then?: () => void): void => {
    if (process.connected && process.send !== undefined) process.send(m, () => then?.());
    else then?.();
  },
  onMessage: (handler) => process.on('message', (raw: unknown) => handler(raw as ParentMessage)),
  onClose: (handler) => process.on('disconnect', handler),
  exit: (code) => process.exit(code),
});
