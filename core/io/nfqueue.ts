/**
 * The inline packet source: one NFQUEUE queue through the `nfqueue` binding (libnetfilter_queue).
 *
 * What the binding (0.3.2) gives, read from its source, and what follows here:
 * - one callback per packet, from a libuv poll on the *default* loop, with a fresh info object
 *   (ids, devices and their names) and a copy of the packet: no zero-copy, and no worker threads
 *   (a worker's packets would be polled on the main thread's loop), so `--queues` runs one
 *   process per queue;
 * - one verdict per packet (`nfq_set_verdict`, one sendmsg each): no `nfq_set_verdict_batch`, so
 *   verdicts cannot be batched; they are issued as soon as the engine settles a packet;
 * - no queue flags (NFQA_CFG_F_FAIL_OPEN, F_GSO): the kernel segments GSO packets before queueing
 *   them and drops packets when the queue is full (its default length is 1024);
 * - no close: the netlink socket lives as long as the process, and the kernel drops what is
 *   still queued when it exits;
 * - an exception thrown by the callback would crash the process in C++, so `onPacket` must not
 *   throw (the caller's handler catches everything).
 * Packets arrive from iptables as IP datagrams without a link header: LINKTYPE_RAW.
 */
import { createRequire } from 'node:module';
import { nfqueueError } from '../errors.ts';

/** netfilter verdicts (linux/netfilter.h). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** What the binding passes for each packet (we read only the id). */
interface PacketInfo {
  readonly id: number;
}

interface Binding {
  open(queue: number, rcvbuf: number): void;
  read(callback: (info: PacketInfo, payload: Buffer) => void): void;
  setVerdict(id: number, verdict: number, buffer: null): void;
}

interface NfqueueModule {
  NFQueue: new () => { bindings: Binding };
}

/**
 * The netlink receive buffer: bursts at link speed queue up here while a packet is judged. With
 * NETLINK_NO_ENOBUFS (the binding sets it) an overflow loses packets instead of the socket.
 */
const RECEIVE_BUFFER = 16 * 1024 * 1024;

export type PacketHandler = (payload: Buffer, id: number) => void;

export class NfQueue {
  readonly queue: number;
  readonly #binding: Binding;
  #verdicts = 0;

  /** Binds queue `queue`; packets go to `onPacket`, which must not throw. */
  constructor(queue: number, onPacket: PacketHandler) {
    this.queue = queue;
    let mod: NfqueueModule;
    try {
      mod = createRequire(import.meta.url)('nfqueue') as NfqueueModule;
    } catch (err) {
      throw nfqueueError(queue, `the nfqueue binding does not load (${(err as Error).message}); install libnetfilter-queue-dev and run npm rebuild nfqueue`);
    }
    this.#binding = new mod.NFQueue().bindings;
    try {
      this.#binding.open(queue, RECEIVE_BUFFER);
    } catch (err) {
      const why = (err as Error).message;
      throw nfqueueError(
        queue,
        `${why}: palisade must run as root (CAP_NET_ADMIN), and no other program may hold the queue${process.getuid?.() === 0 ? '' : ' (not running as root)'}`,
      );
    }
    this.#binding.read((info, payload) => {
      onPacket(payload, info.id);
    });
  }

  accept(id: number): void {
    this.#verdicts++;
    this.#binding.setVerdict(id, NF_ACCEPT, null);
  }

  drop(id: number): void {
    this.#verdicts++;
    this.#binding.setVerdict(id, NF_DROP, null);
  }

  /** Verdicts given so far. */
  get verdicts(): number {
    return this.#verdicts;
  }
}
