/**
 * Haka's sample/filter/tcpfilter.lua in palisade: only TCP to or from port 80 goes through; every
 * other TCP segment is dropped. Stateless, per segment: nothing tracks connections here, so the
 * server's answers are judged on their own (source port 80) rather than as part of a flow.
 *
 * Haka's file carries a deliberate bug for its tutorial, `pkt.destport` for `pkt.dstport`, which
 * Haka finds only at run time. Here that typo does not compile (see README.md), so this file is
 * the corrected rule.
 */
import { defineRules, tcp } from 'palisade';

export default defineRules(({ rule, log }) => {
  rule({
    name: 'tcpfilter',
    on: tcp.events.receivePacket,
    eval: (pkt) => {
      if (pkt.dstport === 80 || pkt.srcport === 80) {
        log.info('Authorizing trafic on port 80');
      } else {
        log.info(`Trafic not authorized on port ${pkt.dstport}`);
        pkt.drop();
      }
    },
  });
});
