/**
 * A `palisade run --queues` worker thread: one QueueWorker with its own engine and flow table,
 * driven by the main thread (core/inline/worker-serve.ts). The NFQUEUE addon polls on this
 * thread's own loop. Crafted RSTs go to the main thread, which sends them: raw-socket polls on
 * the process's default loop and cannot be loaded in a second thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InjectStats } from '../io/inject.ts';
import type { ChildMessage, ParentMessage } from './workers.ts';
import { serveWorker } from './worker-serve.ts';

const port = parentPort;
if (port === null) throw new Error('worker-thread.ts runs in a worker thread');

const relayed: InjectStats = { sent: 0, failed: 0 };

serveWorker({
  heartbeat: (workerData as { heartbeat: Int32Array }).heartbeat,
  loadHeartbeat: (workerData as { loading: Int32Array }).loading,
  send: (m: ChildMessage, then?: () => void): void => {
    port.postMessage(m);
    then?.();
  },
  onMessage: (handler) => port.on('message', (m: unknown) => handler(m as ParentMessage)),
  onClose: (handler) => port.on('close', handler),
  exit: () => {
    // Ending the thread: close the port so the main thread sees it go.
    port.close();
  },
  sender: {
    send: (datagram: Buffer): void => {
      relayed.sent++;
      port.postMessage({ type: 'inject', bytes: datagram } satisfies ChildMessage);
    },
    stats: relayed,
    close: () => undefined,
  },
});
