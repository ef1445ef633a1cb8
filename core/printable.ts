/**
 * Text from a rule file (a rule's name) as it may be shown on a terminal: control characters
 * (C0, DEL, C1) and bidi controls written as JSON writes escapes (`\n`, `\u202e`), so that a
 * name can neither forge a line of output nor reorder what a reader sees (CVE-2021-42574).
 */

// eslint-disable-next-line no-control-regex -- the control characters are what it matches
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
