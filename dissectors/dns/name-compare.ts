/**
 * Comparing names as DNS does: ASCII letters without case (RFC 4343 §3), label by label. The
 * parser keeps names as sent, so that a rule can see 0x20 randomisation or a spoofed answer
 * whose case differs from the question; a rule matching a name uses these instead of `===`.
 *
 * They take names in the text form of names.ts, where every byte outside printable ASCII is a
 * `\DDD` escape: lower-casing that text folds A-Z and nothing else, exactly RFC 4343's
 * comparison. A final dot on either side is ignored ('example.com.' is 'example.com').
 */

/** The same name, ignoring ASCII case and a final dot. */
export function sameName(a: string, b: string): boolean {
  const x = withoutFinalDot(a);
  const y = withoutFinalDot(b);
  return x.length === y.length && x.toLowerCase() === y.toLowerCase();
}

/**
 * `name` is `zone` or below it, label-wise: 'www.example.com' and 'example.com' are in
 * 'example.com', 'badexample.com' and 'a\.example.com' (one label 'a.example') are not.
 * Every name is in the root, '.'.
 */
export function inZone(name: string, zone: string): boolean {
  const n = withoutFinalDot(name).toLowerCase();
  const z = withoutFinalDot(zone).toLowerCase();
  if (z === '') return true;
  if (n.length === z.length) return n === z;
  if (n.length < z.length + 1 || !n.endsWith(z)) return false;
  return isLabelDot(n, n.length - z.length - 1);
}

/** `s[i]` is '.' ending a label: not escaped by an odd run of backslashes before it. */
function isLabelDot(s: string, i: number): boolean {
  if (s[i] !== '.') return false;
  let slashes = 0;
  for (let j = i - 1; j >= 0 && s[j] === '\\'; j--) slashes++;
  return slashes % 2 === 0;
}

function withoutFinalDot(name: string): string {
  return name.length > 0 && isLabelDot(name, name.length - 1) ? name.slice(0, -1) : name;
}
