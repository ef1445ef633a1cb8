/** The rule modules' options are typed: a wrong option is an error in the editor, before any load. */
import { expectTypeOf, it } from 'vitest';
import { defineRules, type RuleContext, type TcpAnomalyKind } from 'palisade';
import { firewall, flowQuota, keywordReset, portScan, tcpAnomalyRules, tcpHardening, type FirewallOptions, type HardeningAction } from 'palisade/rules';

it('accepts the options as documented', () => {
  defineRules((ctx) => {
    firewall(ctx, { allow: [{ clients: ['10.0.0.0/8', 'fd00::/8'], servers: '192.168.20.80', ports: { from: 8000, to: 8099 } }], severity: 'medium' });
    portScan(ctx);
    portScan(ctx, { threshold: 20, windowS: 0.5, blockS: 0 });
    flowQuota(ctx, { bytes: 1024, direction: 'both', action: 'drop' });
    keywordReset(ctx, { ports: [21, 2121], ignoreOtherPorts: true, keywords: [{ pattern: /^SITE EXEC/i, description: 'x', ref: ['CVE-1999-0080'] }] });
    tcpHardening(ctx, { mode: 'block', actions: { gap: 'ignore', 'hold-cap': 'reset' } });
  });
  // A module needs only the part of the context it uses: a narrower one does.
  expectTypeOf(portScan).parameter(0).toEqualTypeOf<Pick<RuleContext, 'rule' | 'alert' | 'log'>>();
  expectTypeOf<FirewallOptions['allow'][number]['ports']>().toEqualTypeOf<number | readonly number[] | { readonly from: number; readonly to: number } | undefined>();
});

it('rejects misspelt and mistyped options', () => {
  defineRules((ctx) => {
    // @ts-expect-error allow is required
    firewall(ctx, {});
    // @ts-expect-error the key is clients, not client
    firewall(ctx, { allow: [{ client: '10.0.0.0/8' }] });
    // @ts-expect-error ports are numbers
    firewall(ctx, { allow: [{ ports: '80' }] });
    // @ts-expect-error severity is low, medium or high
    portScan(ctx, { severity: 'critical' });
    // @ts-expect-error windowS, not window
    portScan(ctx, { window: 5 });
    // @ts-expect-error direction is up, down or both
    flowQuota(ctx, { bytes: 1, direction: 'sideways' });
    // @ts-expect-error a pattern is a RegExp
    keywordReset(ctx, { keywords: [{ pattern: 'SITE EXEC', description: 'x' }] });
    // @ts-expect-error there is no anomaly 'overlap'
    tcpHardening(ctx, { actions: { overlap: 'alert' } });
    // @ts-expect-error 'drop' is 'drop-flow'
    tcpHardening(ctx, { actions: { gap: 'drop' } });
  });
});

it('places every anomaly kind the dissector has', () => {
  expectTypeOf<keyof typeof tcpAnomalyRules>().toEqualTypeOf<TcpAnomalyKind>();
  expectTypeOf<HardeningAction>().toEqualTypeOf<'ignore' | 'alert' | 'drop-flow' | 'reset'>();
});
