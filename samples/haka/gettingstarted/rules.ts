/**
 * Haka's sample/gettingstarted/gettingstarted.lua in palisade: drop TCP segments whose checksum
 * is wrong, with an alert, and log the HTTP connections made to one web server.
 */
import { defineRules, ipv4, tcp, tcpConnection } from 'palisade';

const webServer = ipv4.addr('192.168.20.1');

export default defineRules(({ rule, alert, log }) => {
  rule({
    name: 'bad-tcp-checksum',
    on: tcp.events.receivePacket,
    // A segment the receiver would discard anyway: dropping it keeps the rules' view of the
    // stream and the receiver's the same.
    eval: (pkt) => {
      if (!pkt.verifyChecksum()) {
        alert({ description: 'Bad TCP checksum' });
        pkt.drop();
      }
    },
  });

  rule({
    name: 'http-to-web-server',
    on: tcpConnection.events.newConnection,
    eval: (flow, pkt) => {
      if (pkt.dstport === 80 && webServer.equals(flow.server.ip)) {
        log.debug(`Traffic on HTTP port from ${flow.client.ip}`);
      }
    },
  });
});
