/**
 * The match an expect.json entry makes against a record: objects by the keys the entry names
 * (deep), arrays element by element with the same length, everything else by equality. An
 * entry says what matters and leaves the rest (ids, timestamps) out.
 */
export function partialMatch(expected: unknown, actual: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => partialMatch(e, actual[i]));
  }
  if (isObject(expected)) {
    if (!isObject(actual) || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([k, v]) => Object.hasOwn(actual, k) && partialMatch(v, actual[k]));
  }
  return Object.is(expected, actual);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
