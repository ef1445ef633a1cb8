// rewrite-decoy-ping.ts
import { defineRules, icmp, ipv4 } from 'palisade';

/** An address nothing answers on: palisade answers its pings itself, and counts who asked. */
const DECOY = ipv4.addr('192.168.20.99');

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'decoy-ping',
    on: icmp.events.receivePacket,
    eval: (msg) => {
      const ip = msg.ip;
      if (ip.version !== 4 || ip.dstInt !== DECOY.value || msg.type !== 8) return;
      // The echo reply (RFC 792): type 0, the request's identifier, sequence number and data.
      icmp.create({ src: ip.dst, dst: ip.src, ttl: 64, type: 0, payload: msg.payload }).send();
      msg.drop();
      alert({ description: `ping to the decoy from ${ip.src}`, severity: 'low', sources: [ip.src], targets: [ip.dst] });
    },
  });
});
