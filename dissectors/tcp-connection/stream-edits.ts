/**
 * The edits streamed consumers made to one direction of a connection (TcpStream insert, erase,
 * replace), and the map they make between the sender's sequence space and the receiver's. The
 * sender numbers its bytes as it sent them (original offsets, which the tracker, the
 * reassembly and the streams keep); the receiver gets them edited, numbered anew. Every later
 * segment of the sender is renumbered (startOf), carrying the edited bytes of its range (apply);
 * every acknowledgment and SACK edge from the receiver is numbered back (originalOf) before the
 * tracker sees it, so the sender gets acknowledgments of what it sent. Offsets count from the
 * stream's first byte; `base` is the sequence number of offset 0.
 */
import { seqAdd32, seqDiff } from './serial.ts';

export class StreamEdits {
  /** Sequence number (int32) of stream offset 0. */
  readonly base: number;
  /** Where each edit starts (original offsets, increasing), what it erases there, and what it inserts first. */
  readonly #at: number[] = [];
  readonly #erase: number[] = [];
  readonly #insert: Buffer[] = [];

  constructor(base: number) {
    this.base = base | 0;
  }

  /** Original offset just past the last edit: a new one may not start before it. */
  get end(): number {
    const n = this.#at.length;
    return n === 0 ? 0 : (this.#at[n - 1] as number) + (this.#erase[n - 1] as number);
  }

  /** Bytes inserted minus bytes erased, over every edit. */
  get shift(): number {
    let s = 0;
    for (let i = 0; i < this.#at.length; i++) s += (this.#insert[i] as Buffer).length - (this.#erase[i] as number);
    return s;
  }

  /** `insert` goes before original offset `at`, and the `erase` bytes from `at` go. Edits come in order: at >= end. */
  add(at: number, erase: number, insert: Buffer): void {
    const n = this.#at.length;
    // Two edits at one place are one: an insert then an erase there (replace), or the reverse.
    if (n > 0 && this.#at[n - 1] === at && this.#erase[n - 1] === 0) {
      this.#erase[n - 1] = erase;
      this.#insert[n - 1] = Buffer.concat([this.#insert[n - 1] as Buffer, insert]);
      return;
    }
    if (n > 0 && (this.#at[n - 1] as number) + (this.#erase[n - 1] as number) === at && insert.length === 0) {
      this.#erase[n - 1] = (this.#erase[n - 1] as number) + erase;
      return;
    }
    this.#at.push(at);
    this.#erase.push(erase);
    this.#insert.push(insert);
  }

  /** Stream offset of sequence number `seq` (int32). */
  offsetOf(seq: number): number {
    return seqDiff(seq, this.base);
  }

  /**
   * New offset of the first byte of a segment starting at original offset `o`: bytes inserted
   * at `o` itself go at the front of that segment, so they are not counted; a start inside
   * erased bytes moves to where they were.
   */
  startOf(o: number): number {
    let shift = 0;
    const at = this.#at;
    for (let i = 0; i < at.length; i++) {
      const a = at[i] as number;
      if (a >= o) break;
      const erase = this.#erase[i] as number;
      const ins = (this.#insert[i] as Buffer).length;
      if (o < a + erase) return a + shift + ins;
      shift += ins - erase;
    }
    return o + shift;
  }

  /**
   * Original offset the receiver has everything before, when it acknowledges new offset `n`: a
   * part of inserted bytes acknowledges nothing of the sender's after them; past an erase the
   * erased bytes count as delivered.
   */
  originalOf(n: number): number {
    let shift = 0;
    const at = this.#at;
    for (let i = 0; i < at.length; i++) {
      const newAt = (at[i] as number) + shift;
      if (n < newAt) return n - shift;
      const ins = (this.#insert[i] as Buffer).length;
      if (n < newAt + ins) return at[i] as number;
      shift += ins - (this.#erase[i] as number);
    }
    return n - shift;
  }

  /** The sequence number (int32) a segment starting at `seq` goes out with. */
  sentSeq(seq: number): number {
    const o = this.offsetOf(seq);
    return seqAdd32(seq, this.startOf(o) - o);
  }

  /** The sequence number (int32) of the sender's that a receiver's acknowledgment `ack` stands for. */
  originalSeq(ack: number): number {
    const n = this.offsetOf(ack);
    return seqAdd32(ack, this.originalOf(n) - n);
  }

  /** Whether a segment of original range [s, e) goes out other than it came (an edit inside it, or an insert at its end when `fin`). */
  touches(s: number, e: number, fin: boolean): boolean {
    const at = this.#at;
    for (let i = 0; i < at.length; i++) {
      const a = at[i] as number;
      if (a > e) return false;
      if (a < s) {
        if (a + (this.#erase[i] as number) > s) return true;
        continue;
      }
      if (a < e || fin) return true;
    }
    return false;
  }

  /**
   * The bytes a segment carrying original range [s, s + payload.length) sends: each edit inside
   * it applied, and the inserts at its end too when it carries the FIN (nothing comes after it).
   */
  apply(payload: Buffer, s: number, fin: boolean): Buffer {
    const e = s + payload.length;
    const parts: Buffer[] = [];
    let from = s;
    const at = this.#at;
    for (let i = 0; i < at.length; i++) {
      const a = at[i] as number;
      const erase = this.#erase[i] as number;
      // Wholly before the segment: an insert before `s` went with an earlier one.
      if (a < s && a + erase <= s) continue;
      if (a > e || (a === e && !fin)) break;
      const cut = Math.max(a, from);
      if (cut > from) parts.push(payload.subarray(from - s, cut - s));
      if (a >= s) parts.push(this.#insert[i] as Buffer);
      from = Math.min(e, Math.max(from, a + erase));
    }
    if (from < e) parts.push(payload.subarray(from - s));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}
