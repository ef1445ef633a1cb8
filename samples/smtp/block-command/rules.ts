/**
 * No SMTP user enumeration: a client that sends VRFY or EXPN (RFC 5321 §3.5) has its
 * connection reset before the command reaches the server, with an alert. RFC 5321 §7.3 lets a
 * server refuse both for this reason; this rule set refuses them for servers that do not.
 *
 * The SMTP dissector holds each command line until it has read the whole line, and the rule runs
 * on it then: the reset drops the held line, so the server never answers it.
 */
import { defineRules } from 'palisade';
import { smtp } from '../dissector.ts';

const forbidden = new Set(['VRFY', 'EXPN']);

export default defineRules(({ rule, alert }) => {
  // Haka's install_tcp_rule: a newConnection rule enabling the dissector on connections to tcp/25.
  smtp.onPort(25);

  rule({
    name: 'no-user-enumeration',
    on: smtp.events.command,
    eval: (flow, command) => {
      if (!forbidden.has(command.verb)) return;
      alert({
        description: `SMTP ${command.verb} refused`,
        severity: 'medium',
        method: { description: 'user enumeration', ref: 'RFC 5321 §7.3' },
        sources: [flow.client.ip],
        targets: [{ address: flow.server.ip, service: 'smtp' }],
        flow,
      });
      flow.reset();
    },
  });
});
