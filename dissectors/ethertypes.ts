/** EtherType values the link dissectors recognise (IEEE registry; RFC 7042 §3). */

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
/** IEEE 802.1Q customer VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** IEEE 802.1ad service VLAN tag (the outer tag of QinQ). */
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ outer tags, still sent by some switches. */
export const ETHERTYPE_QINQ_9100 = 0x9100;
export const ETHERTYPE_QINQ_9200 = 0x9200;
export const ETHERTYPE_LLDP = 0x88cc;
/** Values up to 1500 in the type field are an 802.3 length, not a type (LLC/SNAP, STP). */
export const ETHERTYPE_MAX_LENGTH = 1500;

/** True for the tag types that are followed by a 2-byte TCI and another EtherType. */
export function isVlanTag(etherType: number): boolean {
  return (
    etherType === ETHERTYPE_VLAN ||
    etherType === ETHERTYPE_QINQ ||
    etherType === ETHERTYPE_QINQ_9100 ||
    etherType === ETHERTYPE_QINQ_9200
  );
}
