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
