/**
 * Linux "cooked" captures (tcpdump -i any): SLL (LINKTYPE_LINUX_SLL, 16-byte header) and SLL2
 * (LINKTYPE_LINUX_SLL2, 20-byte header). https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
 */

import type { AnomalyCounter } from './anomalies.ts';
import { u16 } from './bytes.ts';
import { walkVlanTags } from './ethernet.ts';
import type { LinkLayer } from './link.ts';

export const SLL_HEADER_LENGTH = 16;
export const SLL2_HEADER_LENGTH = 20;

/** Packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2). */
export function dissectSll(bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < SLL_HEADER_LENGTH) {
    stats.anomaly('link-truncated');
    return false;
  }
  // The protocol is an EtherType for Ethernet-like devices; tags the NIC did not strip follow it.
  return walkVlanTags(bytes, SLL_HEADER_LENGTH, u16(bytes, 14), out, stats);
}

/** Protocol (2), reserved (2), interface index (4), ARPHRD type (2), packet type (1), address length (1), address (8). */
export function dissectSll2(bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < SLL2_HEADER_LENGTH) {
    stats.anomaly('link-truncated');
    return false;
  }
  return walkVlanTags(bytes, SLL2_HEADER_LENGTH, u16(bytes, 0), out, stats);
}
