/**
 * `palisade/rules`: rule modules to install in a rule file, each typed and configurable
 * (docs/rules.md). They use the public API only, as a user's rules do.
 *
 *   import { defineRules } from 'palisade';
 *   import { firewall, portScan, tcpHardening } from 'palisade/rules';
 *   export default defineRules((ctx) => {
 *     firewall(ctx, { allow: [{ clients: '192.168.10.0/24', ports: [80, 443] }] });
 *     portScan(ctx);
 *     tcpHardening(ctx, { mode: 'block' });
 *   });
 *
 * Over the protocol dissectors (docs/protocols.md): httpSmugglingGuard, httpRequestPolicy,
 * nameList (HTTP hosts, TLS server names, DNS queries) and passiveDns.
 */
export { firewall } from './firewall.ts';
export type { FirewallAllow, FirewallOptions } from './firewall.ts';
export { portScan } from './port-scan.ts';
export type { PortScanOptions } from './port-scan.ts';
export { flowQuota } from './flow-quota.ts';
export type { FlowQuotaOptions } from './flow-quota.ts';
export { keywordReset } from './keyword-reset.ts';
export type { Keyword, KeywordResetOptions } from './keyword-reset.ts';
export { tcpHardening, tcpAnomalyRules } from './tcp-hardening.ts';
export type { HardeningAction, TcpAnomalyRule, TcpHardeningOptions } from './tcp-hardening.ts';
export { httpSmugglingGuard, httpAnomalyRules } from './http-smuggling-guard.ts';
export type { HttpSmugglingGuardOptions, HttpAnomalyRule } from './http-smuggling-guard.ts';
export { httpRequestPolicy } from './http-request-policy.ts';
export type { HttpRequestPolicyOptions } from './http-request-policy.ts';
export { nameList } from './name-list.ts';
export type { NameListOptions, NameListProtocol } from './name-list.ts';
export { passiveDns } from './passive-dns.ts';
export type { PassiveDnsOptions, PassiveDnsSection } from './passive-dns.ts';
export type { AddressList } from './networks.ts';
export type { NameList } from './name-patterns.ts';
export type { PortList } from './ports.ts';
