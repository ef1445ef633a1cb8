// protocols-tls.ts
import { defineRules, tls } from 'palisade';

const denied = new Set(['palisade.test']);

export default defineRules(({ rule, alert }) => {
  // The ClientHello, whole, before any byte of it has reached the server.
  rule({
    name: 'deny-sni',
    on: tls.events.clientHello,
    eval: (flow, hello) => {
      if (hello.serverName === null || !denied.has(hello.serverName)) return;
      alert({ description: `TLS to ${hello.serverName} (JA4 ${hello.ja4})`, flow });
      flow.reset();
    },
  });
});
