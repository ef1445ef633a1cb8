/**
 * Haka's sample/filter/ipfilter.lua in palisade: every IPv4 packet from a blacklisted host is
 * dropped, with an alert. Stateless: it blocks both the host's requests and, since its SYNs never
 * arrive, any connection it tries; replies *to* it still pass (the rule matches sources only).
 */
import { defineRules, ipv4 } from 'palisade';

// Parsed once, at load: a typo in the address is a load error, not a surprise at the first packet.
const blacklisted = ipv4.addr('192.168.10.10');

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'ipfilter',
    on: ipv4.events.receivePacket,
    eval: (pkt) => {
      // Compare integers on the packet path; the dotted text is built only for the alert.
      if (pkt.srcInt === blacklisted.value) {
        alert({ description: `Filtering IP ${blacklisted.toString()}`, severity: 'low', sources: [blacklisted] });
        pkt.drop();
      }
    },
  });
});
