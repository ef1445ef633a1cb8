// rules-http-request-policy.ts
import { defineRules } from 'palisade';
import { httpRequestPolicy } from 'palisade/rules';

export default defineRules((ctx) => {
  // A public site: three methods, no traversal, bounded heads; a request that breaks any is reset.
  httpRequestPolicy(ctx, {
    name: 'site-policy',
    methods: ['GET', 'HEAD', 'POST'],
    maxUriLength: 2048,
    maxHeaderCount: 64,
    maxHeaderValueLength: 8192,
    maxHostLength: 255,
  });
});
