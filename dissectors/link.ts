/**
 * Link-layer dispatch: finds where the network layer starts in a frame and what it is, whatever
 * the capture's link type. The engine keeps one LinkLayer and re-fills it for every frame.
 */

import type { AnomalyCounter } from './anomalies.ts';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  normalizeLinkType,
} from '../core/link-types.ts';
import { u16 } from './bytes.ts';
import { dissectEthernet } from './ethernet.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './ethertypes.ts';
import { dissectLoopback } from './loopback.ts';
import { dissectSll, dissectSll2 } from './sll.ts';

export class LinkLayer {
  /**
   * What the network layer is: 0x0800 (IPv4) or 0x86dd (IPv6) for IP on every link type; the
   * frame's EtherType (or 802.3 length, ≤ 1500) otherwise; 0 when the link type says nothing.
   */
  etherType = 0;
  /** Where the network layer starts in the frame's bytes. */
  offset = 0;
  /** 802.1Q/802.1ad VLAN ids, outermost first. Reused: its length is reset for every frame. */
  readonly vlanIds: number[] = [];
}

/**
 * Fills `out` for the frame `bytes` of link type `linkType` and returns true, or counts
 * 'link-truncated' and returns false when the frame is shorter than its link-layer header.
 * A link type palisade does not dissect gives etherType 0 (a non-IP frame).
 */
export function dissectLink(linkType: number, bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  // Setting an array's length is a runtime call: only when a tagged frame left ids.
  if (out.vlanIds.length !== 0) out.vlanIds.length = 0;
  out.etherType = 0;
  out.offset = 0;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return dissectEthernet(bytes, out, stats);
    case LINKTYPE_LINUX_SLL:
      return dissectSll(bytes, out, stats);
    case LINKTYPE_LINUX_SLL2:
      return dissectSll2(bytes, out, stats);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return dissectLoopback(bytes, out, stats);
    case LINKTYPE_RAW:
      return dissectRawIp(bytes, out, stats);
    case LINKTYPE_IPV4:
      return rawIp(bytes, ETHERTYPE_IPV4, out, stats);
    case LINKTYPE_IPV6:
      return rawIp(bytes, ETHERTYPE_IPV6, out, stats);
    default:
      if (normalizeLinkType(linkType) === LINKTYPE_RAW) return dissectRawIp(bytes, out, stats);
      return true;
  }
}

/**
 * Raw IP: the version nibble tells v4 from v6. Anything but 6 goes to the IPv4 dissector, which
 * reports a bad version as 'ipv4-invalid-header': on an IP-only link, junk is malformed IP, not
 * a non-IP frame to pass untouched.
 */
function dissectRawIp(bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < 1) {
    stats.anomaly('link-truncated');
    return false;
  }
  return rawIp(bytes, (bytes[0] as number) >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, out, stats);
}

function rawIp(bytes: Buffer, etherType: number, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < 1) {
    stats.anomaly('link-truncated');
    return false;
  }
  out.etherType = etherType;
  out.offset = 0;
  return true;
}

/** A frame whose link header another frame goes out behind (a RST, a packet a rule created). */
export interface LinkHeaderSpec {
  frame: Buffer;
  linkType: number;
  /** Where the IP header starts in `frame`: the link header's length. */
  linkHeaderLength: number;
  /** true: the new frame travels as `frame` did; false: the other way. */
  sameDirection: boolean;
}

/** Linux packet types (if_packet.h): to us, sent by us, between others. */
const PACKET_HOST = 0;
const PACKET_OTHERHOST = 3;
const PACKET_OUTGOING = 4;

/**
 * The trigger's link header, turned around for the opposite direction where the link type says
 * who sent it; written at the start of `out`. Crafted RSTs and packets rules create and send go
 * out behind it.
 */
export function writeLinkHeader(out: Buffer, spec: LinkHeaderSpec): void {
  const { frame, linkHeaderLength: len } = spec;
  frame.copy(out, 0, 0, len);
  if (spec.sameDirection) return;
  switch (spec.linkType) {
    case LINKTYPE_ETHERNET:
      // Destination and source MACs change places; VLAN tags and EtherType stay.
      frame.copy(out, 0, 6, 12);
      frame.copy(out, 6, 0, 6);
      break;
    case LINKTYPE_LINUX_SLL:
      // Packet type (2), ARPHRD (2), address length (2), address (8) of the sender: not known for the peer.
      out.writeUInt16BE(mirrorPacketType(u16(frame, 0)), 0);
      out.fill(0, 4, 14);
      break;
    case LINKTYPE_LINUX_SLL2:
      // Protocol (2), reserved (2), ifindex (4), ARPHRD (2), packet type (1), address length (1), address (8).
      out[10] = mirrorPacketType(frame[10] as number);
      out.fill(0, 11, 20);
      break;
    default:
      // Null/loopback (the address family fits both ways), raw IP (no header).
      break;
  }
}

/** The packet type of a packet going the other way on the same interface. */
function mirrorPacketType(type: number): number {
  if (type === PACKET_HOST) return PACKET_OUTGOING;
  if (type === PACKET_OUTGOING) return PACKET_HOST;
  return PACKET_OTHERHOST;
}



/** The link header at the start of `out` names IPv`version` as its payload: a frame of the other version goes out behind a copy of it. */
export function writeLinkEtherType(out: Buffer, linkType: number, linkHeaderLength: number, version: 4 | 6): void {
  const type = version === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
  if (linkType === LINKTYPE_ETHERNET) out.writeUInt16BE(type, linkHeaderLength - 2);
  else if (linkType === LINKTYPE_LINUX_SLL) out.writeUInt16BE(type, 14);
  else if (linkType === LINKTYPE_LINUX_SLL2) out.writeUInt16BE(type, 0);
}
