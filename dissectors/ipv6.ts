/**
 * IPv6 (RFC 8200). A view over one packet's fixed header and extension header chain: the engine
 * keeps one Ipv6Packet and re-points it with dissectIpv6, which walks the chain (without
 * allocating) to find the upper-layer protocol. Fragment reassembly lives in fragments.ts.
 */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { u16, u32 } from './bytes.ts';
import { ipv6PseudoSum } from './checksum.ts';
import { ipv6TextAt } from '../core/address-text.ts';
import { checkRange, computeTransportChecksum, ipv6Bytes, setAddress, W_WRITTEN, writable } from './rewrite.ts';
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HIP,
  IPPROTO_HOPOPTS,
  IPPROTO_MOBILITY,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_SHIM6,
} from './ip-protocols.ts';

export const IPV6_HEADER_LENGTH = 40;
export const IPV6_FRAGMENT_HEADER_LENGTH = 8;

const EMPTY = Buffer.alloc(0);
/** An address being written, as bytes. */
const ADDRESS = new Uint8Array(16);

/** One extension header of the chain, in order. */
export interface Ipv6ExtensionHeader {
  /** Its protocol number (0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options…). */
  type: number;
  /** Where it starts, counted from the start of the IPv6 header. */
  offset: number;
  /** Its length in bytes. */
  length: number;
  /** The whole header, its next-header and length bytes included (a view, not a copy). */
  data: Buffer;
}

/** One per engine, re-pointed at each packet: valid only during the event that delivered it. */
export class Ipv6Packet {
  readonly version = 6 as const;

  /** @internal The buffer holding the packet (the frame's bytes, or a reassembled datagram). */
  bytes: Buffer = EMPTY;
  /** @internal Where the IPv6 header starts in `bytes`. */
  off = 0;
  /** @internal Where the packet ends: off + 40 + payload length, or bytes.length when the capture cut it. */
  end = 0;
  /** @internal The packet was cut by the capture's snaplen. */
  truncated = false;
  /** @internal The frame this packet came in. */
  packet: Packet = new Packet();
  /** @internal Offset in `bytes` of the fragment header, or -1. */
  fragHeaderOffset = -1;
  /** @internal Offset in `bytes` of the next-header byte that names the fragment header, or -1. */
  fragNextHeaderFieldOffset = -1;

  #proto = 0;
  #payloadOffset = 0;
  /** Destination for upper-layer pseudo headers: the routing header's final one if any (RFC 8200 §8.1). */
  #finalDstOffset = 0;
  #src: string | undefined = undefined;
  #dst: string | undefined = undefined;
  #extensionHeaders: Ipv6ExtensionHeader[] | undefined = undefined;
  #payload: Buffer | undefined = undefined;

  /** @internal Re-points the view at a packet whose fixed header dissectIpv6 has validated. */
  point(packet: Packet, bytes: Buffer, off: number, end: number, truncated: boolean): void {
    this.packet = packet;
    this.bytes = bytes;
    this.off = off;
    this.end = end;
    this.truncated = truncated;
    this.fragHeaderOffset = -1;
    this.fragNextHeaderFieldOffset = -1;
    this.#proto = IPPROTO_NONE;
    this.#payloadOffset = off + IPV6_HEADER_LENGTH;
    this.#finalDstOffset = off + 24;
    this.#src = undefined;
    this.#dst = undefined;
    this.#extensionHeaders = undefined;
    this.#payload = undefined;
  }

  /** @internal Called by the chain walk. */
  setUpperLayer(proto: number, payloadOffset: number): void {
    this.#proto = proto;
    this.#payloadOffset = payloadOffset;
  }

  /** Offset in `bytes` of the destination upper layers use: the routing header's final one if any (RFC 8200 §8.1). */
  get finalDestinationOffset(): number {
    return this.#finalDstOffset;
  }

  /** @internal Called by the chain walk for a routing header still in transit. */
  setFinalDestination(offset: number): void {
    this.#finalDstOffset = offset;
  }

  get trafficClass(): number {
    return (u16(this.bytes, this.off) >> 4) & 0xff;
  }
  set trafficClass(v: number) {
    this.#writable('ipv6.trafficClass');
    const first = u32(this.bytes, this.off);
    this.bytes.writeUInt32BE(((first & 0xf00fffff) | (checkRange('ipv6.trafficClass', v, 0xff) << 20)) >>> 0, this.off);
  }
  get flowLabel(): number {
    return u32(this.bytes, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    this.#writable('ipv6.flowLabel');
    const first = u32(this.bytes, this.off);
    this.bytes.writeUInt32BE(((first & 0xfff00000) | checkRange('ipv6.flowLabel', v, 0xfffff)) >>> 0, this.off);
  }
  /** Payload length from the header: everything after the 40-byte fixed header. */
  get payloadLength(): number {
    return u16(this.bytes, this.off + 4);
  }
  /** The fixed header's Next Header: the first extension header, or the upper-layer protocol. */
  get nextHeader(): number {
    return this.bytes[this.off + 6] as number;
  }
  get hopLimit(): number {
    return this.bytes[this.off + 7] as number;
  }
  set hopLimit(v: number) {
    this.#writable('ipv6.hopLimit');
    this.bytes[this.off + 7] = checkRange('ipv6.hopLimit', v, 0xff);
  }
  /** Total length: 40 + payload length. */
  get len(): number {
    return IPV6_HEADER_LENGTH + u16(this.bytes, this.off + 4);
  }
  /**
   * The upper-layer protocol, after the extension headers: 6, 17, 58…; 59 when nothing follows;
   * 50 for ESP (the rest is encrypted). For a fragment after the first, the protocol its fragment
   * header names.
   */
  get proto(): number {
    return this.#proto;
  }
  /** Where the upper-layer header (or, for a non-first fragment, the fragment data) starts. */
  get payloadOffset(): number {
    return this.#payloadOffset;
  }
  /** The upper-layer data: a view, valid only during the event; `Buffer.from(pkt.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.#payloadOffset, this.end));
  }
  /** Source address in RFC 5952 text, computed on first access. */
  get src(): string {
    return (this.#src ??= ipv6TextAt(this.bytes, this.off + 8));
  }
  get dst(): string {
    return (this.#dst ??= ipv6TextAt(this.bytes, this.off + 24));
  }
  /** RFC 4291 text or an `ipv6.addr()`; the transport checksum follows (its pseudo header holds the addresses). */
  set src(v: string | { readonly value: bigint }) {
    this.#setAddress(8, v, 'ipv6.src', true);
    this.#src = undefined;
  }
  /** With a routing header, the pseudo header holds the final destination, not this one: the transport checksum stays. */
  set dst(v: string | { readonly value: bigint }) {
    this.#setAddress(24, v, 'ipv6.dst', this.#finalDstOffset === this.off + 24);
    this.#dst = undefined;
  }
  /** The TCP, UDP or ICMPv6 checksum computed now from the payload's bytes. */
  computeTransportChecksum(): void {
    this.#writable('ipv6.computeTransportChecksum');
    computeTransportChecksum(this);
  }
  #writable(where: string): void {
    writable(this.packet, this.bytes, where);
    this.packet.writes |= W_WRITTEN;
    this.packet.rewritten = true;
  }
  #setAddress(rel: number, v: string | { readonly value: bigint }, where: string, pseudo: boolean): void {
    this.#writable(where);
    setAddress(this.packet, this.bytes, this.off + rel, ipv6Bytes(v, where, ADDRESS), 16, pseudo);
  }
  /** The 16 bytes of the source address (a view), for comparisons without strings. */
  get srcBytes(): Buffer {
    return this.bytes.subarray(this.off + 8, this.off + 24);
  }
  get dstBytes(): Buffer {
    return this.bytes.subarray(this.off + 24, this.off + 40);
  }
  /** The extension headers before the upper layer, in order; built on first access. */
  get extensionHeaders(): Ipv6ExtensionHeader[] {
    if (this.#extensionHeaders === undefined) {
      const list: Ipv6ExtensionHeader[] = [];
      walkChain(this, list);
      this.#extensionHeaders = list;
    }
    return this.#extensionHeaders;
  }
  /** A fragment header is present and this is not a whole packet (an atomic fragment, RFC 6946, is not). */
  get isFragment(): boolean {
    return this.fragHeaderOffset >= 0 && (u16(this.bytes, this.fragHeaderOffset + 2) & 0xfff9) !== 0;
  }
  /** Fragment offset in bytes; 0 without a fragment header. */
  get fragOffset(): number {
    return this.fragHeaderOffset < 0 ? 0 : u16(this.bytes, this.fragHeaderOffset + 2) & 0xfff8;
  }
  /** The fragment header's M flag (more fragments). */
  get mf(): boolean {
    return this.fragHeaderOffset >= 0 && ((this.bytes[this.fragHeaderOffset + 3] as number) & 1) !== 0;
  }
  /** The fragment header's identification, or undefined without a fragment header. */
  get fragId(): number | undefined {
    return this.fragHeaderOffset < 0 ? undefined : u32(this.bytes, this.fragHeaderOffset + 4);
  }
  get timestamp(): Timestamp {
    return this.packet.timestamp;
  }
  /**
   * Sends a packet made with `ipv6.create()`: through the `sendPacket` events of its layers, then
   * into the output capture (replay) or out of the raw socket (inline), its checksums fixed. A
   * received packet goes out by itself: calling this on one is PAL_ERR_REWRITE.
   */
  send(): void {
    this.packet.sendCreated('ipv6.send');
  }
  /** Drops the frame that carried this packet (for a reassembled datagram: all its fragments). */
  drop(): void {
    this.packet.drop();
  }

  /** @internal The datagram now lives in `bytes` (its payload was resized), ending at `end`. */
  rebase(bytes: Buffer, end: number): void {
    this.bytes = bytes;
    this.end = end;
    this.#payload = undefined;
  }

  /** @internal Folded sum of the pseudo header for an upper-layer checksum (RFC 8200 §8.1). */
  pseudoHeaderSum(proto: number, length: number): number {
    return ipv6PseudoSum(this.bytes, this.off + 8, this.#finalDstOffset, proto, length);
  }

  toJSON(): Record<string, unknown> {
    return {
      version: 6,
      trafficClass: this.trafficClass,
      flowLabel: this.flowLabel,
      payloadLength: this.payloadLength,
      nextHeader: this.nextHeader,
      hopLimit: this.hopLimit,
      src: this.src,
      dst: this.dst,
      proto: this.proto,
    };
  }
}

/**
 * Re-points `view` at the IPv6 packet starting at `bytes[off]` and walks its extension headers,
 * returning true, or counts an anomaly and returns false: 'ipv6-truncated' (shorter than 40
 * bytes), 'ipv6-invalid-header' (version not 6), 'ipv6-invalid-extension' (a header that runs
 * past the packet, a hop-by-hop header not first, two fragment headers), 'ipv6-bad-length' (a
 * payload length past the end of a frame the capture did not cut). Bytes past the payload
 * length are ignored; a payload length past the bytes of a frame the capture cut (packet.cut) is
 * accepted with 'snaplen-truncated'.
 */
export function dissectIpv6(view: Ipv6Packet, packet: Packet, bytes: Buffer, off: number, stats: AnomalyCounter): boolean {
  const available = bytes.length - off;
  if (available < IPV6_HEADER_LENGTH) {
    stats.anomaly('ipv6-truncated');
    return false;
  }
  if ((bytes[off] as number) >> 4 !== 6) {
    stats.anomaly('ipv6-invalid-header');
    return false;
  }
  const len = IPV6_HEADER_LENGTH + u16(bytes, off + 4);
  let end = off + len;
  let truncated = false;
  if (len > available) {
    if (!packet.cut) {
      stats.anomaly('ipv6-bad-length');
      return false;
    }
    stats.anomaly('snaplen-truncated');
    end = bytes.length;
    truncated = true;
  }
  view.point(packet, bytes, off, end, truncated);
  if (!walkChain(view, null)) {
    stats.anomaly('ipv6-invalid-extension');
    return false;
  }
  return true;
}

/**
 * Walks the extension header chain of the packet `view` points at, setting its upper-layer
 * protocol and offset, fragment header and final destination; when `list` is given, appends
 * each extension header to it. Returns false for a chain that cannot be right. Each header is at
 * least 8 bytes long, so the walk ends.
 */
function walkChain(view: Ipv6Packet, list: Ipv6ExtensionHeader[] | null): boolean {
  const b = view.bytes;
  const start = view.off + IPV6_HEADER_LENGTH;
  const end = view.end;
  let nhField = view.off + 6;
  let nh = b[nhField] as number;
  let p = start;
  let fragmentSeen = false;
  for (;;) {
    let hlen: number;
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_MOBILITY:
      case IPPROTO_HIP:
      case IPPROTO_SHIM6:
        // RFC 8200 §4.3: hop-by-hop options only right after the fixed header.
        if (nh === IPPROTO_HOPOPTS && p !== start) return false;
        if (p + 2 > end) return false;
        hlen = ((b[p + 1] as number) + 1) * 8;
        if (p + hlen > end) return false;
        if (nh === IPPROTO_ROUTING && (b[p + 3] as number) > 0) finalDestination(view, b, p, hlen);
        break;
      case IPPROTO_AH:
        // RFC 4302 §2.2: the AH length is in 4-byte units, minus 2.
        if (p + 2 > end) return false;
        hlen = ((b[p + 1] as number) + 2) * 4;
        if (p + hlen > end) return false;
        break;
      case IPPROTO_FRAGMENT:
        if (fragmentSeen || p + IPV6_FRAGMENT_HEADER_LENGTH > end) return false;
        fragmentSeen = true;
        hlen = IPV6_FRAGMENT_HEADER_LENGTH;
        view.fragHeaderOffset = p;
        view.fragNextHeaderFieldOffset = nhField;
        if ((u16(b, p + 2) & 0xfff8) !== 0) {
          // Not the first fragment: what follows is fragment data, not headers.
          list?.push(extensionHeader(view, nh, p, hlen));
          view.setUpperLayer(b[p] as number, p + hlen);
          return true;
        }
        break;
      default:
        // The upper layer, No Next Header (59) or ESP (50), whose contents cannot be walked.
        view.setUpperLayer(nh, p);
        return true;
    }
    list?.push(extensionHeader(view, nh, p, hlen));
    nhField = p;
    nh = b[p] as number;
    p += hlen;
  }
}

function extensionHeader(view: Ipv6Packet, type: number, p: number, length: number): Ipv6ExtensionHeader {
  return { type, offset: p - view.off, length, data: view.bytes.subarray(p, p + length) };
}

/**
 * A routing header with segments left: the pseudo-header destination is the last hop's
 * (RFC 8200 §8.1): the last address of a type 0 header, the home address of type 2 (RFC 6275),
 * Segment List[0] of a segment routing header, type 4 (RFC 8754).
 */
function finalDestination(view: Ipv6Packet, b: Buffer, p: number, hlen: number): void {
  const type = b[p + 2] as number;
  if (hlen < 24) return;
  if (type === 0) view.setFinalDestination(p + 8 + 16 * (((hlen - 8) >> 4) - 1));
  else if (type === 2 || type === 4) view.setFinalDestination(p + 8);
}

/** The fields a new IPv6 fixed header is written with (ipv6.create, palisade/testing). */
export interface Ipv6Header {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  hopLimit?: number;
  flowLabel?: number;
  trafficClass?: number;
}

/** Writes the 40-byte fixed header at `b[off]` for `payloadLength` bytes after it (RFC 8200 §3); returns 40. */
export function writeIpv6Header(b: Buffer, off: number, h: Ipv6Header, payloadLength: number): number {
  b.writeUInt32BE(((6 << 28) | ((h.trafficClass ?? 0) << 20) | (h.flowLabel ?? 0)) >>> 0, off);
  b.writeUInt16BE(payloadLength, off + 4);
  b[off + 6] = h.nextHeader;
  b[off + 7] = h.hopLimit ?? 64;
  b.set(h.src.subarray(0, 16), off + 8);
  b.set(h.dst.subarray(0, 16), off + 24);
  return IPV6_HEADER_LENGTH;
}
