// rules-firewall.ts
import { defineRules } from 'palisade';
import { firewall } from 'palisade/rules';

export default defineRules((ctx) => {
  firewall(ctx, {
    name: 'perimeter',
    severity: 'medium',
    allow: [
      // The office browses and resolves anywhere, over IPv4 and IPv6.
      { name: 'office-out', clients: ['192.168.10.0/24', 'fd00:10::/48'], ports: [53, 80, 443] },
      // One admin workstation reaches the servers' SSH.
      { name: 'admin-ssh', clients: '192.168.10.5', servers: '192.168.20.0/24', ports: 22 },
      // Anyone reaches the application servers' ports 8000-8099.
      { name: 'apps', servers: ['192.168.20.0/24'], ports: { from: 8000, to: 8099 } },
    ],
  });
});
