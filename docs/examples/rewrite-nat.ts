// rewrite-nat.ts
import { defineRules, ipv4, tcp } from 'palisade';

/** The address clients use, and the server's real one behind it (Haka's ipv4 nat test). */
const PUBLIC = ipv4.addr('192.168.20.80');
const PRIVATE = ipv4.addr('10.20.0.80');

export default defineRules(({ rule }) => {
  // Both ways: towards the server the destination, back from it the source. The IPv4 header
  // checksum is computed again as the packet leaves, and the TCP checksum follows the pseudo
  // header (RFC 1624 update).
  rule({
    name: 'dnat',
    on: ipv4.events.receivePacket,
    eval: (pkt) => {
      if (pkt.dstInt === PUBLIC.value) pkt.dst = PRIVATE;
      else if (pkt.srcInt === PRIVATE.value) pkt.src = PUBLIC;
    },
  });

  // Every segment leaves with the same TTL, which hides how far away its sender is.
  rule({
    name: 'ttl',
    on: tcp.events.receivePacket,
    eval: (seg) => {
      if (seg.ip.version === 4) seg.ip.ttl = 64;
    },
  });
});
