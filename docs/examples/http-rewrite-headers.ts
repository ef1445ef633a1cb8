// http-rewrite-headers.ts
import { defineRules, http } from 'palisade';

export default defineRules(({ rule }) => {
  // Servers answer in clear, so that rules on their answers can read them; the client's
  // software is not told to the server; each request says it was seen.
  rule({
    name: 'request-fields',
    on: http.events.request,
    eval: (_flow, req) => {
      req.removeHeader('Accept-Encoding');
      req.setHeader('User-Agent', 'Mozilla/5.0');
      req.addHeader('X-Inspected', 'palisade');
    },
  });
  // The server's software is not told to clients.
  rule({
    name: 'response-fields',
    on: http.events.response,
    eval: (_flow, res) => {
      res.removeHeader('Server');
      res.removeHeader('X-Powered-By');
    },
  });
});
