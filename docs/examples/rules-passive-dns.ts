// rules-passive-dns.ts
import { defineRules } from 'palisade';
import { passiveDns } from 'palisade/rules';

export default defineRules((ctx) => {
  // What each name resolved to: one line per distinct address for the run, with how often it came.
  passiveDns(ctx, { types: ['A', 'AAAA'], aggregate: true });
});
