/**
 * The kernel's own counters for a netfilter queue, from /proc/net/netfilter/nfnetlink_queue
 * (net/netfilter/nfnetlink_queue.c, seq_show): one line per bound queue,
 *
 *   queue_num  peer_portid  queue_total  copy_mode  copy_range  queue_dropped  queue_user_dropped  id_sequence  1
 *
 * `queue_total` packets wait for a verdict (in the socket or held by palisade), `queue_dropped`
 * were dropped because the queue was full (without fail-open), `queue_user_dropped` because
 * the socket buffer was full, and `id_sequence` is the last packet id given out. The file is
 * per network namespace: the caller's.
 */
import { readFileSync } from 'node:fs';

export interface KernelQueueCounters {
  /** Packets waiting for a verdict now. */
  waiting: number;
  /** Dropped by the kernel: the queue was full (fail-open off). */
  queueDropped: number;
  /** Dropped by the kernel: palisade's socket buffer was full (fail-open off). */
  userDropped: number;
  /** Packets queued since the queue was bound (the last id given out). */
  queued: number;
}

const PROC = '/proc/net/netfilter/nfnetlink_queue';

/** Parses the file's text; the line of `queue` bound by `portId`, or null. */
export function parseKernelQueue(text: string, queue: number, portId: number): KernelQueueCounters | null {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 8 || f[0] !== queue || f[1] !== portId) continue;
    return { waiting: f[2] ?? 0, queueDropped: f[5] ?? 0, userDropped: f[6] ?? 0, queued: f[7] ?? 0 };
  }
  return null;
}

export function readKernelQueue(queue: number, portId: number): KernelQueueCounters | null {
  try {
    return parseKernelQueue(readFileSync(PROC, 'utf8'), queue, portId);
  } catch {
    return null;
  }
}
