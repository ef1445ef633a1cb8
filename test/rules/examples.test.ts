/** docs/rules.md's examples load: the docs test type-checks them, and this installs them, options checked. */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import type { RuleSet } from 'palisade';
import { replay, tcpSession } from 'palisade/testing';

const examples = readdirSync(new URL('../../docs/examples/', import.meta.url)).filter((f) => /^rules-.*\.ts$/.test(f));

describe('docs/rules.md examples', () => {
  it('are all here', () => {
    expect(examples).toEqual([
      'rules-firewall.ts',
      'rules-flow-quota.ts',
      'rules-http-request-policy.ts',
      'rules-http-smuggling-guard.ts',
      'rules-keyword-reset.ts',
      'rules-modules.ts',
      'rules-name-list.ts',
      'rules-passive-dns.ts',
      'rules-port-scan.ts',
      'rules-tcp-hardening.ts',
    ]);
  });

  it.each(examples)('%s installs and runs over a connection', async (file) => {
    const rules = ((await import(`../../docs/examples/${file}`)) as { default: RuleSet }).default;
    const r = await replay({ rules, packets: tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80' }).handshake().send('up', 'GET / HTTP/1.0\r\n\r\n').close().frames() });
    expect(r.stats.ruleErrors).toBe(0);
  });
});
