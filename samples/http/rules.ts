/**
 * A web server's front: a request policy, a Host deny list, and an access log written by the
 * wire rather than by the server.
 *
 * - `httpRequestPolicy` judges each request's head, whole and before any of it has reached the
 *   server: methods off the list and a `..` segment in the path are refused, the connection
 *   reset.
 * - `nameList` refuses requests for a denied host, read from the Host field (without its port)
 *   and from an absolute-form target. The head is held until it is whole, so a Host written a
 *   byte at a time is judged as a whole, and the server gets none of it.
 * - `access-log`, on `http.events.transactionEnd`: one log line per request and its final
 *   response, with the path as the server resolved it, the status (and the 1xx before it), the
 *   body sizes both ways (decoded from chunked), how the answer was framed, its trailer fields,
 *   and whether both came whole. A request the rules above refused is not
 *   in it: no event reaches a rule for a connection once it is reset, so its alert is its record.
 */
import { defineRules, http } from 'palisade';
import { httpRequestPolicy, nameList } from 'palisade/rules';

export default defineRules((ctx) => {
  const { rule, log } = ctx;

  httpRequestPolicy(ctx, {
    name: 'site-policy',
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    maxUriLength: 2048,
    maxHeaderCount: 64,
    maxHostLength: 255,
  });

  nameList(ctx, { name: 'host-blocklist', deny: ['evil.example', '*.evil.example'], on: ['http'], severity: 'high' });

  rule({
    name: 'access-log',
    on: http.events.transactionEnd,
    eval: (flow, tx) => {
      const req = tx.request;
      if (req === null) return;
      const res = tx.response;
      log.info(
        {
          client: flow.client.ip,
          server: `${flow.server.ip}:${flow.server.port}`,
          method: req.method,
          host: req.host,
          // The path as the server resolves it: /admin/../etc/passwd is /etc/passwd.
          path: req.path,
          status: res?.status ?? null,
          interim: tx.interim.map((r) => r.status),
          requestBytes: req.bodyBytes,
          // How the answer's body was delimited: content-length, chunked, none, until-close.
          framing: res?.framing ?? null,
          responseBytes: res?.bodyBytes ?? 0,
          trailers: res?.trailers?.map((t) => `${t.name}: ${t.value}`) ?? [],
          complete: tx.complete,
        },
        'http transaction',
      );
    },
  });
});
