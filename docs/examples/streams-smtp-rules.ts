// streams-smtp-rules.ts
import { defineRules } from 'palisade';
import { smtp } from '../../samples/smtp/dissector.ts';

export default defineRules(({ rule, alert, log }) => {
  smtp.onPort(25);

  // Watch, not block: a server that answers VRFY or EXPN tells who has a mailbox.
  rule({
    name: 'enumeration-answered',
    on: smtp.events.response,
    eval: (_flow, reply) => {
      if ((reply.command === 'VRFY' || reply.command === 'EXPN') && reply.code < 300) {
        alert({ description: `${reply.command} answered ${reply.code}: ${reply.lines.join('; ')}`, severity: 'low' });
      }
    },
  });

  // Fail closed on an end of data that servers read differently (SMTP smuggling).
  rule({
    name: 'no-smuggling',
    on: smtp.events.anomaly,
    eval: (flow, anomaly) => {
      if (anomaly.kind === 'ambiguous-end') flow.reset();
    },
  });

  rule({
    name: 'mail-log',
    on: smtp.events.mailEnd,
    eval: (_flow, envelope) => {
      log.info({ from: envelope.from, to: envelope.recipients, size: envelope.size }, 'mail');
    },
  });
});
