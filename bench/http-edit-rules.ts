/**
 * The bench's edit-heavy HTTP rule set: the HTTP line's rules, and every request's head and
 * every response's head rewritten (a field set, one removed, one added), so that every web
 * connection of the capture is renumbered both ways from its first request to its end: what an
 * edit costs over parsing alone.
 */
import { defineRules, http } from 'palisade';
import { counted } from './http-rules.ts';

export default defineRules(({ rule }) => {
  rule({
    name: 'request-fields',
    on: http.events.request,
    eval: (flow, req) => {
      if (req.path.includes('/etc/passwd')) flow.reset();
      req.setHeader('User-Agent', 'palisade-bench');
      req.removeHeader('Accept-Encoding');
      req.addHeader('X-Inspected', '1');
    },
  });
  rule({
    name: 'response-fields',
    on: http.events.response,
    eval: (_flow, res) => {
      res.setHeader('Server', 'hidden');
    },
  });
  rule({
    name: 'count',
    on: http.events.transactionEnd,
    eval: () => {
      counted.transactions++;
    },
  });
});
