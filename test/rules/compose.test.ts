/** Rule modules installed together, and beside a rule file's own rules. */
import { describe, expect, it } from 'vitest';
import { defineRules } from 'palisade';
import { firewall, flowQuota, keywordReset, portScan } from 'palisade/rules';
import { pcap, replay, tcpSession } from 'palisade/testing';

describe('rule modules together', () => {
  it('keywordReset with ports leaves other connections to the other rules: a quota still counts them', async () => {
    const rules = defineRules((ctx) => {
      keywordReset(ctx, { ports: 21, keywords: [{ pattern: /^SITE EXEC/, description: 'SITE EXEC' }] });
      flowQuota(ctx, { bytes: 1000 });
    });
    const web = tcpSession().handshake().send('up', 'x'.repeat(3000)).close();
    expect((await replay({ rules, packets: web.frames() })).alerts.filter((a) => a.update !== true).map((a) => a.rule)).toEqual(['flow-quota']);
    // ignoreOtherPorts stops reassembly of the other connections for every rule: the quota sees nothing.
    const alone = defineRules((ctx) => {
      keywordReset(ctx, { ports: 21, ignoreOtherPorts: true, keywords: [{ pattern: /^SITE EXEC/, description: 'SITE EXEC' }] });
      flowQuota(ctx, { bytes: 1000 });
    });
    expect((await replay({ rules: alone, packets: web.frames() })).alerts).toEqual([]);
  });

  it('portScan installed before the firewall counts the probes the firewall refuses', async () => {
    const probes = pcap(Array.from({ length: 8 }, (_, i) => tcpSession({ client: `10.66.0.1:${30000 + i}`, server: `10.9.0.1:${1000 + i}` }).handshake().frames()[0] as Buffer));
    const scanFirst = defineRules((ctx) => {
      portScan(ctx, { threshold: 5 });
      firewall(ctx, { allow: [{ ports: 80 }], alert: false });
    });
    expect((await replay({ rules: scanFirst, pcap: probes })).alerts.map((a) => [a.rule, a.packet])).toEqual([['port-scan', 6]]);
    // After it, the refused connections never reach portScan: a rule that drops a flow ends the event for it.
    const firewallFirst = defineRules((ctx) => {
      firewall(ctx, { allow: [{ ports: 80 }], alert: false });
      portScan(ctx, { threshold: 5 });
    });
    expect((await replay({ rules: firewallFirst, pcap: probes })).alerts).toEqual([]);
  });
});
