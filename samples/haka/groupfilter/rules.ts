/**
 * Haka's sample/filter/groupfilter.lua in palisade: a default-deny filter written as a rule
 * group. Each new TCP connection goes through the group's rules in order; the first rule that
 * returns true lets it through, and a connection no rule allowed reaches `final`, which raises an
 * alert and drops its SYN.
 */
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ ruleGroup, alert, log }) => {
  const group = ruleGroup({
    name: 'my_group',
    on: tcpConnection.events.newConnection,
    init: (_flow, pkt) => {
      log.debug(`Entering packet filtering rules : ${pkt.srcport} --> ${pkt.dstport}`);
    },
    // A rule returns true to accept: stop there, and `final` is not called.
    continue: (accepted) => !accepted,
    // Nobody accepted the connection: refuse it. Dropping the SYN keeps no flow, so the client's
    // retransmitted SYN comes back through the group (and alerts again), as in Haka.
    final: (_flow, pkt) => {
      alert({
        description: 'Packet dropped : drop by default',
        targets: [{ address: pkt.ip.dst, service: `tcp/${pkt.dstport}` }],
      });
      pkt.drop();
    },
  });

  group.rule({
    name: 'allow-http',
    eval: (_flow, pkt) => {
      if (pkt.dstport !== 80) return false;
      log.info('Authorizing traffic on port 80');
      return true;
    },
  });

  group.rule({
    name: 'allow-ssh',
    eval: (_flow, pkt) => {
      if (pkt.dstport !== 22) return false;
      log.info('Authorizing traffic on port 22');
      return true;
    },
  });
});
