/**
 * Who holds a netfilter queue: the netlink port bound to it (/proc/net/netfilter/nfnetlink_queue)
 * and the processes with that socket open. The socket is close-on-exec (the addon sets it), but a
 * process that holds it anyway (forked without exec, or a socket passed on) keeps the queue
 * bound after the worker that opened it is gone, and a new worker's bind fails until it lets go.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const NETLINK_NETFILTER = 12;

/** The netlink port bound to `queue` in this network namespace, or null when the queue is free. */
export function queuePort(queue: number): number | null {
  let text = '';
  try {
    text = readFileSync('/proc/net/netfilter/nfnetlink_queue', 'utf8');
  } catch {
    // No queue bound in this namespace yet (nfnetlink_queue loads with the first bind).
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length >= 2 && f[0] === queue) return f[1] ?? null;
  }
  return null;
}

/** The pids with the netfilter socket of netlink port `port` open (for a message: who to stop). */
export function socketHolders(port: number): number[] {
  let inode = '';
  try {
    for (const line of readFileSync('/proc/net/netlink', 'utf8').split('\n').slice(1)) {
      // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
      const f = line.trim().split(/\s+/);
      if (Number(f[1]) === NETLINK_NETFILTER && Number(f[2]) === port) inode = f[9] ?? '';
    }
  } catch {
    return [];
  }
  if (inode === '') return [];
  const link = `socket:[${inode}]`;
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === link)) pids.push(Number(pid));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}
