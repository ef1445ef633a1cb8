/** Port lists for rule modules: one port, a list, or an inclusive range. */
import { PalisadeError } from '../index.ts';

export type PortList = number | readonly number[] | { readonly from: number; readonly to: number };

/** A matcher for `ports`, or null for "any" (none given). Throws PAL_ERR_RULE_INVALID naming `where`. */
export function portMatcher(ports: PortList | undefined, where: string): ((port: number) => boolean) | null {
  if (ports === undefined) return null;
  const check = (p: number): number => {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new PalisadeError('PAL_ERR_RULE_INVALID', `${where}: ${String(p)} is not a port (an integer from 0 to 65535)`);
    return p;
  };
  if (typeof ports === 'number') {
    const only = check(ports);
    return (p) => p === only;
  }
  if ('from' in ports) {
    const from = check(ports.from);
    const to = check(ports.to);
    if (to < from) throw new PalisadeError('PAL_ERR_RULE_INVALID', `${where}: the range ${from}-${to} is empty`);
    return (p) => p >= from && p <= to;
  }
  const set = new Set(ports.map(check));
  return (p) => set.has(p);
}
