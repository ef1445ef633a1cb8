// rules-port-scan.ts
import { defineRules } from 'palisade';
import { portScan } from 'palisade/rules';

export default defineRules((ctx) => {
  // More than 50 ports in a minute: a slow scan, reported but not blocked.
  portScan(ctx, { name: 'slow-scan', threshold: 50, windowS: 60, blockS: 0, severity: 'low' });
  // More than 10 ports in 2 s: refused for 10 minutes.
  portScan(ctx, { name: 'fast-scan', threshold: 10, windowS: 2, blockS: 600, maxSources: 100_000 });
});
