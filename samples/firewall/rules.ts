/**
 * Default-deny firewall, after Haka's firewall sample: clients of 192.168.10.0/24 may reach the
 * web servers of 192.168.20.0/24 on port 80; every other TCP packet is refused with an alert.
 *
 * Stateless for now (a rule group over tcp.receivePacket, so replies from port 80 are allowed
 * by their own rule); the tcp_connection dissector will let it filter new connections instead.
 */
import { defineRules, ipv4, tcp } from 'palisade';

const clients = ipv4.network('192.168.10.0/24');
const servers = ipv4.network('192.168.20.0/24');

export default defineRules(({ ruleGroup, alert, log }) => {
  const filter = ruleGroup({
    name: 'filter',
    on: tcp.events.receivePacket,
    init: (pkt) => {
      log.debug({ src: pkt.ip.src, dst: pkt.ip.dst, dstport: pkt.dstport }, 'filtering tcp packet');
    },
    // Stop at the first rule that allows the packet (Haka's default).
    continue: (allowed) => !allowed,
    final: (pkt) => {
      alert({
        description: 'packet dropped: not allowed by the firewall',
        severity: 'low',
        sources: [pkt.ip.src],
        targets: [{ address: pkt.ip.dst, service: `tcp/${pkt.dstport}` }],
      });
      pkt.drop();
    },
  });

  filter.rule({
    name: 'web-from-clients',
    eval: (pkt) =>
      pkt.ip.version === 4 && pkt.dstport === 80 && clients.contains(pkt.ip.srcInt) && servers.contains(pkt.ip.dstInt),
  });

  filter.rule({
    name: 'web-replies',
    eval: (pkt) =>
      pkt.ip.version === 4 && pkt.srcport === 80 && servers.contains(pkt.ip.srcInt) && clients.contains(pkt.ip.dstInt),
  });
});
