/**
 * Default-deny firewall, after Haka's firewall sample: clients of 192.168.10.0/24 may open
 * connections to the web servers of 192.168.20.0/24 on port 80; every other TCP connection is
 * refused, with an alert.
 *
 * The group runs once per connection, on its first SYN: refusing drops the SYN, so the
 * connection never opens (and a retransmitted SYN is judged again).
 */
import { defineRules } from 'palisade';
import { firewall } from 'palisade/rules';

export default defineRules((ctx) => {
  // A rule group (rules/firewall.ts): each new connection is checked against the allow list,
  // the first entry that allows it ends the check, and `final` refuses the rest with an alert.
  firewall(ctx, {
    name: 'filter',
    allow: [{ name: 'web-from-clients', clients: '192.168.10.0/24', servers: '192.168.20.0/24', ports: 80 }],
  });
});
