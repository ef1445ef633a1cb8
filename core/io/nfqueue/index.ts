/**
 * The inline packet source: one NFQUEUE queue through palisade's own addon (addon.cc in this
 * folder, built by node-gyp at install over libmnl).
 *
 * The addon reads every datagram waiting at a wake-up into one reused buffer and calls
 * `#onBatch` once per batch; each packet is an offset and length in that buffer plus a few u32
 * fields (meta), read here into a view handed to the handler: no per-packet info object, string
 * or copy. Verdicts given during a batch are planned (verdict-plan.ts) and sent together when the
 * batch ends; verdicts given between batches (a streamed rule releasing held packets) leave at
 * the end of the current microtask. The addon polls on the loop of the thread that opened the
 * queue.
 *
 * Packets arrive from iptables as IP datagrams without a link header: LINKTYPE_RAW.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nfqueueError } from '../../errors.ts';
import { planVerdicts } from './verdict-plan.ts';
import { HELD, NF_ACCEPT, NF_DROP, netfilterVerdict, SENT, verdictSlot, type FinalVerdict } from './verdicts.ts';
import { packageRoot } from '../../package.ts';

/** NFQA_SKB_INFO flags (linux/netfilter/nfnetlink_queue.h). */
export const SKB_CSUMNOTREADY = 1;
export const SKB_GSO = 2;

/** Meta fields of one packet; the addon's batch.h writes them. */
const F_OFFSET = 0;
const F_LENGTH = 1;
const F_ID = 2;
const F_SKBINFO = 4;
const F_STATUS = 7;
const FIELDS = 8;

/** The addon's own counters. */
export interface NfQueueAddonStats {
  received: number;
  batches: number;
  datagrams: number;
  malformed: number;
  refused: number;
  overflow: number;
  enobufs: number;
  recvErrors: number;
  sendErrors: number;
  verdictMessages: number;
  batchVerdicts: number;
  sends: number;
  callbackErrors: number;
}

interface NativeQueue {
  readonly portId: number;
  verdicts(count: number): void;
  verdictPayload(id: number, verdict: number, bytes: Buffer): void;
  stats(): NfQueueAddonStats;
  close(): void;
}

export interface NfQueueAddon {
  Queue: new (
    queue: number,
    options: { queueLength: number; failOpen: boolean; gso: boolean; receiveBuffer: number },
    buffer: Buffer,
    meta: Uint32Array,
    verdicts: Uint32Array,
    onBatch: (count: number) => void,
  ) => NativeQueue;
  parse(datagram: Buffer, cut: boolean, meta: Uint32Array): { packets: number; malformed: number; errors: number; overflow: number; other: number };
  readonly slotSize: number;
  readonly metaFields: number;
}

let addon: NfQueueAddon | Error | undefined;

/** The addon, or why it cannot be loaded (not built: no compiler or no libmnl-dev at install). */
export function loadAddon(): NfQueueAddon | Error {
  if (addon !== undefined) return addon;
  try {
    addon = createRequire(import.meta.url)(join(packageRoot, 'build/Release/palisade_nfqueue.node')) as NfQueueAddon;
  } catch (err) {
    addon = err instanceof Error ? err : new Error(String(err));
  }
  return addon;
}

export interface NfQueueOptions {
  /** The kernel's queue length (NFQA_CFG_QUEUE_MAXLEN): packets waiting for a verdict. */
  queueLength: number;
  /** NFQA_CFG_F_FAIL_OPEN: past the queue length, the kernel accepts instead of dropping. */
  failOpen: boolean;
  /** NFQA_CFG_F_GSO: GSO/GRO super-packets queued whole instead of segmented. */
  gso: boolean;
  /** Datagrams taken per wake-up (each slot holds one packet of up to 64 KiB). */
  batchSlots?: number;
}

/** The handler gets the packet (a view valid until it returns), its id, and NFQA_SKB_INFO. */
export type PacketHandler = (payload: Buffer, id: number, skbInfo: number) => void;

/** The netlink receive buffer: bursts queue up here while a batch is judged. */
const RECEIVE_BUFFER = 16 * 1024 * 1024;
const DEFAULT_SLOTS = 64;
/** Late verdicts planned with a batch; more are sent on their own first. */
const LATE_ROOM = 256;

export class NfQueue {
  readonly queue: number;
  readonly #native: NativeQueue;
  readonly #onPacket: PacketHandler;
  /** The slot of the verdict a packet the handler failed on gets (fail-open: NF_ACCEPT). */
  readonly #failSlot: number;
  readonly #buffer: Buffer;
  readonly #meta: Uint32Array;
  readonly #out: Uint32Array;
  // The batch being judged: its ids and their verdict slots (verdicts.ts).
  readonly #ids: Uint32Array;
  readonly #verdicts: Uint8Array;
  #count = 0;
  #inBatch = false;
  // Verdicts for packets of earlier batches, (id, verdict) pairs, sent with the next flush.
  #late: Uint32Array;
  #lateCount = 0;
  #lateScheduled = false;
  /** Packets of earlier batches that have no verdict yet (held by the engine). */
  #held = 0;
  #verdictsGiven = 0;
  #malformedMessages = 0;
  #lastId = 0;
  #undelivered = 0;
  #closed = false;
  /** What waits for the verdicts given so far to be sent (afterVerdicts). */
  #after: (() => void)[] = [];

  /** Binds queue `queue`; packets go to `onPacket`, in batches. */
  constructor(queue: number, options: NfQueueOptions, onPacket: PacketHandler) {
    this.queue = queue;
    this.#onPacket = onPacket;
    this.#failSlot = verdictSlot(options.failOpen ? NF_ACCEPT : NF_DROP);
    const mod = loadAddon();
    if (mod instanceof Error) {
      throw nfqueueError(queue, `palisade's NFQUEUE addon is not built (${mod.message.split('\n')[0] ?? ''}); install build-essential, python3 and libmnl-dev, then run npm ci again (or npx node-gyp rebuild in palisade's directory)`);
    }
    // The meta layout is written twice, in batch.h and here: a build that disagrees must not run.
    if (mod.metaFields !== FIELDS) throw nfqueueError(queue, `the NFQUEUE addon writes ${mod.metaFields} fields a packet, this palisade reads ${FIELDS}: rebuild it (npm ci)`);
    const slots = options.batchSlots ?? DEFAULT_SLOTS;
    this.#buffer = Buffer.allocUnsafeSlow(slots * mod.slotSize);
    this.#meta = new Uint32Array(slots * 2 * FIELDS);
    const room = slots * 2;
    this.#ids = new Uint32Array(room);
    this.#verdicts = new Uint8Array(room);
    this.#late = new Uint32Array(2 * LATE_ROOM);
    this.#out = new Uint32Array(3 * (room + LATE_ROOM));
    try {
      this.#native = new mod.Queue(queue, { queueLength: options.queueLength, failOpen: options.failOpen, gso: options.gso, receiveBuffer: RECEIVE_BUFFER }, this.#buffer, this.#meta, this.#out, this.#onBatch);
    } catch (err) {
      // The kernel answers EPERM both without CAP_NET_ADMIN and when another socket holds the queue.
      const why = (err as Error).message;
      const hint =
        process.getuid?.() === 0
          ? 'another program holds this queue (another palisade, Suricata, …)'
          : 'palisade must run as root (CAP_NET_ADMIN), and no other program may hold the queue';
      throw nfqueueError(queue, `${why}: ${hint}`);
    }
  }

  readonly #onBatch = (count: number): void => {
    const meta = this.#meta;
    const buffer = this.#buffer;
    this.#inBatch = true;
    this.#count = count;
    for (let i = 0; i < count; i++) {
      const id = meta[i * FIELDS + F_ID] as number;
      // Ids the kernel gave out but never delivered: the socket buffer was full, and the kernel
      // accepted (fail-open) or dropped them.
      const gap = (id - this.#lastId - 1) >>> 0;
      if (gap < 0x80000000) this.#undelivered += gap;
      this.#lastId = id;
      this.#ids[i] = id;
      this.#verdicts[i] = HELD;
    }
    for (let i = 0; i < count; i++) {
      const m = i * FIELDS;
      const offset = meta[m + F_OFFSET] as number;
      if ((meta[m + F_STATUS] as number) !== 0) this.#malformedMessages++;
      try {
        this.#onPacket(buffer.subarray(offset, offset + (meta[m + F_LENGTH] as number)), meta[m + F_ID] as number, meta[m + F_SKBINFO] as number);
      } catch {
        // The handler catches its own; a packet it failed on still gets the fail verdict.
        if (this.#verdicts[i] === HELD) this.#verdicts[i] = this.#failSlot;
      }
    }
    this.#inBatch = false;
    // More late verdicts than the output array has room for beside the batch: sent first.
    if (this.#lateCount > LATE_ROOM) this.#flushLateNow();
    // Planned with the held packets of earlier batches only: the batch's own are in `verdicts`.
    const n = planVerdicts({ ids: this.#ids, verdicts: this.#verdicts, count, late: this.#late, lateCount: this.#lateCount, olderHeld: this.#held }, this.#out);
    for (let i = 0; i < count; i++) if (this.#verdicts[i] === HELD) this.#held++;
    this.#lateCount = 0;
    this.#count = 0;
    if (n > 0 && !this.#closed) this.#native.verdicts(n);
    if (this.#after.length > 0) this.#runAfter();
  };

  /** Where the batch holds `id`, or -1 (a packet of an earlier batch). */
  #slot(id: number): number {
    const count = this.#count;
    if (count === 0) return -1;
    // Ids in a batch are consecutive unless the kernel let some through unqueued.
    const guess = (id - (this.#ids[0] as number)) >>> 0;
    if (guess < count && this.#ids[guess] === id) return guess;
    for (let i = 0; i < count; i++) if (this.#ids[i] === id) return i;
    return -1;
  }

  /** `verdict`: netfilter's number (NF_ACCEPT, NF_DROP). */
  #verdict(id: number, verdict: number): void {
    this.#verdictsGiven++;
    if (this.#inBatch) {
      const slot = this.#slot(id);
      if (slot >= 0) {
        this.#verdicts[slot] = verdictSlot(verdict);
        return;
      }
    }
    // A held packet of an earlier batch.
    if (this.#held > 0) this.#held--;
    if (this.#lateCount * 2 === this.#late.length) {
      const grown = new Uint32Array(this.#late.length * 2);
      grown.set(this.#late);
      this.#late = grown;
    }
    this.#late[this.#lateCount * 2] = id;
    this.#late[this.#lateCount * 2 + 1] = verdict;
    this.#lateCount++;
    if (!this.#inBatch && !this.#lateScheduled) {
      this.#lateScheduled = true;
      queueMicrotask(this.#flushLate);
    }
  }

  readonly #flushLate = (): void => {
    this.#lateScheduled = false;
    if (this.#inBatch || this.#lateCount === 0) return;
    this.#flushLateNow();
    if (this.#after.length > 0) this.#runAfter();
  };

  /**
   * Runs `fn` once every verdict given so far has been sent, or now if none waits. A packet
   * palisade crafts (a RST carrying the sequence number after the data it let through) must not
   * overtake the packets it accepted before it: their verdicts leave at the end of the batch,
   * and a RST sent at once reached the endpoint first, which took it for an old one (RFC 5961:
   * a challenge ACK, no reset).
   */
  afterVerdicts(fn: () => void): void {
    if (!this.#inBatch && this.#lateCount === 0) fn();
    else this.#after.push(fn);
  }

  #runAfter(): void {
    const after = this.#after;
    this.#after = [];
    for (const fn of after) fn();
  }

  #flushLateNow(): void {
    // More late verdicts than the output array holds go in rounds.
    const room = Math.floor(this.#out.length / 3);
    while (this.#lateCount > 0) {
      const take = Math.min(this.#lateCount, room);
      const n = planVerdicts({ ids: this.#ids, verdicts: this.#verdicts, count: 0, late: this.#late, lateCount: take, olderHeld: this.#held }, this.#out);
      this.#late.copyWithin(0, take * 2, this.#lateCount * 2);
      this.#lateCount -= take;
      if (n > 0 && !this.#closed) this.#native.verdicts(n);
    }
  }

  /** Gives packet `id` palisade's verdict, as netfilter's number for it. */
  give(id: number, verdict: FinalVerdict): void {
    this.#verdict(id, netfilterVerdict(verdict));
  }

  accept(id: number): void {
    this.#verdict(id, NF_ACCEPT);
  }

  /**
   * Accepts packet `id` as `bytes` instead of what it was (a segment palisade normalised): its own
   * message (NFQA_PAYLOAD), sent now. Verdicts given before it and not sent yet go first.
   */
  acceptRewritten(id: number, bytes: Buffer): void {
    this.#verdictsGiven++;
    if (this.#inBatch) {
      const slot = this.#slot(id);
      if (slot >= 0) {
        this.#verdicts[slot] = SENT;
        if (!this.#closed) this.#native.verdictPayload(id, NF_ACCEPT, bytes);
        return;
      }
    }
    // A held packet of an earlier batch: the late verdicts before it leave first.
    if (this.#held > 0) this.#held--;
    if (!this.#inBatch && this.#lateCount > 0) this.#flushLateNow();
    if (!this.#closed) this.#native.verdictPayload(id, NF_ACCEPT, bytes);
  }

  drop(id: number): void {
    this.#verdict(id, NF_DROP);
  }

  /** Verdicts given so far. */
  get verdicts(): number {
    return this.#verdictsGiven;
  }

  /** The socket's netlink port id: how /proc/net/netfilter/nfnetlink_queue names this listener. */
  get portId(): number {
    return this.#native.portId;
  }

  /**
   * The addon's counters; messages that were malformed past their packet id; and packet ids
   * the kernel gave out that never reached palisade (its socket buffer was full).
   */
  stats(): NfQueueAddonStats & { malformedMessages: number; undelivered: number } {
    return { ...this.#native.stats(), malformedMessages: this.#malformedMessages, undelivered: this.#undelivered };
  }

  /** Sends what is still planned, then unbinds: the kernel drops whatever is still queued. */
  close(): void {
    if (this.#closed) return;
    if (this.#lateCount > 0) this.#flushLateNow();
    if (this.#after.length > 0) this.#runAfter();
    this.#closed = true;
    this.#native.close();
  }
}
