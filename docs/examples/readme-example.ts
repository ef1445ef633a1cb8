// readme-example.ts
import { defineRules, ipv4, tcpConnection } from 'palisade';

const clients = ipv4.network('192.168.10.0/24');

export default defineRules(({ rule, ruleGroup, alert }) => {
  // Default-deny for new TCP connections, as in Haka's firewall sample.
  const filter = ruleGroup({
    name: 'filter',
    on: tcpConnection.events.newConnection,
    final: (flow) => {
      alert({ description: 'connection refused by default', targets: [flow.server.ip], flow });
      flow.drop();
    },
  });
  filter.rule({ name: 'web-from-clients', eval: (flow) => flow.server.port === 80 && clients.contains(flow.client.ip) });

  // Reassembled streams: cut a telnet session that shows a login prompt.
  rule({
    name: 'no-telnet',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction === 'down' && data.includes('login:')) flow.reset();
    },
  });
});
