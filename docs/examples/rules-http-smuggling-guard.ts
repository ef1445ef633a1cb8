// rules-http-smuggling-guard.ts
import { defineRules } from 'palisade';
import { httpSmugglingGuard } from 'palisade/rules';

export default defineRules((ctx) => {
  // Every smuggling shape in a request: the connection is reset before the head reaches the server.
  httpSmugglingGuard(ctx);
  // A server that folds or LF-ends its header lines is reported, not cut off.
  httpSmugglingGuard(ctx, { name: 'odd-responses', direction: 'down', kinds: ['obs-fold', 'bare-lf'], action: 'alert', severity: 'low' });
});
