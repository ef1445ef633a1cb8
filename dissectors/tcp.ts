/**
 * TCP segments (RFC 9293 §3.1). A view over the segment in its IP packet's buffer: the engine
 * keeps one TcpPacket and re-points it with dissectTcp. Options are parsed only when read.
 */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { i32, u16, u32, u8 } from './bytes.ts';
import { checksumOf, onesSum, sumVerifies } from './checksum.ts';
import { IPPROTO_TCP } from './ip-protocols.ts';
import { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';
import { TcpFlags } from './tcp-flags.ts';
import { rewriteError } from '../core/errors.ts';
import { checkRange, computeTransportChecksum, replaceTail, setL4Byte, setL4U32, setL4Word, W_KEEP_L4, W_L4_FULL, writable } from './rewrite.ts';

export const TCP_MIN_HEADER_LENGTH = 20;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW_SCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMPS = 8;

const EMPTY = Buffer.alloc(0);

/** One TCP option. EOL and NOP have length 1 and empty data. */
export interface TcpOption {
  kind: number;
  /** Bytes the option takes, kind and length bytes included. */
  length: number;
  /** The option's value, after its kind and length bytes (a view, not a copy). */
  data: Buffer;
}

export interface TcpTimestamps {
  /** TSval. */
  value: number;
  /** TSecr. */
  echo: number;
}

/** One per engine, re-pointed at each segment: valid only during the event that delivered it. */
export class TcpPacket {
  /** @internal The buffer holding the segment (its IP packet's). */
  bytes: Buffer = EMPTY;
  /** @internal Where the TCP header starts in `bytes`. */
  off = 0;
  /** @internal Where the segment ends (its IP packet's end). */
  end = 0;
  /** @internal The frame the segment came in. */
  packet: Packet = new Packet();
  /** The control bits; one instance, re-pointed with the view. Writing one writes the segment. */
  readonly flags = new TcpFlags((bits) => {
    this.#writable('tcp.flags');
    setL4Byte(this.packet, this.bytes, this.off + 13, this.off + 12, bits);
  });
  /** @internal Connection tracking follows this segment's sequence numbers: its length cannot change here. */
  tracked = false;

  #ip: Ipv4Packet | Ipv6Packet = new Ipv4Packet();
  #hdrLen = TCP_MIN_HEADER_LENGTH;
  #options: TcpOption[] | undefined = undefined;
  #payload: Buffer | undefined = undefined;
  /** undefined: not looked for yet; null: none. */
  #timestamps: TcpTimestamps | null | undefined = undefined;
  /** Where the data starts, or the end of what was captured if that comes first. */
  #dataOff = 0;

  /** @internal Re-points the view; dissectTcp validates first. */
  point(ip: Ipv4Packet | Ipv6Packet, off: number, hdrLen: number): void {
    this.#ip = ip;
    this.packet = ip.packet;
    this.bytes = ip.bytes;
    this.off = off;
    this.end = ip.end;
    this.#hdrLen = hdrLen;
    // A snaplen cut may end the capture inside the options: options and data stop there.
    this.#dataOff = Math.min(off + hdrLen, this.end);
    this.flags.bits = this.bytes[off + 13] as number;
    this.#options = undefined;
    this.#payload = undefined;
    this.#timestamps = undefined;
  }

  /** The IP packet carrying this segment. */
  get ip(): Ipv4Packet | Ipv6Packet {
    return this.#ip;
  }
  get srcport(): number {
    return u16(this.bytes, this.off);
  }
  set srcport(v: number) {
    this.#setWord(0, v, 'tcp.srcport');
  }
  get dstport(): number {
    return u16(this.bytes, this.off + 2);
  }
  set dstport(v: number) {
    this.#setWord(2, v, 'tcp.dstport');
  }
  /** Sequence number, unsigned 32-bit. */
  get seq(): number {
    return u32(this.bytes, this.off + 4);
  }
  set seq(v: number) {
    this.#writable('tcp.seq');
    setL4U32(this.packet, this.bytes, this.off + 4, checkRange('tcp.seq', v, 0xffffffff));
  }
  /** Acknowledgment number, unsigned 32-bit (meaningful when flags.ack is set). */
  get ack(): number {
    return u32(this.bytes, this.off + 8);
  }
  set ack(v: number) {
    this.#writable('tcp.ack');
    setL4U32(this.packet, this.bytes, this.off + 8, checkRange('tcp.ack', v, 0xffffffff));
  }
  /** @internal seq as an int32, for connection tracking: no number boxed per packet. */
  get seqRaw(): number {
    return i32(this.bytes, this.off + 4);
  }
  /** @internal ack as an int32. */
  get ackRaw(): number {
    return i32(this.bytes, this.off + 8);
  }
  /** Header length in bytes (data offset × 4). */
  get hdrLen(): number {
    return this.#hdrLen;
  }
  /** The 4 reserved bits between the data offset and the flags (RFC 9293). */
  get res(): number {
    return (this.bytes[this.off + 12] as number) & 0x0f;
  }
  /** The raw flags byte (CWR ECE URG ACK PSH RST SYN FIN, high bit first). */
  get flagsByte(): number {
    return this.flags.bits;
  }
  set flagsByte(v: number) {
    this.#writable('tcp.flagsByte');
    setL4Byte(this.packet, this.bytes, this.off + 13, this.off + 12, checkRange('tcp.flagsByte', v, 0xff));
    this.flags.bits = v;
  }
  get window(): number {
    return u16(this.bytes, this.off + 14);
  }
  set window(v: number) {
    this.#setWord(14, v, 'tcp.window');
  }
  get checksum(): number {
    return u16(this.bytes, this.off + 16);
  }
  /** Computed again when the packet leaves, as after any write, unless keepChecksum() says otherwise. */
  set checksum(v: number) {
    this.#setWord(16, v, 'tcp.checksum');
    this.packet.writes |= W_L4_FULL;
  }
  get urgentPointer(): number {
    return u16(this.bytes, this.off + 18);
  }
  set urgentPointer(v: number) {
    this.#setWord(18, v, 'tcp.urgentPointer');
  }
  /** The checksum computed now, over the pseudo header and the segment's bytes (Haka's compute_checksum). */
  computeChecksum(): void {
    this.#writable('tcp.computeChecksum');
    computeTransportChecksum(this.#ip);
  }
  /** The checksum goes out as it is now (written or not): for crafting a bad one. */
  keepChecksum(): void {
    this.packet.writes |= W_KEEP_L4;
  }
  /** Options, parsed on first access; parsing stops at EOL or at an option whose length is wrong. */
  get options(): TcpOption[] {
    if (this.#options === undefined) {
      const list: TcpOption[] = [];
      const b = this.bytes;
      const end = this.#dataOff;
      for (let i = this.off + TCP_MIN_HEADER_LENGTH; i < end; ) {
        const kind = b[i] as number;
        if (kind === TCPOPT_EOL || kind === TCPOPT_NOP) {
          list.push({ kind, length: 1, data: EMPTY });
          if (kind === TCPOPT_EOL) break;
          i++;
          continue;
        }
        const length = i + 1 < end ? (b[i + 1] as number) : 0;
        if (length < 2 || i + length > end) break;
        list.push({ kind, length, data: b.subarray(i + 2, i + length) });
        i += length;
      }
      this.#options = list;
    }
    return this.#options;
  }
  /** Maximum segment size option (SYN segments), if present. */
  get mss(): number | undefined {
    const at = this.#findOption(TCPOPT_MSS, 4);
    return at < 0 ? undefined : u16(this.bytes, at + 2);
  }
  /** Window scale shift count (RFC 7323), if present. */
  get windowScale(): number | undefined {
    const at = this.#findOption(TCPOPT_WINDOW_SCALE, 3);
    return at < 0 ? undefined : u8(this.bytes, at + 2);
  }
  get sackPermitted(): boolean {
    return this.#findOption(TCPOPT_SACK_PERMITTED, 2) >= 0;
  }
  /** Timestamps option (RFC 7323), if present. */
  get timestamps(): TcpTimestamps | undefined {
    if (this.#timestamps === undefined) {
      const at = this.#findOption(TCPOPT_TIMESTAMPS, 10);
      this.#timestamps = at < 0 ? null : { value: u32(this.bytes, at + 2), echo: u32(this.bytes, at + 6) };
    }
    return this.#timestamps ?? undefined;
  }
  /** Where the data starts in `ip.bytes`. */
  get payloadOffset(): number {
    return this.#dataOff;
  }
  /** Bytes of data in the segment (as captured). */
  get payloadLength(): number {
    return this.end - this.#dataOff;
  }
  /** The segment's data: a view, valid only during the event; `Buffer.from(tcp.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.#dataOff, this.end));
  }
  /**
   * New data for the segment: bytes of the same length are copied over the old (assigning the
   * `payload` view itself after editing it in place says it changed); another length makes a new
   * frame with the IP length fixed. On a tracked connection the length cannot change here: the
   * stream's sequence numbers would no longer match (edit the stream instead). The checksum is
   * computed again when the packet leaves.
   */
  set payload(data: Uint8Array) {
    this.#writable('tcp.payload');
    const length = this.payloadLength;
    if (data.length !== length && this.tracked) {
      throw rewriteError('tcp.payload', `${data.length} bytes for a segment of ${length} on a tracked connection: its sequence numbers would no longer match the stream's; write as many bytes, or edit the stream (insert, erase, replace)`);
    }
    this.rewriteData(data);
  }
  /** @internal New data for the segment, of any length (a stream edit renumbers the connection to match). */
  rewriteData(data: Uint8Array): void {
    const current = this.payload;
    if (data.length === current.length) {
      if (data !== current) current.set(data);
    } else {
      const b = replaceTail(this.#ip, this.#dataOff, data, 'tcp.payload');
      this.bytes = b;
      this.end = this.#ip.end;
    }
    this.#payload = undefined;
    this.packet.writes |= W_L4_FULL;
    this.packet.rewritten = true;
  }
  get timestamp(): Timestamp {
    return this.packet.timestamp;
  }
  /** The checksum over the pseudo header and segment is right; false when the capture cut the segment. */
  verifyChecksum(): boolean {
    if (this.#ip.truncated) return false;
    const length = this.end - this.off;
    return sumVerifies(onesSum(this.bytes, this.off, this.end, this.#ip.pseudoHeaderSum(IPPROTO_TCP, length)));
  }
  /**
   * @internal The payload was rewritten in place (normalised to the first copy of overlapping
   * bytes): the checksum is computed again, so the packet goes out valid. A segment the capture
   * cut keeps its checksum (it cannot be computed).
   */
  rewritePayload(): void {
    this.packet.rewritten = true;
    if (this.#ip.truncated) return;
    const b = this.bytes;
    const at = this.off + 16;
    b[at] = 0;
    b[at + 1] = 0;
    const sum = checksumOf(onesSum(b, this.off, this.end, this.#ip.pseudoHeaderSum(IPPROTO_TCP, this.end - this.off)));
    b[at] = sum >>> 8;
    b[at + 1] = sum & 0xff;
  }
  /**
   * Sends a packet made with `tcp.create()`: through the `sendPacket` events of its layers, then
   * into the output capture (replay) or out of the raw socket (inline), its checksums fixed. A
   * received packet goes out by itself: calling this on one is PAL_ERR_REWRITE.
   */
  send(): void {
    this.packet.sendCreated('tcp.send');
  }
  /** Drops the frame that carried this segment. */
  drop(): void {
    this.packet.drop();
  }

  #writable(where: string): void {
    writable(this.packet, this.bytes, where);
  }
  #setWord(rel: number, v: number, where: string): void {
    this.#writable(where);
    setL4Word(this.packet, this.bytes, this.off + rel, checkRange(where, v, 0xffff));
  }

  /** Offset of the first option of `kind` with exactly `length` bytes, or -1; allocates nothing. */
  #findOption(kind: number, length: number): number {
    const b = this.bytes;
    const end = this.#dataOff;
    for (let i = this.off + TCP_MIN_HEADER_LENGTH; i < end; ) {
      const k = b[i] as number;
      if (k === TCPOPT_EOL) return -1;
      if (k === TCPOPT_NOP) {
        i++;
        continue;
      }
      if (i + 1 >= end) return -1;
      const len = b[i + 1] as number;
      if (len < 2 || i + len > end) return -1;
      if (k === kind) return len === length ? i : -1;
      i += len;
    }
    return -1;
  }

  toJSON(): Record<string, unknown> {
    return {
      srcport: this.srcport,
      dstport: this.dstport,
      seq: this.seq,
      ack: this.ack,
      hdrLen: this.hdrLen,
      res: this.res,
      flags: this.flags.toJSON(),
      window: this.window,
      checksum: this.checksum,
      urgentPointer: this.urgentPointer,
      payloadLength: this.payloadLength,
    };
  }
}

/**
 * Re-points `view` at the TCP segment that is the payload of `ip` and returns true, or counts
 * an anomaly and returns false: 'tcp-truncated' (fewer than 20 bytes, or a header the capture
 * cut), 'tcp-invalid-header' (data offset below 5 or past the segment).
 */
export function dissectTcp(view: TcpPacket, ip: Ipv4Packet | Ipv6Packet, stats: AnomalyCounter): boolean {
  const bytes = ip.bytes;
  const off = ip.payloadOffset;
  const available = ip.end - off;
  if (available < TCP_MIN_HEADER_LENGTH) {
    stats.anomaly('tcp-truncated');
    return false;
  }
  const hdrLen = ((bytes[off + 12] as number) >> 4) * 4;
  if (hdrLen < TCP_MIN_HEADER_LENGTH) {
    stats.anomaly('tcp-invalid-header');
    return false;
  }
  if (hdrLen > available && !ip.truncated) {
    stats.anomaly('tcp-invalid-header');
    return false;
  }
  // The capture (not the sender) cut the options: the fixed header is all there, so rules still
  // see the segment, with the options that were captured and no data ('snaplen-truncated').
  view.point(ip, off, hdrLen);
  return true;
}

/** The fields a new TCP header is written with (tcp.create, palisade/testing, RSTs). */
export interface TcpHeader {
  srcport: number;
  dstport: number;
  seq?: number;
  ack?: number;
  /** The flags byte (tcp-flags.ts TCP_*). */
  flags?: number;
  window?: number;
  urgentPointer?: number;
  /** Already padded to a multiple of 4 bytes (RFC 9293 §3.1). */
  options?: Uint8Array;
}

/** Writes a TCP header at `b[off]`, its checksum 0 (computed once the segment is whole); returns its length. */
export function writeTcpHeader(b: Buffer, off: number, h: TcpHeader): number {
  const hdrLen = TCP_MIN_HEADER_LENGTH + (h.options?.length ?? 0);
  b.writeUInt16BE(h.srcport, off);
  b.writeUInt16BE(h.dstport, off + 2);
  b.writeUInt32BE((h.seq ?? 0) >>> 0, off + 4);
  b.writeUInt32BE((h.ack ?? 0) >>> 0, off + 8);
  b[off + 12] = (hdrLen / 4) << 4;
  b[off + 13] = h.flags ?? 0;
  b.writeUInt16BE(h.window ?? 65535, off + 14);
  b.writeUInt16BE(0, off + 16);
  b.writeUInt16BE(h.urgentPointer ?? 0, off + 18);
  if (h.options !== undefined) b.set(h.options, off + TCP_MIN_HEADER_LENGTH);
  return hdrLen;
}
