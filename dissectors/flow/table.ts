/**
 * The flow table of the connection trackers (TCP, UDP): flows keyed by their 4-tuple, both
 * directions finding the same flow, with no string built per packet. A power-of-two array of
 * chains indexed by a symmetric 32-bit hash (a Map keyed by numbers boxed half of the hashes,
 * those past the 31-bit small integers, on every lookup); the chain compares addresses and
 * ports as integers (IPv6: four 32-bit words each). The array doubles past one flow per slot.
 *
 * Timeouts: one LRU list per timeout class (TCP: embryonic, established, closing; UDP: one). A
 * flow moves to its list's tail on every packet, so within a list the head is always the first
 * to expire and expiry is O(1) per flow, with no timer wheel to tick.
 */
import { i32, u32 } from '../bytes.ts';
import type { Ipv4Packet } from '../ipv4.ts';
import type { Ipv6Packet } from '../ipv6.ts';

/** What the table reads and links on a flow. */
export interface TableFlow<F> {
  readonly version: 4 | 6;
  /** IPv4 addresses' 32 bits as int32s. */
  readonly clientAddr: number;
  readonly serverAddr: number;
  readonly clientAddr6: Buffer | null;
  readonly serverAddr6: Buffer | null;
  readonly clientPort: number;
  readonly serverPort: number;
  /** The tuple's hash4, set before insert. */
  hash: number;
  nextInBucket: F | null;
  prevInList: F | null;
  nextInList: F | null;
  /** Which list holds it (-1: none). */
  list: number;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x85ebca6b);
  return (h ^ (h >>> 13)) | 0;
}

/** Symmetric: the endpoints are ordered before hashing, so both directions hash alike. */
export function hash4(a: number, ap: number, b: number, bp: number): number {
  if (a > b || (a === b && ap > bp)) return mix(mix(mix(mix(0x9e3779b9, b), bp), a), ap);
  return mix(mix(mix(mix(0x9e3779b9, a), ap), b), bp);
}

/** The 16-byte address at `off` folded to 32 bits. */
export function fold6(bytes: Uint8Array, off: number): number {
  return (u32(bytes, off) ^ Math.imul(u32(bytes, off + 4), 31) ^ Math.imul(u32(bytes, off + 8), 961) ^ Math.imul(u32(bytes, off + 12), 29791)) >>> 0;
}

function equal6(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i += 4) if (u32(a, aOff + i) !== u32(b, i)) return false;
  return true;
}

/** Slots of a new table; it doubles from there (a power of two: the index is hash & mask). */
const INITIAL_SLOTS = 1024;

export class FlowTable<F extends TableFlow<F>> {
  #buckets: (F | null)[] = new Array<F | null>(INITIAL_SLOTS).fill(null);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;
  readonly #heads: (F | null)[];
  readonly #tails: (F | null)[];
  /** Flows on each list. */
  readonly #counts: Int32Array;
  /** Set by lookup/find*: whether the packet goes client→server. */
  fromClient = true;
  /** Set by lookup: the packet's tuple hash, for insert() when no flow was found. */
  hash = 0;

  constructor(lists: number) {
    this.#heads = new Array<F | null>(lists).fill(null);
    this.#tails = new Array<F | null>(lists).fill(null);
    this.#counts = new Int32Array(lists);
  }

  /** Flows on `list` now. */
  count(list: number): number {
    return this.#counts[list] ?? 0;
  }

  get size(): number {
    return this.#size;
  }

  /** The flow of a packet's 4-tuple (either direction), or null; sets `fromClient` and `hash`. */
  lookup(ip: Ipv4Packet | Ipv6Packet, sport: number, dport: number): F | null {
    const b = ip.bytes;
    const off = ip.off;
    if (ip.version === 4) {
      // int32s, as flows key them (flow-endpoints.ts): Smis compare without boxed numbers.
      const src = i32(b, off + 12);
      const dst = i32(b, off + 16);
      this.hash = hash4(src, sport, dst, dport);
      return this.find4(src, dst, sport, dport, this.hash);
    }
    this.hash = hash4(fold6(b, off + 8), sport, fold6(b, off + 24), dport);
    return this.find6(b, off, sport, dport, this.hash);
  }

  find4(src: number, dst: number, sport: number, dport: number, hash: number): F | null {
    for (let f = this.#buckets[hash & this.#mask] ?? null; f !== null; f = f.nextInBucket) {
      if (f.version !== 4) continue;
      if (f.clientAddr === src && f.serverAddr === dst && f.clientPort === sport && f.serverPort === dport) {
        this.fromClient = true;
        return f;
      }
      if (f.clientAddr === dst && f.serverAddr === src && f.clientPort === dport && f.serverPort === sport) {
        this.fromClient = false;
        return f;
      }
    }
    return null;
  }

  /** `bytes` holds the IPv6 header at `off` (source at off+8, destination at off+24). */
  find6(bytes: Uint8Array, off: number, sport: number, dport: number, hash: number): F | null {
    for (let f = this.#buckets[hash & this.#mask] ?? null; f !== null; f = f.nextInBucket) {
      const c = f.clientAddr6;
      const s = f.serverAddr6;
      if (c === null || s === null) continue;
      if (f.clientPort === sport && f.serverPort === dport && equal6(bytes, off + 8, c) && equal6(bytes, off + 24, s)) {
        this.fromClient = true;
        return f;
      }
      if (f.clientPort === dport && f.serverPort === sport && equal6(bytes, off + 24, c) && equal6(bytes, off + 8, s)) {
        this.fromClient = false;
        return f;
      }
    }
    return null;
  }

  insert(flow: F, list: number): void {
    if (this.#size >= this.#buckets.length) this.#grow();
    const i = flow.hash & this.#mask;
    flow.nextInBucket = this.#buckets[i] ?? null;
    this.#buckets[i] = flow;
    this.#size++;
    this.#append(flow, list);
  }

  remove(flow: F): void {
    const i = flow.hash & this.#mask;
    const head = this.#buckets[i] ?? null;
    if (head === flow) {
      this.#buckets[i] = flow.nextInBucket;
    } else {
      for (let f = head; f !== null; f = f.nextInBucket) {
        if (f.nextInBucket === flow) {
          f.nextInBucket = flow.nextInBucket;
          break;
        }
      }
    }
    flow.nextInBucket = null;
    this.#unlink(flow);
    this.#size--;
  }

  /** Twice the slots, every chain rebuilt (amortised: the table only grows). */
  #grow(): void {
    const old = this.#buckets;
    const slots = old.length * 2;
    const next = new Array<F | null>(slots).fill(null);
    const mask = slots - 1;
    for (let head of old) {
      while (head !== null) {
        const f: F = head;
        head = f.nextInBucket;
        const i = f.hash & mask;
        f.nextInBucket = next[i] ?? null;
        next[i] = f;
      }
    }
    this.#buckets = next;
    this.#mask = mask;
  }

  /** Moves the flow to the tail of `list`: it was just active. */
  touch(flow: F, list: number): void {
    if (flow.list === list && this.#tails[list] === flow) return;
    this.#unlink(flow);
    this.#append(flow, list);
  }

  /** The least recently active flow of a list. */
  oldest(list: number): F | null {
    return this.#heads[list] ?? null;
  }

  #append(flow: F, list: number): void {
    const tail = this.#tails[list] ?? null;
    flow.prevInList = tail;
    flow.nextInList = null;
    if (tail === null) this.#heads[list] = flow;
    else tail.nextInList = flow;
    this.#tails[list] = flow;
    flow.list = list;
    (this.#counts[list] as number)++;
  }

  #unlink(flow: F): void {
    const list = flow.list;
    if (list < 0) return;
    if (flow.prevInList === null) this.#heads[list] = flow.nextInList;
    else flow.prevInList.nextInList = flow.nextInList;
    if (flow.nextInList === null) this.#tails[list] = flow.prevInList;
    else flow.nextInList.prevInList = flow.prevInList;
    flow.prevInList = null;
    flow.nextInList = null;
    flow.list = -1;
    (this.#counts[list] as number)--;
  }
}
