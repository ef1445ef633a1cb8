/**
 * The expectation `--update` writes from what a replay did: the fields that say what happened
 * and stay the same from run to run (no ids, timestamps or byte counts), so that the file reads
 * well in review and the next run passes.
 */
import type { AlertRecord } from '../alert.ts';
import type { AlertEntry, Expectation, Fields, InjectedEntry } from './case-file.ts';
import { compactJson } from './compact-json.ts';
import type { Observed } from './observed.ts';
import { partialMatch } from './partial-match.ts';

const ALERT_FIELDS = ['rule', 'description', 'severity', 'sources', 'targets'] as const;
const FLOW_FIELDS = ['proto', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'conn_state', 'end_reason'] as const;
const LOG_FIELDS = ['level', 'msg'] as const;

function pick(record: Fields, keys: readonly string[]): Fields {
  const out: Fields = {};
  for (const k of keys) if (record[k] !== undefined) out[k] = record[k];
  return out;
}

/** An alert's significant fields: who raised it, what and against whom, and its connection's ends. */
export function alertSummary(a: AlertRecord): Fields {
  const out = pick(a, ALERT_FIELDS);
  if (a.flow !== undefined) out.flow = { client: a.flow.client, server: a.flow.server };
  return out;
}

export function flowSummary(f: Fields): Fields {
  return pick(f, FLOW_FIELDS);
}

export function logSummary(l: Fields): Fields {
  return pick(l, LOG_FIELDS);
}

export function injectedSummary(p: Fields): InjectedEntry {
  return pick(p, ['to', 'flags', 'after']) as InjectedEntry;
}

/**
 * Alerts with the same significant fields become one entry with a count. An alert matches the
 * first entry whose fields it has, so an entry is placed before any entry whose fields are a
 * subset of its own: each group then counts exactly its own alerts.
 */
export function alertEntries(alerts: readonly AlertRecord[]): AlertEntry[] {
  const groups = new Map<string, { fields: Fields; count: number }>();
  for (const a of alerts) {
    const fields = alertSummary(a);
    const key = compactJson(fields);
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { fields, count: 1 });
  }
  const pending = [...groups.values()];
  const ordered: typeof pending = [];
  while (pending.length > 0) {
    // The first group (in order of first appearance) that no other pending group contains.
    const i = pending.findIndex((g) => !pending.some((h) => h !== g && partialMatch(g.fields, h.fields)));
    const [g] = pending.splice(Math.max(i, 0), 1);
    if (g) ordered.push(g);
  }
  return ordered.map((g) => (g.count === 1 ? g.fields : { ...g.fields, count: g.count }));
}

export function snapshot(observed: Observed): Expectation {
  const out: Expectation = {
    alerts: alertEntries(observed.alerts),
    dropped: observed.dropped,
    injected: observed.injected.map(injectedSummary),
    flows: observed.flows.map((f) => flowSummary(f as unknown as Fields)),
  };
  if (observed.logs.length > 0) out.logs = observed.logs.map(logSummary);
  if (Object.keys(observed.anomalies).length > 0) out.anomalies = Object.fromEntries(Object.entries(observed.anomalies).sort(([a], [b]) => (a < b ? -1 : 1)));
  return out;
}
