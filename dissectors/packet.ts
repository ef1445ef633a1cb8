/** The raw frame as it came from the packet source, plus its verdict state. */
import type { DropReason } from './verdict.ts';
import { rewriteError } from '../core/errors.ts';
import type { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';
import type { TcpPacket } from './tcp.ts';
import type { UdpPacket } from './udp.ts';
import type { IcmpPacket } from './icmp.ts';

/** The views of a packet made by ipv4/ipv6/tcp/udp/icmp.create: its IP layer, and the one above it if any. */
export interface CreatedViews {
  readonly ip: Ipv4Packet | Ipv6Packet;
  readonly l4: TcpPacket | UdpPacket | IcmpPacket | null;
}

/** Where created packets go: the engine whose rules run now (set for its turns). */
export interface CreatedSender {
  send(packet: Packet, views: CreatedViews): void;
}

let sender: CreatedSender | null = null;

/** @internal The engine running rules now takes the packets they create and send; null between turns. */
export function setCreatedSender(s: CreatedSender | null): void {
  sender = s;
}

export interface Timestamp {
  readonly secs: number;
  readonly nsecs: number;
  /** secs + nsecs / 1e9, as a float. */
  readonly seconds: number;
}

class PacketTimestamp implements Timestamp {
  secs = 0;
  nsecs = 0;
  get seconds(): number {
    return this.secs + this.nsecs / 1e9;
  }
  toJSON(): { secs: number; nsecs: number } {
    return { secs: this.secs, nsecs: this.nsecs };
  }
}

/**
 * One per engine, re-pointed at each frame (point()): like every dissector view it is valid
 * only during the event that delivered it, and so is `bytes`: copy what you keep
 * (`Buffer.from(pkt.bytes)`).
 */
export class Packet {
  /** The frame's bytes: a view over the source's reused buffer, valid only during the event; `Buffer.from(pkt.bytes)` to keep them. */
  bytes: Buffer = Buffer.alloc(0);
  linkType = 0;
  /** Frame number, 1-based, in the order the source delivered frames. */
  id = 0;
  readonly #ts = new PacketTimestamp();
  readonly timestamp: Timestamp = this.#ts;
  /** Set by drop(); the engine reads it after each listener. */
  dropped = false;
  /** @internal Why it was dropped: the first reason given wins (the rule whose drop() stopped the listeners, a policy…). */
  reason: DropReason | null = null;
  /**
   * The capture cut this frame: it holds fewer bytes than were on the wire (a snaplen). Only
   * then may an IP length run past the frame's end; otherwise such a length is a lie.
   */
  cut = false;
  /** palisade rewrote its bytes in place (a normalised segment, a rule's write): the output must send these, not the original. */
  rewritten = false;
  /**
   * @internal The transport checksum is not finished (inline GSO, offload: the field holds the
   * pseudo header's sum): a write must compute it whole, since a verdict with new bytes makes the
   * kernel take the field as final.
   */
  checksumPartial = false;
  /** @internal What rules wrote in this frame's headers (rewrite.ts W_*): the checksums settleWrites fixes. */
  writes = 0;
  /** @internal Sum of the transport header's changed words, ~old + new each (RFC 1624 eqn. 3). */
  l4Delta = 0;
  /** @internal The same for the pseudo header's words (the IP addresses). */
  pseudoDelta = 0;

  /** @internal Monitor only (--pass-through): received frames go out as they came, and writes to them are refused (Haka's "read only buffer"). */
  readOnly = false;
  /** @internal The views of a packet made with create() (it can be sent); null for a received frame. */
  created: CreatedViews | null = null;

  /** @internal send() of a created packet's view: to the engine whose rule runs now. */
  sendCreated(where: string): void {
    const views = this.created;
    if (views === null) throw rewriteError(where, 'only a packet made with create() is sent; a received one goes out by itself (drop() stops it)');
    if (sender === null) throw rewriteError(where, 'a created packet is sent from a rule, while palisade runs it');
    sender.send(this, views);
  }

  /** Verdict NF_DROP for this frame (inline), or leave it out of the output capture (replay). */
  drop(): void {
    this.dropped = true;
  }

  /** @internal Drops it for `reason`, unless it was dropped already (the first reason stands). */
  dropFor(reason: DropReason): void {
    if (this.reason === null) this.reason = reason;
    this.dropped = true;
  }

  /** @internal No verdict yet: a turn between packets begins (the view still shows the last frame, whose drop is settled). */
  clearVerdict(): void {
    this.dropped = false;
    this.reason = null;
  }

  /** @internal Re-points the view at another frame's bytes (reused frame to frame). */
  point(bytes: Buffer, secs: number, nsecs: number, linkType: number, id: number, cut = false, checksumPartial = false): void {
    this.bytes = bytes;
    this.cut = cut;
    this.checksumPartial = checksumPartial;
    this.rewritten = false;
    this.writes = 0;
    this.l4Delta = 0;
    this.pseudoDelta = 0;
    const ts = this.#ts;
    ts.secs = secs;
    ts.nsecs = nsecs;
    this.linkType = linkType;
    this.id = id;
    this.dropped = false;
    this.reason = null;
  }
}
