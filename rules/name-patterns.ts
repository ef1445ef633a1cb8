/**
 * Name lists for rule modules: exact names ('www.example.com') and zones ('*.example.com': the
 * name example.com and every name below it, as `dns.inZone`), compared as DNS compares names:
 * ASCII case ignored, a final dot ignored, label by label ('badexample.com' is not in
 * '*.example.com', nor is 'a\.example.com', one label 'a.example').
 *
 * A lookup walks the name's own suffixes against a set, so a list of a hundred thousand zones
 * costs what a list of one does.
 */
import type { OptionCheck } from './options.ts';

export type NameList = readonly string[];

/** The entry that matched (as written in the list), or undefined. */
export type NameMatcher = (name: string) => string | undefined;

/** Characters a list entry may not hold: a URL, a port, a space or a wildcard inside it is a mistake. */
const notInName = /[\s/@*]|:\d+$/;

/** A matcher for the list in option `option`, or null when the option is not given. */
export function nameMatcher(check: OptionCheck, option: string, list: unknown): NameMatcher | null {
  if (list === undefined) return null;
  const entries = check.list(option, list);
  if (entries.length === 0) check.fail(option, 'is an empty list, which matches no name; leave it out');
  const exact = new Map<string, string>();
  const zones = new Map<string, string>();
  entries.forEach((entry, i) => {
    const where = `${option}[${i}]`;
    const text = check.text(where, entry);
    const zone = text.startsWith('*.');
    // An IPv6 literal as a Host field writes it: '[fd00::1]'.
    const bare = /^\[.*\]$/.test(text) ? text.slice(1, -1) : text;
    const name = withoutFinalDot(zone ? text.slice(2) : bare).toLowerCase();
    const ipv6 = !zone && /^[0-9a-f]*:[0-9a-f:.]*$/.test(name);
    if (name === '' || (!ipv6 && (notInName.test(name) || labels(name).some((l) => l === '')))) {
      check.fail(where, `must be a name ('www.example.com') or a zone ('*.example.com'), not '${text}'`);
    }
    // The first entry of a name is the one alerts name.
    if (zone) {
      if (!zones.has(name)) zones.set(name, text);
    } else if (!exact.has(name)) {
      exact.set(name, text);
    }
  });
  return (raw) => {
    const name = withoutFinalDot(raw).toLowerCase();
    if (name === '') return undefined;
    const hit = exact.get(name) ?? zones.get(name);
    if (hit !== undefined || zones.size === 0) return hit;
    for (let i = 0; i < name.length; i++) {
      if (isLabelDot(name, i)) {
        const z = zones.get(name.slice(i + 1));
        if (z !== undefined) return z;
      }
    }
    return undefined;
  };
}

/** The labels of a name in text form, split on the dots that are not escaped. */
function labels(name: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < name.length; i++) {
    if (isLabelDot(name, i)) {
      out.push(name.slice(from, i));
      from = i + 1;
    }
  }
  out.push(name.slice(from));
  return out;
}

/** `s[i]` is '.' ending a label: not escaped by an odd run of backslashes before it. */
function isLabelDot(s: string, i: number): boolean {
  if (s[i] !== '.') return false;
  let slashes = 0;
  for (let j = i - 1; j >= 0 && s[j] === '\\'; j--) slashes++;
  return slashes % 2 === 0;
}

function withoutFinalDot(name: string): string {
  return name.length > 1 && isLabelDot(name, name.length - 1) ? name.slice(0, -1) : name;
}
