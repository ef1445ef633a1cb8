/**
 * Haka's sample/hellopacket/hellopacket.lua in palisade: log every IPv4 packet and every new TCP
 * connection, and raise one alert per connection. It drops nothing; it shows where rules hook in
 * (a stateless layer, ipv4, and a stateful one, tcpConnection) and what they are handed.
 */
import { defineRules, ipv4, tcpConnection } from 'palisade';

export default defineRules(({ rule, alert, log }) => {
  rule({
    name: 'log-packet',
    on: ipv4.events.receivePacket,
    // `src` and `dst` are formatted only when a rule reads them: this rule pays for the text.
    eval: (pkt) => {
      log.info(`packet from ${pkt.src} to ${pkt.dst}`);
    },
  });

  rule({
    name: 'log-connection',
    on: tcpConnection.events.newConnection,
    // Runs once per connection, on its first SYN, after the ipv4 rule has seen that packet.
    eval: (flow) => {
      log.info(`TCP connection from ${flow.client.ip}:${flow.client.port} to ${flow.server.ip}:${flow.server.port}`);
      alert({ description: 'A simple alert', severity: 'low' });
    },
  });
});
