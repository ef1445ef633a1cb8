/**
 * Address lists for rule modules: networks in CIDR notation ('10.0.0.0/8', 'fd00::/8') or single
 * addresses, IPv4 and IPv6 mixed, matched against an address's text.
 */
import { ipv4, ipv6, PalisadeError } from '../index.ts';

export type AddressList = string | readonly string[];

/** A matcher for `list`, or null for "any" (no list given). Throws PAL_ERR_RULE_INVALID on a bad entry. */
export function addressMatcher(list: AddressList | undefined, where: string): ((address: string) => boolean) | null {
  if (list === undefined) return null;
  const entries = typeof list === 'string' ? [list] : list;
  if (entries.length === 0) throw new PalisadeError('PAL_ERR_RULE_INVALID', `${where}: an empty list matches nothing; leave it out to match any address`);
  const v4 = entries.filter((e) => !e.includes(':')).map((e) => ipv4.network(e.includes('/') ? e : `${e}/32`));
  const v6 = entries.filter((e) => e.includes(':')).map((e) => ipv6.network(e.includes('/') ? e : `${e}/128`));
  return (address) => (address.includes(':') ? v6.some((n) => n.contains(address)) : v4.some((n) => n.contains(address)));
}
