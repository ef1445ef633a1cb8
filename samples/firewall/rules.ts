/**
 * Default-deny firewall, after Haka's firewall sample: clients of 192.168.10.0/24 may open
 * connections to the web servers of 192.168.20.0/24 on port 80; every other TCP connection is
 * refused, with an alert.
 *
 * The group runs once per connection, on its first SYN: refusing drops the SYN, so the
 * connection never opens (and a retransmitted SYN is judged again).
 */
import { defineRules, ipv4, tcpConnection } from 'palisade';

const clients = ipv4.network('192.168.10.0/24');
const servers = ipv4.network('192.168.20.0/24');

export default defineRules(({ ruleGroup, alert, log }) => {
  const filter = ruleGroup({
    name: 'filter',
    on: tcpConnection.events.newConnection,
    init: (flow) => {
      log.debug({ client: flow.client, server: flow.server }, 'filtering new connection');
    },
    // Stop at the first rule that allows the connection (Haka's default).
    continue: (allowed) => !allowed,
    final: (flow) => {
      alert({
        description: 'connection refused by the firewall',
        severity: 'low',
        sources: [flow.client.ip],
        targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
        flow,
      });
      flow.drop();
    },
  });

  filter.rule({
    name: 'web-from-clients',
    eval: (flow) => flow.server.port === 80 && clients.contains(flow.client.ip) && servers.contains(flow.server.ip),
  });
});
