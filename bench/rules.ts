/**
 * The "small rule set" of `npm run bench`: a default-deny group over tcp.receivePacket as in the
 * firewall sample (every packet of the generated capture is allowed, so no alert is written),
 * plus a rule on every IPv4 datagram.
 */
import { defineRules, ipv4, tcp } from 'palisade';

const clients = [ipv4.network('192.168.10.0/24'), ipv4.network('10.20.0.0/16')];
const servers = ipv4.network('192.168.20.0/24');
const allowed = (client: number, server: number, port: number): boolean =>
  (port === 80 || port === 8080) && servers.contains(server) && clients.some((n) => n.contains(client));

export default defineRules(({ rule, ruleGroup, alert }) => {
  rule({
    name: 'ttl-expiring',
    on: ipv4.events.receivePacket,
    eval: (pkt) => {
      if (pkt.ttl < 2) alert({ description: 'ttl about to expire', sources: [pkt.src] });
    },
  });

  const filter = ruleGroup({
    name: 'filter',
    on: tcp.events.receivePacket,
    final: (pkt) => {
      alert({ description: 'refused', targets: [pkt.ip.dst] });
      pkt.drop();
    },
  });
  filter.rule({ name: 'requests', eval: (pkt) => pkt.ip.version === 4 && allowed(pkt.ip.srcInt, pkt.ip.dstInt, pkt.dstport) });
  filter.rule({ name: 'replies', eval: (pkt) => pkt.ip.version === 4 && allowed(pkt.ip.dstInt, pkt.ip.srcInt, pkt.srcport) });
});
