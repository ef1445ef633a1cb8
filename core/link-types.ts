/**
 * Link-layer header types palisade dissects, by their LINKTYPE_ value as pcap and pcapng store
 * it (https://www.tcpdump.org/linktypes.html). The engine picks the link dissector from these.
 */

/** BSD loopback: a 4-byte address family in the byte order of the host that wrote the file. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** Raw IPv4 or IPv6, told apart by the version nibble. */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: a 4-byte address family in network byte order. */
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * DLT_RAW is 12 on most BSDs and 14 on OpenBSD; old files carry those values instead of
 * LINKTYPE_RAW (libpcap's pcap-common.c maps both the same way).
 */
const DLT_RAW_BSD = 12;
const DLT_RAW_OPENBSD = 14;

export function normalizeLinkType(lt: number): number {
  return lt === DLT_RAW_BSD || lt === DLT_RAW_OPENBSD ? LINKTYPE_RAW : lt;
}

export function isSupportedLinkType(lt: number): boolean {
  switch (normalizeLinkType(lt)) {
    case LINKTYPE_NULL:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_RAW:
    case LINKTYPE_LOOP:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_LINUX_SLL2:
      return true;
    default:
      return false;
  }
}
