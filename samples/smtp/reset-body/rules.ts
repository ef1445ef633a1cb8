/**
 * Data loss prevention with canary tokens: a mail whose body carries one of the planted tokens
 * is reset before the line holding the token reaches the mail server, with an alert naming the
 * sender and the recipients.
 *
 * The dissector is enabled by hand, on submission (587) as well as relay (25). It holds every
 * packet of a mail data line until the line is complete, however many segments carry it, and
 * the rule sees the line then: when it resets, no byte of that line, nor any after it, has gone.
 */
import { defineRules, tcpConnection } from 'palisade';
import { smtp } from '../dissector.ts';

/** Planted in documents that must not leave by mail. */
const canaries = ['CANARY-d33e92d96eb23e29d1937d25324eb538cfc76674d64a94585224c0f78399ecba'];

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'smtp-ports',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      if (flow.server.port === 25 || flow.server.port === 587) smtp.enable(flow);
    },
  });

  rule({
    name: 'no-canary-in-mail',
    on: smtp.events.mailContent,
    eval: (flow, line, envelope) => {
      if (!canaries.some((token) => line.includes(token))) return;
      alert({
        description: `canary token in a mail from <${envelope.from}> to ${envelope.recipients.map((r) => `<${r}>`).join(', ')}`,
        severity: 'high',
        method: { description: 'data loss prevention: a planted canary token' },
        sources: [flow.client.ip],
        targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
        flow,
      });
      flow.reset();
    },
  });
});
