// rules-name-list.ts
import { defineRules } from 'palisade';
import { nameList } from 'palisade/rules';

export default defineRules((ctx) => {
  // Names refused wherever a client asks for them: an HTTP Host, a TLS server name, a DNS query.
  nameList(ctx, { name: 'blocklist', deny: ['evil.example', '*.palisade.test', 'www.pal.test'], severity: 'high' });
});
