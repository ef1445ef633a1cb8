/**
 * IPv4 (RFC 791). A view over one datagram's header in the frame's bytes: the engine keeps one
 * Ipv4Packet and re-points it at every datagram with dissectIpv4; fields are read on access and
 * the few derived values (address strings, options, payload) are computed once per datagram.
 * Fragment reassembly lives in fragments.ts.
 */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { u16, u32 } from './bytes.ts';
import { ipv4PseudoSum, onesSum, sumVerifies, writeIpv4HeaderChecksum } from './checksum.ts';
import { ipv4TextAt } from '../core/address-text.ts';
import { rewriteError } from '../core/errors.ts';
import { checkRange, computeTransportChecksum, ipHeaderWritten, ipv4Value, setAddress, W_IP_HEADER, W_KEEP_IP, W_PROTO, W_WRITTEN, writable } from './rewrite.ts';

export const IPV4_MIN_HEADER_LENGTH = 20;

const EMPTY = Buffer.alloc(0);
/** An address being written, as bytes. */
const ADDRESS = new Uint8Array(4);

/** One IPv4 option (RFC 791 §3.1). EOL and NOP have length 1 and empty data. */
export interface Ipv4Option {
  type: number;
  /** Bytes the option takes, type and length bytes included. */
  length: number;
  /** The option's value, after its type and length bytes. */
  data: Buffer;
}

/** The three flag bits of the current datagram, read from its header on access. */
export class Ipv4Flags {
  readonly #ip: Ipv4Packet;
  constructor(ip: Ipv4Packet) {
    this.#ip = ip;
  }
  /** The reserved bit (RFC 3514's "evil bit"). */
  get rb(): boolean {
    return ((this.#ip.bytes[this.#ip.off + 6] as number) & 0x80) !== 0;
  }
  set rb(on: boolean) {
    this.#set(0x80, on, 'rb');
  }
  /** Don't fragment. */
  get df(): boolean {
    return ((this.#ip.bytes[this.#ip.off + 6] as number) & 0x40) !== 0;
  }
  set df(on: boolean) {
    this.#set(0x40, on, 'df');
  }
  /** More fragments. */
  get mf(): boolean {
    return ((this.#ip.bytes[this.#ip.off + 6] as number) & 0x20) !== 0;
  }
  set mf(on: boolean) {
    this.#set(0x20, on, 'mf');
  }
  #set(bit: number, on: boolean, name: string): void {
    const ip = this.#ip;
    writable(ip.packet, ip.bytes, `ipv4.flags.${name}`);
    const at = ip.off + 6;
    ip.bytes[at] = on ? (ip.bytes[at] as number) | bit : (ip.bytes[at] as number) & ~bit;
    ipHeaderWritten(ip.packet);
  }
  toJSON(): { rb: boolean; df: boolean; mf: boolean } {
    return { rb: this.rb, df: this.df, mf: this.mf };
  }
}

/** One per engine, re-pointed at each datagram: valid only during the event that delivered it. */
export class Ipv4Packet {
  readonly version = 4 as const;

  /** @internal The buffer holding the datagram (the frame's bytes, or a reassembled datagram). */
  bytes: Buffer = EMPTY;
  /** @internal Where the IPv4 header starts in `bytes`. */
  off = 0;
  /** @internal Where the datagram ends: off + total length, or bytes.length when the capture cut it. */
  end = 0;
  /** @internal The datagram was cut by the capture's snaplen (end < off + len). */
  truncated = false;
  /** @internal The frame this datagram came in (for a reassembled one, its last fragment's frame). */
  packet: Packet = new Packet();

  #hdrLen = IPV4_MIN_HEADER_LENGTH;
  readonly #flags = new Ipv4Flags(this);
  #src: string | undefined = undefined;
  #dst: string | undefined = undefined;
  #options: Ipv4Option[] | undefined = undefined;
  #payload: Buffer | undefined = undefined;

  /** @internal Re-points the view; dissectIpv4 validates first. */
  point(packet: Packet, bytes: Buffer, off: number, end: number, hdrLen: number, truncated: boolean): void {
    this.packet = packet;
    this.bytes = bytes;
    this.off = off;
    this.end = end;
    this.#hdrLen = hdrLen;
    this.truncated = truncated;
    this.#src = undefined;
    this.#dst = undefined;
    this.#options = undefined;
    this.#payload = undefined;
  }

  /** Header length in bytes (IHL × 4). */
  get hdrLen(): number {
    return this.#hdrLen;
  }
  get tos(): number {
    return this.bytes[this.off + 1] as number;
  }
  set tos(v: number) {
    this.#setByte(1, checkRange('ipv4.tos', v, 0xff), 'ipv4.tos');
  }
  /** Total length from the header (header and data), even when the capture cut the datagram. */
  get len(): number {
    return u16(this.bytes, this.off + 2);
  }
  get id(): number {
    return u16(this.bytes, this.off + 4);
  }
  set id(v: number) {
    this.#setWord(4, checkRange('ipv4.id', v, 0xffff), 'ipv4.id');
  }
  get flags(): Ipv4Flags {
    return this.#flags;
  }
  /** Fragment offset in bytes (the header field × 8). */
  get fragOffset(): number {
    return (u16(this.bytes, this.off + 6) & 0x1fff) * 8;
  }
  /** In bytes, a multiple of 8 up to 65528 (the header holds it in units of 8). */
  set fragOffset(v: number) {
    if (checkRange('ipv4.fragOffset', v, 0x1fff * 8) % 8 !== 0) throw rewriteError('ipv4.fragOffset', `${v} is not a multiple of 8 (the header counts in 8-byte units)`);
    this.#setWord(6, (u16(this.bytes, this.off + 6) & 0xe000) | (v / 8), 'ipv4.fragOffset');
  }
  get ttl(): number {
    return this.bytes[this.off + 8] as number;
  }
  set ttl(v: number) {
    this.#setByte(8, checkRange('ipv4.ttl', v, 0xff), 'ipv4.ttl');
  }
  get proto(): number {
    return this.bytes[this.off + 9] as number;
  }
  /** Writing it leaves the bytes after the header as they are, their checksum included. */
  set proto(v: number) {
    this.#setByte(9, checkRange('ipv4.proto', v, 0xff), 'ipv4.proto');
    this.packet.writes |= W_PROTO;
  }
  get checksum(): number {
    return u16(this.bytes, this.off + 10);
  }
  /** Computed again when the packet leaves, as any written header's, unless keepChecksum() says otherwise. */
  set checksum(v: number) {
    this.#setWord(10, checkRange('ipv4.checksum', v, 0xffff), 'ipv4.checksum');
  }
  /** The header checksum computed now from the header's bytes (Haka's compute_checksum). */
  computeChecksum(): void {
    writable(this.packet, this.bytes, 'ipv4.computeChecksum');
    writeIpv4HeaderChecksum(this.bytes, this.off);
    this.packet.writes = (this.packet.writes & ~W_IP_HEADER) | W_WRITTEN;
    this.packet.rewritten = true;
  }
  /** The header checksum goes out as it is now (written or not): for crafting a bad one. */
  keepChecksum(): void {
    this.packet.writes |= W_KEEP_IP;
  }
  /** The TCP, UDP or ICMP checksum computed now from the payload's bytes. */
  computeTransportChecksum(): void {
    writable(this.packet, this.bytes, 'ipv4.computeTransportChecksum');
    computeTransportChecksum(this);
    this.packet.rewritten = true;
  }
  /** The header checksum is right (RFC 791; the checksum covers the header only). */
  verifyChecksum(): boolean {
    return sumVerifies(onesSum(this.bytes, this.off, this.off + this.#hdrLen));
  }
  /** Source address as dotted text, computed on first access. */
  get src(): string {
    return (this.#src ??= ipv4TextAt(this.bytes, this.off + 12));
  }
  get dst(): string {
    return (this.#dst ??= ipv4TextAt(this.bytes, this.off + 16));
  }
  /** Dotted text, a uint32, or an `ipv4.addr()`; the TCP or UDP checksum follows (its pseudo header holds the addresses). */
  set src(v: string | number | { readonly value: number }) {
    this.#setAddress(12, v, 'ipv4.src');
    this.#src = undefined;
  }
  set dst(v: string | number | { readonly value: number }) {
    this.#setAddress(16, v, 'ipv4.dst');
    this.#dst = undefined;
  }
  /** Source address as an unsigned 32-bit integer, for comparisons without strings. */
  get srcInt(): number {
    return u32(this.bytes, this.off + 12);
  }
  get dstInt(): number {
    return u32(this.bytes, this.off + 16);
  }
  /** Options, parsed on first access; parsing stops at EOL or at an option that does not fit. */
  get options(): Ipv4Option[] {
    return (this.#options ??= parseOptions(this.bytes, this.off + IPV4_MIN_HEADER_LENGTH, this.off + this.#hdrLen));
  }
  /** Where the data after the header starts in the datagram's buffer. */
  get payloadOffset(): number {
    return this.off + this.#hdrLen;
  }
  /** The data after the header, up to the total length: a view, valid only during the event; `Buffer.from(pkt.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.off + this.#hdrLen, this.end));
  }
  /** More fragments follow, or this is not the first: the datagram is a fragment. */
  get isFragment(): boolean {
    return (u16(this.bytes, this.off + 6) & 0x3fff) !== 0;
  }
  get timestamp(): Timestamp {
    return this.packet.timestamp;
  }
  /**
   * Sends a packet made with `ipv4.create()`: through the `sendPacket` events of its layers, then
   * into the output capture (replay) or out of the raw socket (inline), its checksums fixed. A
   * received packet goes out by itself: calling this on one is PAL_ERR_REWRITE.
   */
  send(): void {
    this.packet.sendCreated('ipv4.send');
  }
  /** Drops the frame that carried this datagram (for a reassembled datagram: all its fragments). */
  drop(): void {
    this.packet.drop();
  }

  /** @internal The datagram now lives in `bytes` (its payload was resized), ending at `end`. */
  rebase(bytes: Buffer, end: number): void {
    this.bytes = bytes;
    this.end = end;
    this.#payload = undefined;
  }

  /** @internal Folded sum of the pseudo header for an upper-layer checksum. */
  pseudoHeaderSum(proto: number, length: number): number {
    return ipv4PseudoSum(this.bytes, this.off, proto, length);
  }

  #setByte(rel: number, v: number, where: string): void {
    writable(this.packet, this.bytes, where);
    this.bytes[this.off + rel] = v;
    ipHeaderWritten(this.packet);
  }
  #setWord(rel: number, v: number, where: string): void {
    writable(this.packet, this.bytes, where);
    this.bytes.writeUInt16BE(v, this.off + rel);
    ipHeaderWritten(this.packet);
  }
  #setAddress(rel: number, v: string | number | { readonly value: number }, where: string): void {
    writable(this.packet, this.bytes, where);
    const n = ipv4Value(v, where);
    ADDRESS[0] = n >>> 24;
    ADDRESS[1] = (n >>> 16) & 0xff;
    ADDRESS[2] = (n >>> 8) & 0xff;
    ADDRESS[3] = n & 0xff;
    setAddress(this.packet, this.bytes, this.off + rel, ADDRESS, 4);
    ipHeaderWritten(this.packet);
  }


  toJSON(): Record<string, unknown> {
    return {
      version: 4,
      hdrLen: this.hdrLen,
      tos: this.tos,
      len: this.len,
      id: this.id,
      flags: this.#flags.toJSON(),
      fragOffset: this.fragOffset,
      ttl: this.ttl,
      proto: this.proto,
      checksum: this.checksum,
      src: this.src,
      dst: this.dst,
    };
  }
}

/**
 * Re-points `view` at the IPv4 datagram starting at `bytes[off]` of `packet` and returns true, or
 * counts an anomaly and returns false: 'ipv4-truncated' (shorter than its header),
 * 'ipv4-invalid-header' (version, IHL or total length impossible), 'ipv4-bad-length' (a total
 * length past the end of a frame the capture did not cut). Bytes past the total length
 * (Ethernet padding) are ignored; a total length past the bytes of a frame the capture cut
 * (packet.cut) is accepted with 'snaplen-truncated'. The checksum is not checked here: that is a
 * policy.
 */
export function dissectIpv4(view: Ipv4Packet, packet: Packet, bytes: Buffer, off: number, stats: AnomalyCounter): boolean {
  const available = bytes.length - off;
  if (available < IPV4_MIN_HEADER_LENGTH) {
    stats.anomaly('ipv4-truncated');
    return false;
  }
  const b0 = bytes[off] as number;
  const hdrLen = (b0 & 0x0f) * 4;
  if (b0 >> 4 !== 4 || hdrLen < IPV4_MIN_HEADER_LENGTH) {
    stats.anomaly('ipv4-invalid-header');
    return false;
  }
  if (hdrLen > available) {
    stats.anomaly('ipv4-truncated');
    return false;
  }
  const len = u16(bytes, off + 2);
  if (len < hdrLen) {
    stats.anomaly('ipv4-invalid-header');
    return false;
  }
  let end = off + len;
  let truncated = false;
  if (len > available) {
    // Bytes the length claims and the frame lacks: cut by the capture, or never there (a
    // crafted length, whose "missing" bytes would otherwise let its payload pass for a cut one).
    if (!packet.cut) {
      stats.anomaly('ipv4-bad-length');
      return false;
    }
    stats.anomaly('snaplen-truncated');
    end = bytes.length;
    truncated = true;
  }
  view.point(packet, bytes, off, end, hdrLen, truncated);
  return true;
}


function parseOptions(b: Buffer, start: number, end: number): Ipv4Option[] {
  const options: Ipv4Option[] = [];
  let i = start;
  while (i < end) {
    const type = b[i] as number;
    if (type === 0) {
      options.push({ type, length: 1, data: EMPTY });
      break; // End of Option List
    }
    if (type === 1) {
      options.push({ type, length: 1, data: EMPTY });
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const length = b[i + 1] as number;
    if (length < 2 || i + length > end) break; // junk: keep what parsed so far
    options.push({ type, length, data: b.subarray(i + 2, i + length) });
    i += length;
  }
  return options;
}

/** The fields a new IPv4 header is written with (ipv4.create, palisade/testing); addresses as uint32. */
export interface Ipv4Header {
  src: number;
  dst: number;
  proto: number;
  ttl?: number;
  tos?: number;
  id?: number;
  rb?: boolean;
  df?: boolean;
  mf?: boolean;
  /** In bytes, a multiple of 8. */
  fragOffset?: number;
  /** Already padded to a multiple of 4 bytes (RFC 791 §3.1). */
  options?: Uint8Array;
}

/** Writes an IPv4 header at `b[off]` for `payloadLength` bytes after it, its checksum computed; returns its length. */
export function writeIpv4Header(b: Buffer, off: number, h: Ipv4Header, payloadLength: number): number {
  const options = h.options?.length ?? 0;
  const hdrLen = IPV4_MIN_HEADER_LENGTH + options;
  b[off] = 0x40 | (hdrLen / 4);
  b[off + 1] = h.tos ?? 0;
  b.writeUInt16BE(hdrLen + payloadLength, off + 2);
  b.writeUInt16BE(h.id ?? 0, off + 4);
  b.writeUInt16BE((h.rb === true ? 0x8000 : 0) | (h.df === true ? 0x4000 : 0) | (h.mf === true ? 0x2000 : 0) | ((h.fragOffset ?? 0) / 8), off + 6);
  b[off + 8] = h.ttl ?? 64;
  b[off + 9] = h.proto;
  b.writeUInt32BE(h.src >>> 0, off + 12);
  b.writeUInt32BE(h.dst >>> 0, off + 16);
  if (h.options !== undefined) b.set(h.options, off + IPV4_MIN_HEADER_LENGTH);
  writeIpv4HeaderChecksum(b, off);
  return hdrLen;
}
