/**
 * Haka's sample/filter/httpfilter.lua in palisade: connections to port 80 only (others are
 * dropped, with an alert, as Haka's "drop by default" policy), and of those only clients whose
 * User-Agent says Mozilla: the HTTP dissector hands each request's head to the rule before any
 * of it has reached the server, and `flow.drop()` drops the request and the rest of the
 * connection (Haka's `http:drop()`).
 */
import { defineRules, http, tcpConnection } from 'palisade';

export default defineRules(({ rule, alert, log }) => {
  rule({
    name: 'drop by default',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      if (flow.server.port === 80) return;
      alert({ description: 'drop by default', flow });
      flow.drop();
    },
  });

  rule({
    name: 'mozilla only',
    on: http.events.request,
    eval: (flow, request) => {
      if (/Mozilla/.test(request.headers.get('User-Agent') ?? '')) {
        log.info('User-Agent Mozilla detected');
      } else {
        log.info('Only Mozilla User-Agent authorized');
        flow.drop();
      }
    },
  });
});
