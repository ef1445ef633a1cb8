/**
 * A flow table with one idle timeout: flows keyed by their 4-tuple, both directions finding the
 * same flow, compared as integers (IPv6: four 32-bit words), with no string or object built per
 * packet. Generic over the flow type, so any protocol with ports and one timeout can use it.
 *
 * One LRU list: a flow moves to the tail on every datagram, so the head is always the first to
 * expire (or to be evicted when the table is full), O(1) per flow with no timer wheel.
 */
import { u32 } from '../bytes.ts';

/** What the table reads and links on a flow. */
export interface TableFlow<F> {
  readonly version: 4 | 6;
  readonly clientAddr: number;
  readonly serverAddr: number;
  readonly clientAddr6: Buffer | null;
  readonly serverAddr6: Buffer | null;
  readonly clientPort: number;
  readonly serverPort: number;
  /** The tuple's hash (tcp-connection's hash4: symmetric), set before insert. */
  hash: number;
  nextInBucket: F | null;
  prevInList: F | null;
  nextInList: F | null;
}

function same6(bytes: Uint8Array, off: number, addr: Uint8Array): boolean {
  return u32(bytes, off) === u32(addr, 0) && u32(bytes, off + 4) === u32(addr, 4) && u32(bytes, off + 8) === u32(addr, 8) && u32(bytes, off + 12) === u32(addr, 12);
}

export class LruFlowTable<F extends TableFlow<F>> {
  readonly #buckets = new Map<number, F>();
  #size = 0;
  #head: F | null = null;
  #tail: F | null = null;
  /** Set by find*: whether the packet goes client→server. */
  up = true;

  get size(): number {
    return this.#size;
  }

  find4(src: number, dst: number, sport: number, dport: number, hash: number): F | null {
    for (let f = this.#buckets.get(hash) ?? null; f !== null; f = f.nextInBucket) {
      if (f.version !== 4) continue;
      if (f.clientAddr === src && f.serverAddr === dst && f.clientPort === sport && f.serverPort === dport) {
        this.up = true;
        return f;
      }
      if (f.clientAddr === dst && f.serverAddr === src && f.clientPort === dport && f.serverPort === sport) {
        this.up = false;
        return f;
      }
    }
    return null;
  }

  /** `bytes` holds the IPv6 header at `off` (source at off+8, destination at off+24). */
  find6(bytes: Uint8Array, off: number, sport: number, dport: number, hash: number): F | null {
    for (let f = this.#buckets.get(hash) ?? null; f !== null; f = f.nextInBucket) {
      const c = f.clientAddr6;
      const s = f.serverAddr6;
      if (c === null || s === null) continue;
      if (f.clientPort === sport && f.serverPort === dport && same6(bytes, off + 8, c) && same6(bytes, off + 24, s)) {
        this.up = true;
        return f;
      }
      if (f.clientPort === dport && f.serverPort === sport && same6(bytes, off + 24, c) && same6(bytes, off + 8, s)) {
        this.up = false;
        return f;
      }
    }
    return null;
  }

  /** Adds the flow as the most recently active. */
  insert(flow: F): void {
    flow.nextInBucket = this.#buckets.get(flow.hash) ?? null;
    this.#buckets.set(flow.hash, flow);
    this.#size++;
    this.#append(flow);
  }

  remove(flow: F): void {
    const head = this.#buckets.get(flow.hash);
    if (head === flow) {
      if (flow.nextInBucket === null) this.#buckets.delete(flow.hash);
      else this.#buckets.set(flow.hash, flow.nextInBucket);
    } else {
      for (let f = head ?? null; f !== null; f = f.nextInBucket) {
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

  /** Moves the flow to the tail: it was just active. */
  touch(flow: F): void {
    if (this.#tail === flow) return;
    this.#unlink(flow);
    this.#append(flow);
  }

  /** The least recently active flow. */
  oldest(): F | null {
    return this.#head;
  }

  #append(flow: F): void {
    const tail = this.#tail;
    flow.prevInList = tail;
    flow.nextInList = null;
    if (tail === null) this.#head = flow;
    else tail.nextInList = flow;
    this.#tail = flow;
  }

  #unlink(flow: F): void {
    if (flow.prevInList === null) this.#head = flow.nextInList;
    else flow.prevInList.nextInList = flow.nextInList;
    if (flow.nextInList === null) this.#tail = flow.prevInList;
    else flow.nextInList.prevInList = flow.prevInList;
    flow.prevInList = null;
    flow.nextInList = null;
  }
}
