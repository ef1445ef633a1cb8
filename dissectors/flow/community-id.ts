/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): one flow hash that Zeek,
 * Suricata, Wireshark and palisade all compute the same, so a flow can be found across their logs.
 * Computed only when a rule or the flow log asks for it.
 */

import { createHash } from 'node:crypto';

/**
 * `'1:' + base64(sha1(seed, addresses, proto, 0, ports))`, both directions of a flow giving the
 * same value: the endpoint with the smaller address comes first (the smaller port when the
 * addresses are equal) and its port with it. Seed, ports: 16 bits, big-endian; addresses in
 * network order, 4 bytes (version 4) or 16 (version 6).
 *
 * For ICMP, pass the spec's port equivalents (type and counterpart type or code); its one-way
 * messages, hashed without reordering, and protocols without ports are not handled here.
 */
export function communityId(
  version: 4 | 6,
  srcAddr: Uint8Array,
  dstAddr: Uint8Array,
  proto: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): string {
  const n = version === 4 ? 4 : 16;
  if (srcAddr.length !== n || dstAddr.length !== n) {
    throw new RangeError(`communityId: IPv${version} addresses are ${n} bytes, got ${srcAddr.length} and ${dstAddr.length}`);
  }
  const order = Buffer.compare(srcAddr, dstAddr);
  const srcFirst = order < 0 || (order === 0 && srcPort <= dstPort);
  const b = Buffer.allocUnsafe(2 + 2 * n + 2 + 4);
  b.writeUInt16BE(seed & 0xffff, 0);
  b.set(srcFirst ? srcAddr : dstAddr, 2);
  b.set(srcFirst ? dstAddr : srcAddr, 2 + n);
  let o = 2 + 2 * n;
  b[o++] = proto & 0xff;
  b[o++] = 0;
  b.writeUInt16BE((srcFirst ? srcPort : dstPort) & 0xffff, o);
  b.writeUInt16BE((srcFirst ? dstPort : srcPort) & 0xffff, o + 2);
  return '1:' + createHash('sha1').update(b).digest('base64');
}
