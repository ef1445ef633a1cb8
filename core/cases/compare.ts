/**
 * Checks a case's expectations against what the replay did, and says what differs as a diff:
 * `-` what expect.json says, `+` what happened, one line per alert, packet, flow or log line,
 * each shown as compact JSON that can be pasted back into expect.json.
 */
import type { AlertRecord } from '../alert.ts';
import type { AlertEntry, Expectation, Fields } from './case-file.ts';
import { compactJson } from './compact-json.ts';
import type { Observed } from './observed.ts';
import { partialMatch } from './partial-match.ts';
import { sequenceDiff } from './sequence-diff.ts';
import { alertSummary, flowSummary, injectedSummary, logSummary } from './snapshot.ts';

/** One expectation key that failed, with its diff lines. */
export interface Mismatch {
  key: keyof Expectation;
  lines: string[];
}

/** Every expectation key `expected` names, checked; an empty list means the case passes. */
export function compare(expected: Expectation, observed: Observed): Mismatch[] {
  const out: Mismatch[] = [];
  const add = (key: keyof Expectation, lines: string[]): void => {
    if (lines.length > 0) out.push({ key, lines });
  };
  if (expected.alerts) add('alerts', compareAlerts(expected.alerts, observed.alerts));
  if (expected.dropped) add('dropped', compareDropped(expected.dropped, observed.dropped));
  if (expected.injected) add('injected', compareList(expected.injected, observed.injected, injectedSummary));
  if (expected.flows) add('flows', compareList(expected.flows, observed.flows as unknown as Fields[], flowSummary));
  if (expected.logs) add('logs', compareList(expected.logs, observed.logs, logSummary));
  if (expected.anomalies) add('anomalies', compareAnomalies(expected.anomalies, observed.anomalies));
  return out;
}

/** A record as a `+` line shows it: its summary plus every field the expected entries name. */
function shown(record: Fields, summary: Fields, named: ReadonlySet<string>): Fields {
  const out: Fields = { ...summary };
  for (const k of named) if (k in record && !(k in out)) out[k] = record[k];
  return out;
}

function namedKeys(entries: readonly Fields[], except?: string): Set<string> {
  const keys = new Set<string>();
  for (const e of entries) for (const k of Object.keys(e)) if (k !== except) keys.add(k);
  return keys;
}

/**
 * Each alert goes to the first entry whose fields it has; each entry must get exactly `count`
 * alerts (default 1), and every alert must go to some entry.
 */
function compareAlerts(entries: readonly AlertEntry[], alerts: readonly AlertRecord[]): string[] {
  const fieldsOf = entries.map((entry) => {
    const fields: Fields = { ...entry };
    delete fields.count;
    return fields;
  });
  const matched = entries.map(() => 0);
  const unmatched: AlertRecord[] = [];
  for (const a of alerts) {
    const i = fieldsOf.findIndex((f) => partialMatch(f, a));
    if (i < 0) unmatched.push(a);
    else matched[i] = (matched[i] ?? 0) + 1;
  }
  const lines: string[] = [];
  entries.forEach((entry, i) => {
    const want = entry.count ?? 1;
    const got = matched[i] ?? 0;
    if (got === want) return;
    lines.push(`- ${compactJson(entry)}`);
    lines.push(got === 0 ? '+ (no alert has these fields)' : `+ ${compactJson({ ...fieldsOf[i], count: got })}`);
  });
  // Unexpected alerts, the same ones on one line with a count, in order of first appearance.
  const named = namedKeys(entries, 'count');
  const groups = new Map<string, { fields: Fields; frames: number[] }>();
  for (const a of unmatched) {
    const fields = shown(a, alertSummary(a), named);
    const key = compactJson(fields);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { fields, frames: [] }));
    if (a.packet !== undefined) g.frames.push(a.packet);
  }
  for (const { fields, frames } of groups.values()) {
    const count = Math.max(frames.length, 1);
    const text = compactJson(count === 1 ? fields : { ...fields, count });
    lines.push(`+ ${text}  (unexpected${frames.length === 0 ? '' : `; frame${frames.length === 1 ? '' : 's'} ${listed(frames)}`})`);
  }
  return lines;
}

function listed(numbers: readonly number[], max = 10): string {
  const head = numbers.slice(0, max).join(', ');
  return numbers.length > max ? `${head}, … (${numbers.length} in all)` : head;
}

function compareDropped(expected: readonly number[], actual: readonly number[]): string[] {
  if (expected.length === actual.length && expected.every((n, i) => n === actual[i])) return [];
  const got = new Set(actual);
  const want = new Set(expected);
  const notDropped = expected.filter((n) => !got.has(n));
  const extra = actual.filter((n) => !want.has(n));
  return [
    `- ${compactJson(expected)}`,
    `+ ${compactJson(actual)}`,
    `  (${notDropped.length > 0 ? `not dropped: ${listed(notDropped)}` : ''}${notDropped.length > 0 && extra.length > 0 ? '; ' : ''}${extra.length > 0 ? `dropped but not expected: ${listed(extra)}` : ''})`,
  ];
}

/** An ordered list of exactly as many records as entries, each matching its entry. */
function compareList(entries: readonly Fields[], records: readonly Fields[], summary: (r: Fields) => Fields): string[] {
  const named = namedKeys(entries);
  const steps = sequenceDiff(entries, records, (e, r) => partialMatch(e, r));
  if (steps.every((s) => s.op === 'same')) return [];
  // Matching entries are shown near a change only, as diff -u keeps a few lines of context.
  const near = steps.map((_, i) => steps.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((s) => s.op !== 'same'));
  const lines: string[] = [];
  let skipped = 0;
  steps.forEach((s, i) => {
    if (s.op === 'same' && !near[i]) {
      skipped++;
      return;
    }
    if (skipped > 0) lines.push(`  … ${skipped} matching`);
    skipped = 0;
    if (s.op === 'same') lines.push(`  ${compactJson(s.expected)}`);
    else if (s.op === 'missing') lines.push(`- ${compactJson(s.expected)}`);
    else lines.push(`+ ${compactJson(shown(s.actual, summary(s.actual), named))}`);
  });
  if (skipped > 0) lines.push(`  … ${skipped} matching`);
  return lines;
}

/** Matching entries shown on each side of a change. */
const CONTEXT = 2;

function compareAnomalies(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const lines: string[] = [];
  for (const [kind, n] of Object.entries(expected)) {
    const got = actual[kind] ?? 0;
    if (got === n) continue;
    lines.push(`- ${compactJson({ [kind]: n })}`, `+ ${compactJson({ [kind]: got })}`);
  }
  return lines;
}
