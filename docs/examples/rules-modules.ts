// rules-modules.ts
import { defineRules, tcpConnection } from 'palisade';
import { firewall, portScan, tcpHardening } from 'palisade/rules';

export default defineRules((ctx) => {
  // Default deny: web from the clients' network, mail to the relay, nothing else.
  firewall(ctx, {
    allow: [
      { name: 'web', clients: ['192.168.10.0/24', 'fd00:10::/32'], ports: [80, 443] },
      { name: 'mail', servers: '192.168.20.25', ports: 25 },
    ],
  });
  // More than 20 ports from one source within 10 s: alert, and refuse it for 5 minutes.
  portScan(ctx, { threshold: 20, windowS: 10, blockS: 300 });
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
