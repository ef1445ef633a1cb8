/**
 * One direction of a TCP connection put back in order (design §5). Bytes reach the sink once,
 * in stream order, as soon as they are in order; out-of-order segments wait as copies.
 *
 * Overlaps are first-wins: a byte already delivered or buffered is never replaced. A segment
 * that carries other bytes than the first copy where it overlaps is a conflict (SEG_CONFLICT).
 * What add() does with it is the caller's choice: refuse it whole (CONFLICT_REFUSE: the packet
 * is dropped), take its new bytes, those nobody saw before, first wins per byte
 * (CONFLICT_MERGE), or also rewrite its overlapping bytes to the first copy (CONFLICT_REWRITE:
 * the packet goes on normalised, and the receiver gets what the rules saw). One inconsistent
 * overlap then cannot blind the rules to the rest of the stream. To tell a true retransmission from a rewrite of data already
 * delivered, delivered bytes are retained in a ring until the receiver acknowledges them.
 *
 * Internally every position is a stream offset (a plain number that never wraps, 0 = first byte
 * after the SYN); sequence numbers are turned into offsets once, relative to `next`, with serial
 * arithmetic (RFC 1982), so wraparound at 2^32 needs no care anywhere else.
 *
 * Memory: `retained + buffered` bytes per stream, never above `maxBytes`, and the same amount in
 * the shared budget, never above its cap. Out-of-order data takes precedence: retention gives
 * way (its oldest bytes are released early) rather than refusing a segment.
 */

import { seqAdd, seqDiff } from './serial.ts';

export interface ReassemblyLimits {
  /** Bytes held per direction: out-of-order segments plus delivered-but-unacknowledged data kept to check retransmissions. */
  maxBytes: number;
  /** Out-of-order segments held per direction. */
  maxSegments: number;
  /** Counted for each buffered piece beside its bytes (PIECE_BYTES in an engine; 0 when absent). */
  pieceBytes?: number;
}

/** A conflicting segment is refused whole: nothing of it is taken. */
export const CONFLICT_REFUSE = 0;
/** A conflicting segment gives its new bytes (first wins per byte); SEG_CONFLICT, lastNewBytes > 0. */
export const CONFLICT_MERGE = 1;
/** As CONFLICT_MERGE, and its bytes that differ from the first copy are overwritten with it, in the payload itself. */
export const CONFLICT_REWRITE = 2;

/** One per engine, shared by every stream: the global memcap. */
export class ReassemblyBudget {
  /** Bytes held by every stream together (retained and out of order), as maxBytes counts them: never above `cap`. */
  used = 0;
  /** The retained part of `used`. */
  retained = 0;
  /** What the streams' retention rings take: their sizes plus RING_OVERHEAD each. */
  rings = 0;
  readonly cap: number;

  constructor(cap: number) {
    this.cap = cap;
  }

  /**
   * What reassembly really holds, heap or not: out-of-order pieces at their cost, and the rings
   * retained bytes live in at their whole size (a ring is larger than what it retains). The
   * engine's memcap counts this; the pool of free rings is a bounded cost of the process.
   */
  get held(): number {
    return this.used - this.retained + this.rings;
  }
}

export interface StreamSink {
  /**
   * In-order bytes; `offset` is the stream position of chunk[0] (0 = first byte after the SYN).
   * `chunk` may be the caller's own packet buffer: read it during the call, copy what must last.
   */
  data(chunk: Buffer, offset: number): void;
}

/** The segment brought new bytes (delivered now if in order, else buffered). */
export const SEG_NEW = 0;
/** Nothing new; every byte it carries equals what was seen (exact retransmission). Also an empty payload. */
export const SEG_DUPLICATE = 1;
/**
 * It overlaps bytes already seen with different bytes: the first copy stays. Nothing of it is
 * accepted, or, merging, its new bytes are (lastNewBytes).
 */
export const SEG_CONFLICT = 2;
/** It would have to be buffered past maxBytes / maxSegments / the global budget: nothing of it is accepted. */
export const SEG_MEMCAP = 3;
/** Nothing new, and it starts before the retained data (acknowledged and released): it cannot be compared; ignored. */
export const SEG_OLD = 4;
/** It starts more than `window` bytes past next: not buffered. */
export const SEG_OUT_OF_WINDOW = 5;

export type SegmentResult =
  | typeof SEG_NEW
  | typeof SEG_DUPLICATE
  | typeof SEG_CONFLICT
  | typeof SEG_MEMCAP
  | typeof SEG_OLD
  | typeof SEG_OUT_OF_WINDOW;

/** The default for add()'s window: 2^30, the largest window scaling allows (RFC 7323 §2.3). */
const DEFAULT_WINDOW = 0x4000_0000;
/** An ack further than this past next acknowledges nothing this side sent (RFC 7323 §2.3 bound). */
const MAX_ACK_AHEAD = 0x4000_0000;
/**
 * The retention ring's smallest size; it doubles from the size first needed up to maxBytes, and
 * halves again as acknowledgments release its bytes, so that a ring is never more than four times
 * what it retains, or this: a connection that sent 9 bytes holds a ring of 64, not of 4 KiB.
 */
const MIN_RING = 64;
/**
 * What a ring costs beside its bytes: its ArrayBuffer, backing store and allocation (measured at
 * 260-400 bytes of RSS for each allocUnsafeSlow buffer of 16 B-4 KiB).
 */
export const RING_OVERHEAD = 400;

/**
 * Rings not in use (their stream has everything acknowledged, or ended), by size, for the next
 * to reuse, most recently used first: a link opens and closes thousands of connections a
 * second, and allocating every ring anew (then collecting it) was a fifth of the time of a
 * replay with reassembly. Bounded, so the pool never holds much.
 */
const ringPool = new Map<number, Buffer[]>();
const RING_POOL_MAX = 16 * 1024 * 1024;
let pooledBytes = 0;

function takeRing(size: number): Buffer {
  const ring = ringPool.get(size)?.pop();
  if (ring === undefined) return Buffer.allocUnsafeSlow(size);
  pooledBytes -= size;
  return ring;
}

function giveRing(ring: Buffer): void {
  if (pooledBytes + ring.length > RING_POOL_MAX) return;
  let list = ringPool.get(ring.length);
  if (list === undefined) {
    list = [];
    ringPool.set(ring.length, list);
  }
  list.push(ring);
  pooledBytes += ring.length;
}

/**
 * What a buffered piece costs beside its bytes (the piece, its Buffer and backing store), counted
 * in `memory` and against every cap: measured at about 155 bytes, so that a flood of tiny
 * out-of-order segments is bounded by what it really holds.
 */
export const PIECE_BYTES = 160;

/** Out-of-order bytes [start, end) in stream offsets, copied from the segment that brought them. */
interface Piece {
  readonly start: number;
  readonly end: number;
  readonly data: Buffer;
}

export class StreamReassembler {
  readonly #limits: ReassemblyLimits;
  readonly #budget: ReassemblyBudget;
  #initialized = false;
  /** rcv.nxt, unsigned 32-bit. */
  #next = 0;
  /** Stream offset of #next. */
  #delivered = 0;
  /** Delivered bytes kept for comparison: the last #retained before #delivered, from ring[#head], wrapping. */
  #ring: Buffer | null = null;
  #head = 0;
  #retained = 0;
  /**
   * Sorted by start, never overlapping, every start > #delivered: a piece that comes in order is
   * delivered at once (or, if the sink threw meanwhile, by the next add() or skipTo()).
   */
  #pieces: Piece[] = [];
  readonly #pieceBytes: number;
  /** Bytes in #pieces, #pieceBytes each included. */
  #buffered = 0;
  #lastNew = 0;
  /** Bumped by clear(): a delivery loop stops if its sink cleared the stream. */
  #epoch = 0;

  constructor(limits: ReassemblyLimits, budget: ReassemblyBudget) {
    this.#limits = limits;
    this.#budget = budget;
    this.#pieceBytes = limits.pieceBytes ?? 0;
  }

  /**
   * Starts the stream: `seq` is the sequence number of its first data byte (ISN + 1). Re-usable
   * after clear(); a started stream is cleared first.
   */
  init(seq: number): void {
    if (this.#initialized) this.clear();
    this.#initialized = true;
    this.#next = seq >>> 0;
    this.#delivered = 0;
  }

  get initialized(): boolean {
    return this.#initialized;
  }
  /** rcv.nxt: the next in-order sequence number. */
  get next(): number {
    return this.#next;
  }
  /** Bytes delivered so far, skipped bytes included (stream offset of `next`); a plain number, never wraps. */
  get delivered(): number {
    return this.#delivered;
  }
  /** Bytes held now (retained + out of order), counted in the budget too. */
  get memory(): number {
    return this.#retained + this.#buffered;
  }
  /** Delivered bytes kept to compare retransmissions against (part of `memory`). */
  get retained(): number {
    return this.#retained;
  }
  /** Out-of-order segments held. */
  get bufferedSegments(): number {
    return this.#pieces.length;
  }
  /** New bytes the last add() accepted (delivered or buffered); 0 unless it returned SEG_NEW. */
  get lastNewBytes(): number {
    return this.#lastNew;
  }
  /** The lowest buffered out-of-order sequence number, or -1: lets the caller decide a gap is permanent. */
  get firstBuffered(): number {
    const p = this.#pieces[0];
    return p === undefined ? -1 : seqAdd(this.#next, p.start - this.#delivered);
  }

  /**
   * Adds a segment's payload at `seq`. New in-order bytes go to `sink.data()` at once (one or
   * more calls, in stream order), followed by any buffered bytes that became in order. An
   * in-order segment with nothing buffered reaches the sink as `payload` itself (zero copy).
   * `window`: how far past `next` a segment may start to be buffered (the receiver's
   * advertised window, scaled). Returns a SEG_* code; `lastNewBytes` tells how many bytes were
   * new. The sink may call clear(), but not add() or skipTo(). `conflicts`: what a segment that
   * overlaps earlier bytes with other ones does (CONFLICT_*).
   */
  add(seq: number, payload: Buffer, sink: StreamSink, window = DEFAULT_WINDOW, conflicts = CONFLICT_REFUSE): SegmentResult {
    if (!this.#initialized) throw new Error('StreamReassembler.add() called before init()');
    this.#lastNew = 0;
    const len = payload.length;
    if (len === 0) return SEG_DUPLICATE;
    const rel = seqDiff(seq, this.#next);
    if (rel === 0 && this.#pieces.length === 0) {
      this.#lastNew = len;
      this.#deliver(payload, sink);
      return SEG_NEW;
    }
    return this.#addSlow(rel, payload, sink, window, conflicts);
  }

  /**
   * The receiver acknowledged everything before `ack`: retained bytes before it are released.
   * Acks behind the retained data or more than 2^30 past next are ignored.
   */
  acknowledge(ack: number): void {
    const rel = seqDiff(ack, this.#next);
    if (!this.#initialized || rel > MAX_ACK_AHEAD) return;
    // An ack past next acknowledges bytes this side never saw (capture loss): all it saw is acked.
    const upTo = rel < 0 ? this.#delivered + rel : this.#delivered;
    const release = upTo - (this.#delivered - this.#retained);
    if (release > 0) this.#release(release);
  }

  /**
   * Gives up on missing bytes before `seq`: the holes are skipped (counted in `delivered`, never
   * passed to the sink), buffered bytes before `seq` and after it that become in order are
   * delivered. Returns the number of bytes skipped. Retention restarts after the last hole, so a
   * late copy of skipped or earlier bytes gets SEG_OLD.
   */
  skipTo(seq: number, sink: StreamSink): number {
    const rel = seqDiff(seq, this.#next);
    if (!this.#initialized || rel <= 0) return 0;
    return this.#drain(null, 0, this.#delivered + rel, sink);
  }

  /** Releases everything (the flow ended) and returns its memory to the budget; `next` and `delivered` keep their last values. */
  clear(): void {
    this.#budget.used -= this.#retained + this.#buffered;
    this.#budget.retained -= this.#retained;
    this.#retained = 0;
    this.#buffered = 0;
    this.#head = 0;
    this.#dropRing();
    this.#pieces = [];
    this.#lastNew = 0;
    this.#initialized = false;
    this.#epoch++;
  }

  /** Everything but the fast path; `rel` = seq - next. */
  #addSlow(rel: number, payload: Buffer, sink: StreamSink, window: number, conflicts: number): SegmentResult {
    if (rel > window) return SEG_OUT_OF_WINDOW;
    const s = this.#delivered + rel;
    const e = s + payload.length;
    if (this.#pieces[0]?.start === this.#delivered) {
      // A sink that threw left pieces in order behind it: they go first.
      const epoch = this.#epoch;
      this.#drain(null, 0, 0, sink);
      if (this.#epoch !== epoch) return SEG_DUPLICATE;
    }
    const d = this.#delivered;
    const retainStart = d - this.#retained;
    if (e <= retainStart) return SEG_OLD;
    // Bytes before retainStart were acknowledged and released: nothing to compare them with.
    const uncomparable = s < retainStart;
    const from = uncomparable ? retainStart : s;
    const to = e < d ? e : d;
    const merge = conflicts !== CONFLICT_REFUSE;
    let conflict = false;
    if (from < to && !this.#matchesRetained(payload, s, from, to)) {
      if (!merge) return SEG_CONFLICT;
      conflict = true;
      if (conflicts === CONFLICT_REWRITE) this.#copyRetained(payload, s, from, to);
    }
    if (e <= d) return conflict ? SEG_CONFLICT : uncomparable ? SEG_OLD : SEG_DUPLICATE;

    // Compare with the buffered pieces overlapping [lo, e) and count the bytes none covers.
    const lo = s > d ? s : d;
    const pieces = this.#pieces;
    const first = this.#firstEndingAfter(lo);
    let covered = 0;
    let last = first;
    for (; last < pieces.length; last++) {
      const p = pieces[last] as Piece;
      if (p.start >= e) break;
      const os = p.start > lo ? p.start : lo;
      const oe = p.end < e ? p.end : e;
      if (payload.compare(p.data, os - p.start, oe - p.start, os - s, oe - s) !== 0) {
        if (!merge) return SEG_CONFLICT;
        conflict = true;
        if (conflicts === CONFLICT_REWRITE) payload.set(p.data.subarray(os - p.start, oe - p.start), os - s);
      }
      covered += oe - os;
    }
    const fresh = e - lo - covered;
    if (fresh === 0) return conflict ? SEG_CONFLICT : uncomparable ? SEG_OLD : SEG_DUPLICATE;

    if (s <= d) {
      // In order: where a piece is, the piece's bytes go (first wins); the segment's elsewhere.
      this.#lastNew = fresh;
      this.#drain(payload, s, e, sink);
      return conflict ? SEG_CONFLICT : SEG_NEW;
    }
    if (conflict) return this.#bufferHoles(payload, s, e, first, last, fresh);

    // Out of order: one new piece from the end of a piece overlapping its start to the start of
    // one overlapping its end; the pieces between, equal to it, are replaced by it.
    let i = first;
    let a = s;
    let b = e;
    let j = last;
    const left = pieces[i];
    if (i < j && left !== undefined && left.start < s) {
      a = left.end;
      i++;
    }
    const right = pieces[j - 1];
    if (j > i && right !== undefined && right.end > e) {
      b = right.start;
      j--;
    }
    if (pieces.length + 1 - (j - i) > this.#limits.maxSegments) return SEG_MEMCAP;
    // What memory grows by: `fresh`, (b - a) minus the pieces replaced, and one piece for j - i.
    const grow = fresh + this.#pieceBytes * (1 - (j - i));
    if (!this.#room(grow)) return SEG_MEMCAP;
    pieces.splice(i, j - i, this.#piece(payload, s, a, b));
    this.#buffered += grow;
    this.#budget.used += grow;
    this.#lastNew = fresh;
    return SEG_NEW;
  }

  /**
   * Room for `grow` more buffered bytes within maxBytes and the global budget, made by
   * releasing the oldest retained bytes (out-of-order data takes precedence); false when even
   * that is not enough.
   */
  #room(grow: number): boolean {
    const budget = this.#budget;
    const perStream = this.#retained + this.#buffered + grow - this.#limits.maxBytes;
    const global = budget.used + grow - budget.cap;
    const over = perStream > global ? perStream : global;
    if (over > this.#retained) return false;
    if (over > 0) this.#release(over);
    return true;
  }

  /**
   * Out of order, conflicting with pieces between `first` and `last`: those stay as they are
   * (first wins), and the segment's bytes fill only the holes between them, a piece each.
   */
  #bufferHoles(payload: Buffer, s: number, e: number, first: number, last: number, fresh: number): SegmentResult {
    const pieces = this.#pieces;
    const holes: Piece[] = [];
    let cur = s;
    for (let k = first; k < last; k++) {
      const p = pieces[k] as Piece;
      if (p.start > cur) holes.push(this.#piece(payload, s, cur, p.start));
      if (p.end > cur) cur = p.end;
    }
    if (cur < e) holes.push(this.#piece(payload, s, cur, e));
    if (pieces.length + holes.length > this.#limits.maxSegments) return SEG_MEMCAP;
    const grow = fresh + this.#pieceBytes * holes.length;
    if (!this.#room(grow)) return SEG_MEMCAP;
    const merged = pieces.slice(first, last).concat(holes).sort((x, y) => x.start - y.start);
    pieces.splice(first, last - first, ...merged);
    this.#buffered += grow;
    this.#budget.used += grow;
    this.#lastNew = fresh;
    return SEG_CONFLICT;
  }

  /** A piece of `payload` (which starts at offset s) over [a, b), copied. */
  #piece(payload: Buffer, s: number, a: number, b: number): Piece {
    const data = Buffer.allocUnsafeSlow(b - a);
    data.set(payload.subarray(a - s, b - s));
    return { start: a, end: b, data };
  }

  /**
   * Moves `delivered` up to `e` and on through the pieces that become in order: from `payload`
   * (which starts at offset `s`) where no piece is, or skipping those bytes when payload is
   * null. Returns the bytes skipped. State is updated before each sink call, so the sink sees a
   * consistent stream.
   */
  #drain(payload: Buffer | null, s: number, e: number, sink: StreamSink): number {
    const pieces = this.#pieces;
    const epoch = this.#epoch;
    let skipped = 0;
    for (;;) {
      const p = pieces[0];
      const cur = this.#delivered;
      if (p !== undefined && p.start === cur) {
        pieces.shift();
        const n = p.data.length;
        this.#buffered -= n + this.#pieceBytes;
        this.#budget.used -= n + this.#pieceBytes;
        this.#deliver(p.data, sink);
      } else if (cur < e) {
        const stop = p !== undefined && p.start < e ? p.start : e;
        if (payload === null) {
          skipped += stop - cur;
          this.#delivered = stop;
          this.#next = seqAdd(this.#next, stop - cur);
          // Retention covers a contiguous run up to delivered: it restarts after a hole.
          if (this.#retained > 0) this.#release(this.#retained);
          continue;
        }
        this.#deliver(cur === s && stop === e ? payload : payload.subarray(cur - s, stop - s), sink);
      } else {
        return skipped;
      }
      if (this.#epoch !== epoch) return skipped;
    }
  }

  /** Passes in-order bytes to the sink after recording them as delivered and retaining them. */
  #deliver(chunk: Buffer, sink: StreamSink): void {
    const offset = this.#delivered;
    const n = chunk.length;
    this.#delivered = offset + n;
    this.#next = seqAdd(this.#next, n);
    this.#retain(chunk);
    sink.data(chunk, offset);
  }

  /** Appends just-delivered bytes to the retention ring, releasing the oldest to stay within maxBytes and the budget. */
  #retain(chunk: Buffer): void {
    const n = chunk.length;
    const budget = this.#budget;
    let room = this.#limits.maxBytes - this.#buffered;
    const globalRoom = this.#retained + budget.cap - budget.used;
    if (globalRoom < room) room = globalRoom;
    let keep = this.#retained + n;
    if (keep > room) {
      keep = room > 0 ? room : 0;
      const drop = this.#retained + n - keep;
      this.#release(drop < this.#retained ? drop : this.#retained);
      if (keep === 0) return;
    }
    const take = keep - this.#retained;
    const ring = this.#ring !== null && this.#ring.length >= keep ? this.#ring : this.#grow(keep);
    const size = ring.length;
    let tail = this.#head + this.#retained;
    if (tail >= size) tail -= size;
    const src = take === n ? chunk : chunk.subarray(n - take);
    const toEnd = size - tail;
    if (take <= toEnd) {
      ring.set(src, tail);
    } else {
      ring.set(src.subarray(0, toEnd), tail);
      ring.set(src.subarray(toEnd), 0);
    }
    this.#retained = keep;
    budget.used += take;
    budget.retained += take;
  }

  /** A ring of at least `need` bytes (need <= maxBytes), doubling, the retained bytes moved to its start. */
  #grow(need: number): Buffer {
    const old = this.#ring;
    let size = old === null ? MIN_RING : old.length * 2;
    while (size < need) size *= 2;
    if (size > this.#limits.maxBytes) size = this.#limits.maxBytes;
    return this.#moveTo(size);
  }

  /** A ring of `size` bytes (>= retained) in place of the current one, the retained bytes moved to its start. */
  #moveTo(size: number): Buffer {
    const old = this.#ring;
    const ring = takeRing(size);
    this.#budget.rings += old === null ? size + RING_OVERHEAD : size - old.length;
    const r = this.#retained;
    if (old !== null && r > 0) {
      const h = this.#head;
      const toEnd = old.length - h;
      if (r <= toEnd) {
        ring.set(old.subarray(h, h + r), 0);
      } else {
        ring.set(old.subarray(h), 0);
        ring.set(old.subarray(0, r - toEnd), toEnd);
      }
    }
    if (old !== null) giveRing(old);
    this.#ring = ring;
    this.#head = 0;
    return ring;
  }

  /** Releases the `n` oldest retained bytes (n <= retained). */
  #release(n: number): void {
    this.#retained -= n;
    this.#budget.used -= n;
    this.#budget.retained -= n;
    if (this.#retained === 0) {
      this.#head = 0;
      // All acknowledged: the ring goes back to the pool. The rings in use are then those of
      // streams with bytes in flight, not of every open stream, and stay in cache: writing
      // each segment into a ring of its own among thousands was a cache miss per line.
      this.#dropRing();
    } else {
      const size = (this.#ring as Buffer).length;
      this.#head += n;
      if (this.#head >= size) this.#head -= size;
      // Mostly acknowledged: a smaller ring (at least twice what stays), so that a few bytes left
      // unacknowledged never keep a large one.
      if (size > MIN_RING && this.#retained * 4 <= size) {
        let smaller = size >>> 1;
        while (smaller > MIN_RING && this.#retained * 4 <= smaller) smaller >>>= 1;
        this.#moveTo(smaller);
      }
    }
  }

  #dropRing(): void {
    const ring = this.#ring;
    if (ring === null) return;
    this.#budget.rings -= ring.length + RING_OVERHEAD;
    giveRing(ring);
    this.#ring = null;
  }

  /** Where stream offset `from` (retainStart <= from < delivered) is in the ring. */
  #ringAt(from: number): number {
    const at = this.#head + (from - (this.#delivered - this.#retained));
    return at >= (this.#ring as Buffer).length ? at - (this.#ring as Buffer).length : at;
  }

  /** payload (at offset s) equals the retained bytes over [from, to), retainStart <= from < to <= delivered. */
  #matchesRetained(payload: Buffer, s: number, from: number, to: number): boolean {
    const ring = this.#ring as Buffer;
    const at = this.#ringAt(from);
    const n = to - from;
    const toEnd = ring.length - at;
    const p = from - s;
    if (n <= toEnd) return payload.compare(ring, at, at + n, p, p + n) === 0;
    return payload.compare(ring, at, ring.length, p, p + toEnd) === 0 && payload.compare(ring, 0, n - toEnd, p + toEnd, p + n) === 0;
  }

  /** Overwrites payload (at offset s) over [from, to) with the retained bytes there (a normalised segment). */
  #copyRetained(payload: Buffer, s: number, from: number, to: number): void {
    const ring = this.#ring as Buffer;
    const at = this.#ringAt(from);
    const n = to - from;
    const toEnd = ring.length - at;
    const p = from - s;
    if (n <= toEnd) {
      ring.copy(payload, p, at, at + n);
    } else {
      ring.copy(payload, p, at, ring.length);
      ring.copy(payload, p + toEnd, 0, n - toEnd);
    }
  }

  /** Index of the first piece ending after `offset` (pieces.length if none). */
  #firstEndingAfter(offset: number): number {
    const pieces = this.#pieces;
    let lo = 0;
    let hi = pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((pieces[mid] as Piece).end > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
