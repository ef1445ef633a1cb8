/** ICMP (RFC 792) and ICMPv6 (RFC 4443) in one view: type, code, checksum, then the body. */

import { Packet, type Timestamp } from './packet.ts';
import type { AnomalyCounter } from './anomalies.ts';
import { u16 } from './bytes.ts';
import { onesSum, sumVerifies } from './checksum.ts';
import { IPPROTO_ICMPV6 } from './ip-protocols.ts';
import { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';
import { checkRange, computeTransportChecksum, replaceTail, setL4Byte, setL4Word, W_KEEP_L4, W_L4_FULL, writable } from './rewrite.ts';

export const ICMP_HEADER_LENGTH = 4;

const EMPTY = Buffer.alloc(0);

/** One per engine, re-pointed at each message: valid only during the event that delivered it. */
export class IcmpPacket {
  /** @internal The buffer holding the message (its IP packet's). */
  bytes: Buffer = EMPTY;
  /** @internal Where the ICMP header starts in `bytes`. */
  off = 0;
  /** @internal Where the message ends (its IP packet's end). */
  end = 0;
  /** @internal The frame the message came in. */
  packet: Packet = new Packet();

  #ip: Ipv4Packet | Ipv6Packet = new Ipv4Packet();
  #payload: Buffer | undefined = undefined;

  /** @internal Re-points the view; dissectIcmp validates first. */
  point(ip: Ipv4Packet | Ipv6Packet, off: number): void {
    this.#ip = ip;
    this.packet = ip.packet;
    this.bytes = ip.bytes;
    this.off = off;
    this.end = ip.end;
    this.#payload = undefined;
  }

  /** The IP packet carrying this message. */
  get ip(): Ipv4Packet | Ipv6Packet {
    return this.#ip;
  }
  /** 4 for ICMP, 6 for ICMPv6: the IP version carrying it. */
  get version(): 4 | 6 {
    return this.#ip.version;
  }
  get type(): number {
    return this.bytes[this.off] as number;
  }
  set type(v: number) {
    writable(this.packet, this.bytes, 'icmp.type');
    setL4Byte(this.packet, this.bytes, this.off, this.off, checkRange('icmp.type', v, 0xff));
  }
  get code(): number {
    return this.bytes[this.off + 1] as number;
  }
  set code(v: number) {
    writable(this.packet, this.bytes, 'icmp.code');
    setL4Byte(this.packet, this.bytes, this.off + 1, this.off, checkRange('icmp.code', v, 0xff));
  }
  get checksum(): number {
    return u16(this.bytes, this.off + 2);
  }
  /** Computed again when the packet leaves, unless keepChecksum() says otherwise. */
  set checksum(v: number) {
    writable(this.packet, this.bytes, 'icmp.checksum');
    setL4Word(this.packet, this.bytes, this.off + 2, checkRange('icmp.checksum', v, 0xffff));
    this.packet.writes |= W_L4_FULL;
  }
  /** The checksum computed now (over the message; for ICMPv6 with the pseudo header). */
  computeChecksum(): void {
    writable(this.packet, this.bytes, 'icmp.computeChecksum');
    computeTransportChecksum(this.#ip);
  }
  /** The checksum goes out as it is now (written or not): for crafting a bad one. */
  keepChecksum(): void {
    this.packet.writes |= W_KEEP_L4;
  }
  /** Everything after type, code and checksum (for echo: identifier, sequence number, data): a view, valid only during the event; `Buffer.from(icmp.payload)` to keep it. */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.off + ICMP_HEADER_LENGTH, this.end));
  }
  /** New bytes after type, code and checksum (another length makes a new frame, the IP length fixed); the checksum is computed again when it leaves. */
  set payload(data: Uint8Array) {
    writable(this.packet, this.bytes, 'icmp.payload');
    const current = this.payload;
    if (data.length === current.length) {
      if (data !== current) current.set(data);
    } else {
      this.bytes = replaceTail(this.#ip, this.off + ICMP_HEADER_LENGTH, data, 'icmp.payload');
      this.end = this.#ip.end;
    }
    this.#payload = undefined;
    this.packet.writes |= W_L4_FULL;
    this.packet.rewritten = true;
  }
  get timestamp(): Timestamp {
    return this.packet.timestamp;
  }
  /**
   * The checksum is right: over the message for ICMP, with the IPv6 pseudo header for ICMPv6
   * (RFC 4443 §2.3). False when the capture cut the message.
   */
  verifyChecksum(): boolean {
    if (this.#ip.truncated) return false;
    const initial = this.#ip.version === 6 ? this.#ip.pseudoHeaderSum(IPPROTO_ICMPV6, this.end - this.off) : 0;
    return sumVerifies(onesSum(this.bytes, this.off, this.end, initial));
  }
  /**
   * Sends a packet made with `icmp.create()`: through the `sendPacket` events of its layers, then
   * into the output capture (replay) or out of the raw socket (inline), its checksums fixed. A
   * received packet goes out by itself: calling this on one is PAL_ERR_REWRITE.
   */
  send(): void {
    this.packet.sendCreated('icmp.send');
  }
  /** Drops the frame that carried this message. */
  drop(): void {
    this.packet.drop();
  }

  toJSON(): Record<string, unknown> {
    return { version: this.version, type: this.type, code: this.code, checksum: this.checksum };
  }
}

/**
 * Re-points `view` at the ICMP or ICMPv6 message that is the payload of `ip` (protocol 1 over
 * IPv4, 58 over IPv6) and returns true, or counts 'icmp-truncated' (fewer than 4 bytes) and
 * returns false.
 */
export function dissectIcmp(view: IcmpPacket, ip: Ipv4Packet | Ipv6Packet, stats: AnomalyCounter): boolean {
  const off = ip.payloadOffset;
  if (ip.end - off < ICMP_HEADER_LENGTH) {
    stats.anomaly('icmp-truncated');
    return false;
  }
  view.point(ip, off);
  return true;
}

/** Writes type, code and a zero checksum at `b[off]` (the checksum is computed once the message is whole); returns 4. */
export function writeIcmpHeader(b: Buffer, off: number, h: { type: number; code?: number }): number {
  b[off] = h.type;
  b[off + 1] = h.code ?? 0;
  b.writeUInt16BE(0, off + 2);
  return ICMP_HEADER_LENGTH;
}
