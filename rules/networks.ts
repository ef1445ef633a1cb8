/**
 * Address lists for rule modules: networks in CIDR notation ('10.0.0.0/8', 'fd00::/8') or single
 * addresses, IPv4 and IPv6 mixed, matched against an address's text.
 */
import { ipv4, ipv6, type Ipv4Network, type Ipv6Network } from '../index.ts';
import type { OptionCheck } from './options.ts';

export type AddressList = string | readonly string[];

/** A matcher for the address list in option `option`, or null for "any" (no list given). */
export function addressMatcher(check: OptionCheck, option: string, list: unknown): ((address: string) => boolean) | null {
  if (list === undefined) return null;
  const entries = typeof list === 'string' ? [list] : check.list(option, list);
  if (entries.length === 0) check.fail(option, 'is an empty list, which matches no address; leave it out to match any address');
  const v4: Ipv4Network[] = [];
  const v6: Ipv6Network[] = [];
  entries.forEach((entry, i) => {
    const where = typeof list === 'string' ? option : `${option}[${i}]`;
    if (typeof entry !== 'string') check.fail(where, `must be an address or a network in text ('10.0.0.0/8'), not ${String(entry)}`);
    try {
      if (entry.includes(':')) v6.push(ipv6.network(entry.includes('/') ? entry : `${entry}/128`));
      else v4.push(ipv4.network(entry.includes('/') ? entry : `${entry}/32`));
    } catch {
      check.fail(where, `must be an address or a network ('192.168.10.0/24', '10.0.0.1', 'fd00::/8'), not '${entry}'`);
    }
  });
  return (address) => (address.includes(':') ? v6.some((n) => n.contains(address)) : v4.some((n) => n.contains(address)));
}
