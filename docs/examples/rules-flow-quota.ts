// rules-flow-quota.ts
import { defineRules } from 'palisade';
import { flowQuota } from 'palisade/rules';

export default defineRules((ctx) => {
  // No connection uploads more than 100 MiB: past it, both ends get a RST.
  flowQuota(ctx, { name: 'upload-cap', bytes: 100 * 1024 * 1024, direction: 'up', action: 'reset' });
  // Downloads over 1 GiB on one connection are reported.
  flowQuota(ctx, { name: 'big-download', bytes: 1024 ** 3, direction: 'down', severity: 'low' });
});
