// rules-modules.ts
import { defineRules, tcpConnection } from 'palisade';
import { firewall, portScan, tcpHardening } from 'palisade/rules';

export default defineRules((ctx) => {
  // First, so that it counts the probes the firewall refuses: a rule that drops a connection
  // ends its event for the rules after it.
  portScan(ctx, { threshold: 20, windowS: 10, blockS: 300 });
  // Default deny: web from the clients' network, mail to the relay, nothing else.
  firewall(ctx, {
    allow: [
      { name: 'web', clients: ['192.168.10.0/24', 'fd00:10::/32'], ports: [80, 443] },
      { name: 'mail', servers: '192.168.20.25', ports: 25 },
    ],
  });
  // Every stream anomaly alerts once per connection; evasion drops the connection.
  tcpHardening(ctx, { mode: 'block', actions: { gap: 'ignore' } });
  // The modules sit beside the rule file's own rules.
  ctx.rule({
    name: 'no-telnet',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      if (flow.server.port === 23) flow.reset();
    },
  });
});
