/**
 * One-line JSON with a space after each colon and comma (`{"to": "client", "flags": "R"}`): how
 * expect.json entries and diff lines show a record, easy to read and to paste back.
 */
export function compactJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => compactJson(v === undefined ? null : v)).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}: ${compactJson(v)}`).join(', ')}}`;
  }
  // undefined (or a function) has no JSON form; null is what JSON.stringify puts in arrays for it.
  const text = JSON.stringify(value) as string | undefined;
  return text ?? 'null';
}
