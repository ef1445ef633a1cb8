// protocols-http.ts
import { defineRules, http } from 'palisade';

export default defineRules(({ rule, alert }) => {
  // Each request's head, whole, before any of it has reached the server.
  rule({
    name: 'no-evil-host',
    on: http.events.request,
    eval: (flow, request) => {
      if (request.host !== 'evil.example') return;
      alert({ description: `request for ${request.host}${request.path}`, severity: 'high', flow });
      flow.reset();
    },
  });

  // Paths as the server resolves them: /admin/../etc/passwd is /etc/passwd.
  rule({
    name: 'no-passwd',
    on: http.events.request,
    eval: (flow, request) => {
      if (request.path === '/etc/passwd') alert({ description: `${request.method} ${request.uri}`, flow });
    },
  });
});
