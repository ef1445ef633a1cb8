/** Ethernet II (and 802.3 length frames), with 802.1Q, 802.1ad (QinQ) and pre-standard outer tags. */

import type { AnomalyCounter } from './anomalies.ts';
import { u16 } from './bytes.ts';
import { isVlanTag } from './ethertypes.ts';
import type { LinkLayer } from './link.ts';

export const ETHERNET_HEADER_LENGTH = 14;
export const VLAN_TAG_LENGTH = 4;

/** Destination (6), source (6), EtherType (2), then any VLAN tags. */
export function dissectEthernet(bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < ETHERNET_HEADER_LENGTH) {
    stats.anomaly('link-truncated');
    return false;
  }
  return walkVlanTags(bytes, ETHERNET_HEADER_LENGTH, u16(bytes, 12), out, stats);
}

/**
 * Follows VLAN tags starting at `off`, where the EtherType `etherType` was just read: each tag is
 * a 2-byte TCI (priority, DEI, 12-bit VLAN id) and the next EtherType. Sets out.etherType and
 * out.offset past the last tag; appends each VLAN id to out.vlanIds, outermost first.
 */
export function walkVlanTags(bytes: Buffer, off: number, etherType: number, out: LinkLayer, stats: AnomalyCounter): boolean {
  while (isVlanTag(etherType)) {
    if (bytes.length < off + VLAN_TAG_LENGTH) {
      stats.anomaly('link-truncated');
      return false;
    }
    out.vlanIds.push(u16(bytes, off) & 0x0fff);
    etherType = u16(bytes, off + 2);
    off += VLAN_TAG_LENGTH;
  }
  out.etherType = etherType;
  out.offset = off;
  return true;
}
