/** UDP datagrams (RFC 768; over IPv6, RFC 8200 §8.1). A re-pointed view, as TcpPacket. */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { u16 } from './bytes.ts';
import { onesSum, sumVerifies } from './checksum.ts';
import { IPPROTO_UDP } from './ip-protocols.ts';
import { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';
import { checkRange, computeTransportChecksum, replaceTail, setL4Word, W_KEEP_L4, W_L4_FULL, W_WRITTEN, writable } from './rewrite.ts';

export const UDP_HEADER_LENGTH = 8;

const EMPTY = Buffer.alloc(0);

/** One per engine, re-pointed at each datagram: valid only during the event that delivered it. */
export class UdpPacket {
  /** @internal The buffer holding the datagram (its IP packet's). */
  bytes: Buffer = EMPTY;
  /** @internal Where the UDP header starts in `bytes`. */
  off = 0;
  /** @internal Where the datagram ends: off + length, or less when the capture cut it. */
  end = 0;
  /** @internal The frame the datagram came in. */
  packet: Packet = new Packet();

  #ip: Ipv4Packet | Ipv6Packet = new Ipv4Packet();
  #payload: Buffer | undefined = undefined;

  /** @internal Re-points the view; dissectUdp validates first. */
  point(ip: Ipv4Packet | Ipv6Packet, off: number, end: number): void {
    this.#ip = ip;
    this.packet = ip.packet;
    this.bytes = ip.bytes;
    this.off = off;
    this.end = end;
    this.#payload = undefined;
  }

  /** The IP packet carrying this datagram. */
  get ip(): Ipv4Packet | Ipv6Packet {
    return this.#ip;
  }
  get srcport(): number {
    return u16(this.bytes, this.off);
  }
  set srcport(v: number) {
    this.#setWord(0, v, 'udp.srcport');
  }
  get dstport(): number {
    return u16(this.bytes, this.off + 2);
  }
  set dstport(v: number) {
    this.#setWord(2, v, 'udp.dstport');
  }
  /** Length from the header: 8 + data. */
  get length(): number {
    return u16(this.bytes, this.off + 4);
  }
  get checksum(): number {
    return u16(this.bytes, this.off + 6);
  }
  /** Computed again when the packet leaves, unless keepChecksum() says otherwise (0 over IPv4: none, and kept so). */
  set checksum(v: number) {
    this.#setWord(6, v, 'udp.checksum');
    if (v !== 0 || this.#ip.version === 6) this.packet.writes |= W_L4_FULL;
    else this.packet.writes |= W_KEEP_L4;
  }
  /** The checksum computed now, over the pseudo header and the datagram (Haka's compute_checksum). */
  computeChecksum(): void {
    writable(this.packet, this.bytes, 'udp.computeChecksum');
    computeTransportChecksum(this.#ip);
  }
  /** The checksum goes out as it is now (written or not): for crafting a bad one. */
  keepChecksum(): void {
    this.packet.writes |= W_KEEP_L4;
  }
  /** Where the data starts in `ip.bytes`. */
  get payloadOffset(): number {
    return this.off + UDP_HEADER_LENGTH;
  }
  /** The data, up to the header's length (bytes after it are not UDP's): a view, valid only during the event; `Buffer.from(udp.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.off + UDP_HEADER_LENGTH, this.end));
  }
  /**
   * New data: the same length is copied over the old (assigning the `payload` view after editing
   * it in place says it changed), another makes a new frame with the UDP and IP lengths fixed;
   * the checksum is computed again when the packet leaves.
   */
  set payload(data: Uint8Array) {
    writable(this.packet, this.bytes, 'udp.payload');
    const current = this.payload;
    if (data.length === current.length) {
      if (data !== current) current.set(data);
    } else {
      const b = replaceTail(this.#ip, this.off + UDP_HEADER_LENGTH, data, 'udp.payload');
      this.bytes = b;
      this.end = this.#ip.end;
      b.writeUInt16BE(this.end - this.off, this.off + 4);
    }
    this.#payload = undefined;
    this.packet.writes |= u16(this.bytes, this.off + 6) !== 0 || this.#ip.version === 6 ? W_L4_FULL | W_WRITTEN : W_WRITTEN;
    this.packet.rewritten = true;
  }
  get timestamp(): Timestamp {
    return this.packet.timestamp;
  }
  /**
   * The checksum is right. A zero checksum means "not computed" over IPv4 (true) and is invalid
   * over IPv6 (false, RFC 8200 §8.1). False when the capture cut the datagram.
   */
  verifyChecksum(): boolean {
    const length = this.length;
    if (u16(this.bytes, this.off + 6) === 0) return this.#ip.version === 4;
    if (this.end - this.off < length) return false;
    return sumVerifies(onesSum(this.bytes, this.off, this.off + length, this.#ip.pseudoHeaderSum(IPPROTO_UDP, length)));
  }
  #setWord(rel: number, v: number, where: string): void {
    writable(this.packet, this.bytes, where);
    setL4Word(this.packet, this.bytes, this.off + rel, checkRange(where, v, 0xffff));
  }
  /**
   * Sends a packet made with `udp.create()`: through the `sendPacket` events of its layers, then
   * into the output capture (replay) or out of the raw socket (inline), its checksums fixed. A
   * received packet goes out by itself: calling this on one is PAL_ERR_REWRITE.
   */
  send(): void {
    this.packet.sendCreated('udp.send');
  }
  /** Drops the frame that carried this datagram. */
  drop(): void {
    this.packet.drop();
  }

  toJSON(): Record<string, unknown> {
    return { srcport: this.srcport, dstport: this.dstport, length: this.length, checksum: this.checksum };
  }
}

/**
 * Re-points `view` at the UDP datagram that is the payload of `ip` and returns true, or counts
 * an anomaly and returns false: 'udp-truncated' (fewer than 8 bytes), 'udp-invalid-length'
 * (length below 8, or past the IP payload when the capture did not cut it). A length shorter
 * than the IP payload is accepted: the surplus is not UDP data (RFC 768; UDP options use it).
 */
export function dissectUdp(view: UdpPacket, ip: Ipv4Packet | Ipv6Packet, stats: AnomalyCounter): boolean {
  const off = ip.payloadOffset;
  const available = ip.end - off;
  if (available < UDP_HEADER_LENGTH) {
    stats.anomaly('udp-truncated');
    return false;
  }
  const length = u16(ip.bytes, off + 4);
  if (length < UDP_HEADER_LENGTH || (length > available && !ip.truncated)) {
    stats.anomaly('udp-invalid-length');
    return false;
  }
  view.point(ip, off, length > available ? ip.end : off + length);
  return true;
}

/** Writes a UDP header at `b[off]` for `payloadLength` bytes after it, its checksum 0 (computed once the datagram is whole); returns 8. */
export function writeUdpHeader(b: Buffer, off: number, h: { srcport: number; dstport: number }, payloadLength: number): number {
  b.writeUInt16BE(h.srcport, off);
  b.writeUInt16BE(h.dstport, off + 2);
  b.writeUInt16BE(UDP_HEADER_LENGTH + payloadLength, off + 4);
  b.writeUInt16BE(0, off + 6);
  return UDP_HEADER_LENGTH;
}
