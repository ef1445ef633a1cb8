/**
 * IP fragment reassembly for IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5).
 *
 * Only fragments reach this module, so it favours plain code over speed: a Map keyed by a
 * string, and per datagram a sorted list of non-overlapping pieces. Overlaps are first-wins (the
 * bytes received first stay, as the flow reassembly does); an overlap that carries other bytes
 * poisons the datagram: its fragments so far and any later ones are dropped until its timeout,
 * so no host behind palisade can be handed a datagram the rules did not see.
 */

import type { AnomalyCounter, PacketAnomaly } from './anomalies.ts';
import { writeIpv4HeaderChecksum } from './checksum.ts';
import type { Ipv4Packet } from './ipv4.ts';
import { IPV6_FRAGMENT_HEADER_LENGTH, IPV6_HEADER_LENGTH, type Ipv6Packet } from './ipv6.ts';

export interface FragmentLimits {
  /** Seconds after its first fragment that an incomplete datagram is given up. */
  timeout: number;
  /** Datagrams being reassembled (or remembered as dropped) at once. */
  maxDatagrams: number;
  /** Bytes of fragment data buffered at once. */
  memcap: number;
}

export type FragmentResult<F> =
  | { status: 'pending' }
  /** `datagram`: the whole IP packet to dissect again; `frames`: every fragment's frame, in arrival order. */
  | { status: 'complete'; datagram: Buffer; frames: F[] }
  /** `frames`: the frames to drop, the current one included. */
  | { status: 'drop'; frames: F[]; reason: PacketAnomaly };

const PENDING: { readonly status: 'pending' } = Object.freeze({ status: 'pending' });

const MAX_IP_LENGTH = 65535;

/** A run of datagram payload bytes, [start, end), copied out of the fragment that brought them first. */
interface Piece {
  start: number;
  end: number;
  data: Buffer;
}

class Datagram<F> {
  readonly frames: F[] = [];
  /** Sorted by start, never overlapping. */
  readonly pieces: Piece[] = [];
  /** Payload bytes the pieces cover. */
  covered = 0;
  /** Largest end of any piece. */
  maxEnd = 0;
  /** Payload length, known from the fragment without MF; -1 until then. */
  total = -1;
  /** The first fragment's header: IPv4 header with options; IPv6 fixed and unfragmentable headers. */
  header: Buffer | null = null;
  /** IPv6: where, in `header`, the next-header byte naming the fragment header is. */
  nextHeaderField = -1;
  /** IPv6: the first fragment's fragment header's next header (the first fragmentable header). */
  nextHeader = 0;
  /** Bytes held: pieces, header, and what the caller keeps of each frame. */
  memory = 0;
  /** Set when the datagram was dropped: it stays as a tombstone so its later fragments go too. */
  poisoned: PacketAnomaly | null = null;

  constructor(
    readonly version: 4 | 6,
    readonly firstTime: number,
  ) {}
}

export class FragmentReassembler<F> {
  readonly #limits: FragmentLimits;
  readonly #stats: AnomalyCounter;
  /** In insertion order, which is the order of first fragments' times: expiry scans the front. */
  readonly #datagrams = new Map<string, Datagram<F>>();
  #pending = 0;
  #memory = 0;

  constructor(limits: FragmentLimits, stats: AnomalyCounter) {
    this.#limits = limits;
    this.#stats = stats;
  }

  /** Datagrams waiting for fragments (tombstones of dropped ones not counted). */
  get pending(): number {
    return this.#pending;
  }

  /** Bytes held for fragments: their data, and the frames kept with them. */
  get memory(): number {
    return this.#memory;
  }

  /**
   * Adds the fragment `view` points at (`view.isFragment` is true) and copies its data: the view's
   * buffer may be reused once this returns. `frameBytes`: what the caller keeps of the fragment
   * while it is held (its frame's copy), counted against the memcap with the data: a fragment of
   * 8 data bytes padded to a 60 KB frame holds 60 KB. Call expire(now) first so that stale datagrams are
   * gone before a fragment could join them.
   */
  add(view: Ipv4Packet | Ipv6Packet, frame: F, now: number, frameBytes = 0): FragmentResult<F> {
    const key = keyOf(view);
    let dg = this.#datagrams.get(key);
    if (dg !== undefined && dg.poisoned !== null) {
      if (now - dg.firstTime < this.#limits.timeout) return { status: 'drop', frames: [frame], reason: dg.poisoned };
      this.#datagrams.delete(key); // a stale tombstone: the id is being reused
      dg = undefined;
    }

    let dataStart: number;
    let more: boolean;
    let headerLength: number; // bytes the reassembled datagram has before its payload
    if (view.version === 4) {
      dataStart = view.payloadOffset;
      more = view.flags.mf;
      headerLength = view.hdrLen;
    } else {
      dataStart = view.fragHeaderOffset + IPV6_FRAGMENT_HEADER_LENGTH;
      more = view.mf;
      headerLength = view.fragHeaderOffset - view.off;
    }
    const start = view.fragOffset;
    const length = view.end - dataStart;
    const end = start + length;
    // A fragment the capture cut cannot be put back whole; RFC 791/8200 forbid the other two.
    if (view.truncated || (more && length % 8 !== 0) || tooLong(view.version, headerLength, end)) {
      return this.#poison(key, dg, frame, now, view.version, 'fragment-invalid');
    }
    if (dg !== undefined) {
      const pastEnd = dg.total >= 0 && end > dg.total;
      const otherEnd = !more && ((dg.total >= 0 && dg.total !== end) || dg.maxEnd > end);
      if (pastEnd || otherEnd) return this.#poison(key, dg, frame, now, view.version, 'fragment-invalid');
    }
    const header = start === 0 && (dg === undefined || dg.header === null) ? headerLength : 0;
    if (this.#memory + length + header + frameBytes > this.#limits.memcap || (dg === undefined && this.#datagrams.size >= this.#limits.maxDatagrams)) {
      this.#stats.anomaly('fragment-memcap');
      return { status: 'drop', frames: [frame], reason: 'fragment-memcap' };
    }
    if (dg === undefined) {
      dg = new Datagram<F>(view.version, now);
      this.#datagrams.set(key, dg);
      this.#pending++;
    }

    if (!this.#insert(dg, view.bytes, dataStart, start, end)) {
      return this.#poison(key, dg, frame, now, view.version, 'fragment-overlap-different-data');
    }
    dg.frames.push(frame);
    dg.memory += frameBytes;
    this.#memory += frameBytes;
    if (!more) dg.total = end;
    if (header !== 0) {
      dg.header = Buffer.from(view.bytes.subarray(view.off, view.off + headerLength));
      if (view.version === 6) {
        dg.nextHeaderField = view.fragNextHeaderFieldOffset - view.off;
        dg.nextHeader = view.bytes[view.fragHeaderOffset] as number;
      }
      dg.memory += headerLength;
      this.#memory += headerLength;
    }

    if (dg.header === null || dg.total < 0 || dg.covered !== dg.total) return PENDING;
    if (tooLong(dg.version, dg.header.length, dg.total)) {
      return this.#poison(key, dg, frame, now, dg.version, 'fragment-invalid', false);
    }
    this.#datagrams.delete(key);
    this.#pending--;
    this.#memory -= dg.memory;
    return { status: 'complete', datagram: build(dg), frames: dg.frames };
  }

  /**
   * Gives up the datagrams whose first fragment came `timeout` seconds or more before `now`:
   * counts 'fragment-incomplete' and hands each one's frames to `onExpired` (to be dropped).
   * Tombstones of dropped datagrams are forgotten silently.
   */
  expire(now: number, onExpired: (frames: F[]) => void): void {
    for (const [key, dg] of this.#datagrams) {
      if (now - dg.firstTime < this.#limits.timeout) break;
      this.#datagrams.delete(key);
      if (dg.poisoned === null) this.#incomplete(dg, onExpired);
    }
  }

  /** End of input: every datagram still waiting is incomplete. */
  flush(onExpired: (frames: F[]) => void): void {
    for (const dg of this.#datagrams.values()) {
      if (dg.poisoned === null) this.#incomplete(dg, onExpired);
    }
    this.#datagrams.clear();
  }

  #incomplete(dg: Datagram<F>, onExpired: (frames: F[]) => void): void {
    this.#pending--;
    this.#memory -= dg.memory;
    this.#stats.anomaly('fragment-incomplete');
    onExpired(dg.frames);
  }

  /**
   * Adds payload bytes [start, end) of a fragment, whose data starts at `bytes[dataStart]`, to
   * `dg`, keeping the bytes already there (first-wins). Returns false when an overlap carries
   * other bytes than those already there.
   */
  #insert(dg: Datagram<F>, bytes: Buffer, dataStart: number, start: number, end: number): boolean {
    const pieces = dg.pieces;
    let cursor = start;
    let overlap = false;
    let i = 0;
    for (; i < pieces.length && cursor < end; i++) {
      const p = pieces[i] as Piece;
      if (p.end <= cursor) continue;
      if (p.start >= end) break;
      if (p.start > cursor) {
        this.#addPiece(dg, i, bytes, dataStart, start, cursor, p.start);
        i++; // past the piece just inserted before p
      }
      const a = Math.max(p.start, cursor);
      const b = Math.min(p.end, end);
      overlap = true;
      if (bytes.compare(p.data, a - p.start, b - p.start, dataStart + a - start, dataStart + b - start) !== 0) {
        this.#stats.anomaly('fragment-overlap');
        return false;
      }
      cursor = b;
    }
    if (cursor < end) this.#addPiece(dg, i, bytes, dataStart, start, cursor, end);
    if (overlap) this.#stats.anomaly('fragment-overlap');
    return true;
  }

  #addPiece(dg: Datagram<F>, index: number, bytes: Buffer, dataStart: number, fragStart: number, start: number, end: number): void {
    const data = Buffer.allocUnsafeSlow(end - start);
    bytes.copy(data, 0, dataStart + start - fragStart, dataStart + end - fragStart);
    dg.pieces.splice(index, 0, { start, end, data });
    dg.covered += end - start;
    if (end > dg.maxEnd) dg.maxEnd = end;
    dg.memory += end - start;
    this.#memory += end - start;
  }

  /**
   * Drops the datagram `key` with its frames and the current one, keeping a tombstone so later
   * fragments are dropped too. `current`: whether `frame` is not yet among dg.frames.
   */
  #poison(
    key: string,
    dg: Datagram<F> | undefined,
    frame: F,
    now: number,
    version: 4 | 6,
    reason: PacketAnomaly,
    current = true,
  ): FragmentResult<F> {
    this.#stats.anomaly(reason);
    if (dg === undefined) {
      if (this.#datagrams.size < this.#limits.maxDatagrams) {
        const tomb = new Datagram<F>(version, now);
        tomb.poisoned = reason;
        this.#datagrams.set(key, tomb);
      }
      return { status: 'drop', frames: [frame], reason };
    }
    if (current) dg.frames.push(frame);
    dg.poisoned = reason;
    this.#pending--;
    this.#memory -= dg.memory;
    dg.memory = 0;
    dg.pieces.length = 0;
    dg.header = null;
    return { status: 'drop', frames: dg.frames, reason };
  }
}

/** The reassembled datagram's length would not fit its 16-bit length field. */
function tooLong(version: 4 | 6, headerLength: number, payloadLength: number): boolean {
  return version === 4
    ? headerLength + payloadLength > MAX_IP_LENGTH
    : headerLength - IPV6_HEADER_LENGTH + payloadLength > MAX_IP_LENGTH;
}

/** RFC 791: source, destination, protocol, identification; RFC 8200: source, destination, identification. */
function keyOf(view: Ipv4Packet | Ipv6Packet): string {
  if (view.version === 4) return `4 ${view.srcInt} ${view.dstInt} ${view.proto} ${view.id}`;
  // The 32 address bytes as latin1 characters: a short key, no hex formatting.
  return `6 ${view.bytes.toString('latin1', view.off + 8, view.off + 40)} ${view.fragId ?? 0}`;
}

function build<F>(dg: Datagram<F>): Buffer {
  const header = dg.header as Buffer;
  const h = header.length;
  const out = Buffer.allocUnsafe(h + dg.total);
  header.copy(out, 0);
  for (const p of dg.pieces) p.data.copy(out, h + p.start);
  if (dg.version === 4) {
    const len = h + dg.total;
    out[2] = len >> 8;
    out[3] = len & 0xff;
    out[6] = (out[6] as number) & 0xc0; // keep RB and DF; MF and the offset go
    out[7] = 0;
    writeIpv4HeaderChecksum(out, 0);
  } else {
    const payloadLength = h - IPV6_HEADER_LENGTH + dg.total;
    out[4] = payloadLength >> 8;
    out[5] = payloadLength & 0xff;
    out[dg.nextHeaderField] = dg.nextHeader;
  }
  return out;
}
