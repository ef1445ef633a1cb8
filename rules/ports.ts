/** Port lists for rule modules: one port, a list, or an inclusive range. */
import type { OptionCheck } from './options.ts';

export type PortList = number | readonly number[] | { readonly from: number; readonly to: number };

const isPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535;

/** A matcher for the port list in option `option`, or null for "any" (none given). */
export function portMatcher(check: OptionCheck, option: string, ports: unknown): ((port: number) => boolean) | null {
  if (ports === undefined) return null;
  const port = (p: unknown, where: string): number => {
    if (!isPort(p)) check.fail(where, `must be a port, an integer from 0 to 65535, not ${typeof p === 'string' ? `'${p}'` : String(p)}`);
    return p;
  };
  if (typeof ports === 'number') {
    const only = port(ports, option);
    return (p) => p === only;
  }
  if (Array.isArray(ports)) {
    if (ports.length === 0) check.fail(option, 'is an empty list, which matches no port; leave it out to match any port');
    const set = new Set(ports.map((p: unknown, i) => port(p, `${option}[${i}]`)));
    return (p) => set.has(p);
  }
  const range = check.keys(option, ports, ['from', 'to']);
  const from = port(range.from, `${option}.from`);
  const to = port(range.to, `${option}.to`);
  if (to < from) check.fail(option, `is the range ${from}-${to}, which is empty`);
  return (p) => p >= from && p <= to;
}
