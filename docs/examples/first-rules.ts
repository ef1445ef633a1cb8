// first-rules.ts
import { defineRules, udp } from 'palisade';

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'dns-query',
    on: udp.events.receivePacket,
    eval: (pkt) => {
      if (pkt.dstport === 53) {
        alert({ description: 'dns query', sources: [pkt.ip.src], targets: [{ address: pkt.ip.dst, service: 'udp/53' }] });
      }
    },
  });
});
