/**
 * Where every stream of an engine keeps its delivered bytes until the receiver acknowledges
 * them (reassembly.ts compares retransmissions with them): one log, written front to back and
 * wrapping, in 1 MiB segments allocated as the log first reaches them.
 *
 * Why one log and not a ring per stream: each delivered segment is copied once either way, but
 * into a per-stream ring the copy lands on a cold line of one of thousands of buffers (a
 * cache and TLB miss per line), while the log's tail is always the memory written last. With
 * tens of thousands of connections, that copy was the largest single cost of reassembly.
 *
 * The price: a byte stays comparable while fewer than `size` bytes were logged after it, by any
 * stream. Older retained bytes are released as the budget's would be under pressure
 * (reassembly.ts#forgetOverwritten); `size` is the reassembly memcap, at most 64 MiB.
 */

const SEGMENT_BITS = 20;
const SEGMENT = 1 << SEGMENT_BITS;
const SEGMENT_MASK = SEGMENT - 1;
/** The log's largest size: at 10 Gbit/s, about 50 ms of traffic; at 1 Gbit/s, half a second. */
export const RETENTION_LOG_MAX = 64 * SEGMENT;

export class RetentionLog {
  /** Bytes the log holds before it overwrites its oldest: a whole number of segments. */
  readonly size: number;
  readonly #segments: (Buffer | undefined)[];
  /** Bytes ever written: the next byte's absolute position. */
  head = 0;
  /** head modulo size: where the next byte goes. */
  #at = 0;

  constructor(size: number) {
    const segments = Math.max(1, Math.ceil(Math.min(size, RETENTION_LOG_MAX) / SEGMENT));
    this.size = segments * SEGMENT;
    this.#segments = new Array<Buffer | undefined>(segments).fill(undefined);
  }

  /** The oldest absolute position still in the log. */
  get floor(): number {
    return this.head > this.size ? this.head - this.size : 0;
  }

  /** Appends `chunk[from..]`; returns the absolute position of its first byte. */
  write(chunk: Buffer, from: number): number {
    const start = this.head;
    const n = chunk.length - from;
    let at = this.#at;
    const inSegment = at & SEGMENT_MASK;
    if (from === 0 && inSegment + n <= SEGMENT) {
      // The common case: the whole payload fits in the current segment.
      this.#segment(at >>> SEGMENT_BITS).set(chunk, inSegment);
      at += n;
    } else {
      for (let done = 0; done < n; ) {
        const off = at & SEGMENT_MASK;
        const k = Math.min(n - done, SEGMENT - off);
        this.#segment(at >>> SEGMENT_BITS).set(chunk.subarray(from + done, from + done + k), off);
        done += k;
        at += k;
        if (at === this.size) at = 0;
      }
    }
    this.#at = at === this.size ? 0 : at;
    this.head = start + n;
    return start;
  }

  /** `payload[p, p + n)` equals the logged bytes at absolute position `abs` (at or after floor). */
  equals(payload: Buffer, p: number, abs: number, n: number): boolean {
    let at = abs % this.size;
    for (let done = 0; done < n; ) {
      const off = at & SEGMENT_MASK;
      const k = Math.min(n - done, SEGMENT - off);
      const seg = this.#segment(at >>> SEGMENT_BITS);
      if (payload.compare(seg, off, off + k, p + done, p + done + k) !== 0) return false;
      done += k;
      at += k;
      if (at === this.size) at = 0;
    }
    return true;
  }

  #segment(i: number): Buffer {
    return (this.#segments[i] ??= Buffer.allocUnsafeSlow(SEGMENT));
  }
}
