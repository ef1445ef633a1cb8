/** UDP datagrams (RFC 768; over IPv6, RFC 8200 §8.1). A re-pointed view, as TcpPacket. */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { u16 } from './bytes.ts';
import { onesSum, sumVerifies } from './checksum.ts';
import { IPPROTO_UDP } from './ip-protocols.ts';
import { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';

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
  get dstport(): number {
    return u16(this.bytes, this.off + 2);
  }
  /** Length from the header: 8 + data. */
  get length(): number {
    return u16(this.bytes, this.off + 4);
  }
  get checksum(): number {
    return u16(this.bytes, this.off + 6);
  }
  /** Where the data starts in `ip.bytes`. */
  get payloadOffset(): number {
    return this.off + UDP_HEADER_LENGTH;
  }
  /** The data, up to the header's length (bytes after it are not UDP's): a view, valid only during the event; `Buffer.from(udp.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.off + UDP_HEADER_LENGTH, this.end));
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
