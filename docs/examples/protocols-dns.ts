// protocols-dns.ts
import { defineRules, dns } from 'palisade';

export default defineRules(({ rule, alert, log }) => {
  // A query for a denied zone never leaves: over UDP its datagram is dropped with the flow.
  rule({
    name: 'deny-zone',
    on: dns.events.query,
    eval: (flow, query) => {
      const name = query.questions[0]?.name ?? '';
      if (!dns.inZone(name, 'www.pal.test')) return;
      alert({ description: `DNS query for ${name}`, flow });
      flow.drop();
    },
  });

  // Each answer, with the query it answers.
  rule({
    name: 'answers',
    on: dns.events.response,
    eval: (flow, response, query) => {
      for (const a of response.answers) if (a.typeName === 'A') log.info({ name: a.name, address: a.data, asked: query?.id }, 'answer');
    },
  });
});
