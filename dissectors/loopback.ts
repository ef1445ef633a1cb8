/**
 * BSD loopback encapsulation (LINKTYPE_NULL, LINKTYPE_LOOP): a 4-byte address family. NULL
 * stores it in the byte order of the host that wrote the capture, LOOP in network order, and
 * files exist with either order under either type, so the order is guessed: families are small,
 * so a value with any of its upper 16 bits set was read in the wrong order (as Wireshark does).
 */

import type { AnomalyCounter } from './anomalies.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './ethertypes.ts';
import type { LinkLayer } from './link.ts';

export const LOOPBACK_HEADER_LENGTH = 4;

export const BSD_AF_INET = 2;
/** AF_INET6 is 24 on NetBSD and OpenBSD, 28 on FreeBSD and DragonFly, 30 on macOS. */
export const BSD_AF_INET6_BSD = 24;
export const BSD_AF_INET6_FREEBSD = 28;
export const BSD_AF_INET6_DARWIN = 30;

export function dissectLoopback(bytes: Buffer, out: LinkLayer, stats: AnomalyCounter): boolean {
  if (bytes.length < LOOPBACK_HEADER_LENGTH) {
    stats.anomaly('link-truncated');
    return false;
  }
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  const b2 = bytes[2] as number;
  const b3 = bytes[3] as number;
  // A family fits in 16 bits: big-endian it has zero first bytes, little-endian zero last bytes.
  let family = -1;
  if (b0 === 0 && b1 === 0) family = (b2 << 8) | b3;
  else if (b2 === 0 && b3 === 0) family = (b1 << 8) | b0;
  switch (family) {
    case BSD_AF_INET:
      out.etherType = ETHERTYPE_IPV4;
      break;
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
      out.etherType = ETHERTYPE_IPV6;
      break;
    default:
      // Another family (or one with upper bits set in both orders): not IP.
      out.etherType = 0;
  }
  out.offset = LOOPBACK_HEADER_LENGTH;
  return true;
}
