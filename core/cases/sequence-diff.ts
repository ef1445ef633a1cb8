/**
 * A diff of two ordered lists under a match relation (a longest common subsequence, as diff(1)
 * does for lines), so that one missing flow shows as one `-` line, not as every later flow
 * being wrong.
 */

export type DiffStep<E, A> =
  | { op: 'same'; expected: E; actual: A }
  | { op: 'missing'; expected: E }
  | { op: 'extra'; actual: A };

/** Past this many cells the table costs too much; pairs are then compared by position. */
const MAX_CELLS = 4_000_000;

export function sequenceDiff<E, A>(expected: readonly E[], actual: readonly A[], match: (e: E, a: A) => boolean): DiffStep<E, A>[] {
  const n = expected.length;
  const m = actual.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) return positional(expected, actual, match);
  // lcs[i * (m + 1) + j]: length of the longest common subsequence of expected[i..] and actual[j..].
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  const same = new Uint8Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const ok = match(expected[i] as E, actual[j] as A);
      same[i * w + j] = ok ? 1 : 0;
      lcs[i * w + j] = ok
        ? (lcs[(i + 1) * w + j + 1] as number) + 1
        : Math.max(lcs[(i + 1) * w + j] as number, lcs[i * w + j + 1] as number);
    }
  }
  const steps: DiffStep<E, A>[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same[i * w + j] === 1 && lcs[i * w + j] === (lcs[(i + 1) * w + j + 1] as number) + 1) {
      steps.push({ op: 'same', expected: expected[i++] as E, actual: actual[j++] as A });
    } else if (i < n && (j === m || (lcs[(i + 1) * w + j] as number) >= (lcs[i * w + j + 1] as number))) {
      steps.push({ op: 'missing', expected: expected[i++] as E });
    } else {
      steps.push({ op: 'extra', actual: actual[j++] as A });
    }
  }
  return steps;
}

function positional<E, A>(expected: readonly E[], actual: readonly A[], match: (e: E, a: A) => boolean): DiffStep<E, A>[] {
  const steps: DiffStep<E, A>[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i];
    const a = actual[i];
    if (i < expected.length && i < actual.length && match(e as E, a as A)) steps.push({ op: 'same', expected: e as E, actual: a as A });
    else {
      if (i < expected.length) steps.push({ op: 'missing', expected: e as E });
      if (i < actual.length) steps.push({ op: 'extra', actual: a as A });
    }
  }
  return steps;
}
