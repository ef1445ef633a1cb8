// rule-api-tour.ts
import { defineRules, engine, ipv4, tcp, udp } from 'palisade';

const servers = ipv4.network('192.168.20.0/24');

export default defineRules(({ rule, ruleGroup, alert, log }) => {
  // A plain rule: runs on every event of its kind; its return value is ignored.
  rule({
    name: 'low-ttl',
    on: ipv4.events.receivePacket,
    eval: (pkt) => {
      if (pkt.ttl < 2) alert({ description: 'ttl about to expire', severity: 'low', sources: [pkt.src] });
    },
  });

  // A group (Haka's rule_group): init, then each rule until `continue` says stop, else final.
  const web = ruleGroup({
    name: 'web-only',
    on: tcp.events.receivePacket,
    continue: (allowed) => !allowed,
    final: (pkt) => {
      alert({ description: 'not web', targets: [{ address: pkt.ip.dst, service: `tcp/${pkt.dstport}` }] });
      pkt.drop();
    },
  });
  web.rule({ name: 'to-web', eval: (pkt) => pkt.dstport === 80 && pkt.ip.version === 4 && servers.contains(pkt.ip.dstInt) });
  web.rule({ name: 'from-web', eval: (pkt) => pkt.srcport === 80 && pkt.ip.version === 4 && servers.contains(pkt.ip.srcInt) });

  let datagrams = 0;
  rule({
    on: udp.events.receivePacket,
    eval: () => {
      datagrams++;
    },
  });
  rule({ on: engine.events.exiting, eval: () => log.info({ datagrams }, 'udp datagrams seen') });
});
