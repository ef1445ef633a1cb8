/**
 * expect.json, the file that makes a directory a `palisade test` case: what to replay (rules,
 * capture, config) and what must come out (alerts, dropped frames, injected packets, flows,
 * logs, anomaly counts). Read strictly, so that a misspelled key fails loudly instead of
 * checking nothing; written deterministically by `--update`.
 */
import { readFileSync } from 'node:fs';
import { isFile } from '../io/is-file.ts';
import { join } from 'node:path';
import { validateConfig } from '../config.ts';
import { caseError } from '../errors.ts';
import { compactJson } from './compact-json.ts';
import { isObject } from './partial-match.ts';

export type Fields = Record<string, unknown>;

/** An alert entry: fields an alert must have, and how many alerts have them (default 1). */
export interface AlertEntry extends Fields {
  count?: number;
}

/** A crafted packet: `to` the client or the server, with its TCP flags and the frame it followed. */
export interface InjectedEntry extends Fields {
  to: 'client' | 'server';
  flags?: string;
  after?: number;
}

export interface Expectation {
  alerts?: AlertEntry[];
  dropped?: number[];
  injected?: InjectedEntry[];
  flows?: Fields[];
  logs?: Fields[];
  anomalies?: Record<string, number>;
}

export interface CaseFile extends Expectation {
  description?: string;
  rules?: string;
  capture?: string;
  config?: Fields;
}

/** A case ready to run: its file, and the rule file and capture it resolves to. */
export interface Case {
  /** The case directory, as found (relative to the working directory when given so). */
  dir: string;
  /** Its expect.json. */
  file: string;
  spec: CaseFile;
  rules: string;
  capture: string;
}

export const CASE_FILE = 'expect.json';
const SETUP_KEYS = ['description', 'rules', 'capture', 'config'] as const;
export const EXPECTATION_KEYS = ['alerts', 'dropped', 'injected', 'flows', 'logs', 'anomalies'] as const;
const KNOWN_KEYS: readonly string[] = [...SETUP_KEYS, ...EXPECTATION_KEYS];
/** What an injected entry may name: the fields palisade decodes from a crafted packet. */
export const INJECTED_KEYS = ['to', 'flags', 'after', 'seq', 'ack', 'window', 'ttl', 'vlan'] as const;
const DEFAULT_RULES = 'rules.ts';
const DEFAULT_CAPTURES = ['input.pcap', 'input.pcapng'];

/**
 * Reads and checks `dir`/expect.json. A case with no expectation at all is an error unless
 * `update` (a new case: `--update` writes its first expectation).
 */
export function readCase(dir: string, options: { update: boolean }): Case {
  const file = join(dir, CASE_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw caseError(file, `is not valid JSON: ${(err as Error).message}`);
  }
  const spec = checkCaseFile(file, parsed);
  if (!options.update && !EXPECTATION_KEYS.some((k) => spec[k] !== undefined)) {
    throw caseError(file, `expects nothing; give at least one of ${EXPECTATION_KEYS.join(', ')} (or run with --update to write them)`);
  }
  if (spec.config !== undefined) validateConfig(spec.config, `${file} (config)`);

  const rules = join(dir, spec.rules ?? DEFAULT_RULES);
  if (!isFile(rules)) throw caseError(file, `rule file '${spec.rules ?? DEFAULT_RULES}' (${rules}) does not exist; put rules.ts in the case directory or name one with "rules"`);
  let capture: string | undefined;
  if (spec.capture !== undefined) {
    capture = join(dir, spec.capture);
    if (!isFile(capture)) throw caseError(file, `capture '${spec.capture}' (${capture}) does not exist`);
  } else {
    capture = DEFAULT_CAPTURES.map((name) => join(dir, name)).find(isFile);
    if (capture === undefined) throw caseError(file, `has no capture; put input.pcap or input.pcapng in the case directory or name one with "capture"`);
  }
  return { dir, file, spec, rules, capture };
}

function checkCaseFile(file: string, v: unknown): CaseFile {
  if (!isObject(v) || Array.isArray(v)) throw caseError(file, 'must hold a JSON object');
  for (const key of Object.keys(v)) {
    if (!KNOWN_KEYS.includes(key)) throw caseError(file, `unknown key '${key}'; a case knows ${KNOWN_KEYS.join(', ')}`);
  }
  // A declaration with `never`, so that TypeScript narrows after each check.
  function bad(key: string, what: string): never {
    throw caseError(file, `'${key}' must be ${what}`);
  }
  for (const key of ['description', 'rules', 'capture'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') bad(key, 'a string');
  }
  if (v.config !== undefined && (!isObject(v.config) || Array.isArray(v.config))) bad('config', 'an object (as a --config file holds)');

  for (const key of ['alerts', 'injected', 'flows', 'logs'] as const) {
    const list = v[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) bad(key, 'an array of objects');
    (list as unknown[]).forEach((entry, i) => {
      if (!isObject(entry) || Array.isArray(entry)) bad(`${key}[${i}]`, 'an object');
    });
  }
  (v.alerts as Fields[] | undefined)?.forEach((entry, i) => {
    if (entry.count !== undefined && !isCount(entry.count, 1)) bad(`alerts[${i}].count`, 'a whole number from 1 up');
  });
  (v.injected as Fields[] | undefined)?.forEach((entry, i) => {
    const unknown = Object.keys(entry).find((k) => !(INJECTED_KEYS as readonly string[]).includes(k));
    if (unknown !== undefined) throw caseError(file, `'injected[${i}]' has unknown key '${unknown}'; an injected entry knows ${INJECTED_KEYS.join(', ')}`);
    if (entry.to !== 'client' && entry.to !== 'server') bad(`injected[${i}].to`, '"client" or "server"');
    if (entry.flags !== undefined && typeof entry.flags !== 'string') bad(`injected[${i}].flags`, 'TCP flag letters, e.g. "R" or "RA"');
    if (entry.after !== undefined && !isCount(entry.after, 1)) bad(`injected[${i}].after`, 'a frame number (from 1)');
    if (entry.vlan !== undefined && !(Array.isArray(entry.vlan) && entry.vlan.every((id) => isCount(id, 0) && id < 4096))) {
      bad(`injected[${i}].vlan`, 'VLAN ids (0-4095), outermost first, as a list: [100], or [] for untagged');
    }
  });
  if (v.dropped !== undefined) {
    const d = v.dropped;
    if (!Array.isArray(d) || !d.every((n, i) => isCount(n, 1) && (i === 0 || n > (d[i - 1] as number)))) {
      bad('dropped', 'frame numbers (from 1) in ascending order');
    }
  }
  if (v.anomalies !== undefined) {
    if (!isObject(v.anomalies) || Array.isArray(v.anomalies)) bad('anomalies', 'an object of counts by anomaly kind');
    for (const [kind, n] of Object.entries(v.anomalies)) if (!isCount(n, 0)) bad(`anomalies.${kind}`, 'a count (0 or more)');
  }
  return v;
}

function isCount(n: unknown, min: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= min;
}

/**
 * expect.json as `--update` writes it: keys in a fixed order, two-space indent, one line per
 * list entry, so a review sees one changed line per changed alert, packet or flow.
 */
export function formatCaseFile(spec: CaseFile): string {
  const lines: string[] = [];
  for (const key of KNOWN_KEYS) {
    const value = spec[key as keyof CaseFile];
    if (value === undefined) continue;
    let text: string;
    if (key === 'config') text = JSON.stringify(value, null, 2).replaceAll('\n', '\n  ');
    else if (Array.isArray(value) && key !== 'dropped' && value.length > 0) text = `[\n${value.map((e) => `    ${compactJson(e)}`).join(',\n')}\n  ]`;
    else text = compactJson(value);
    lines.push(`  ${JSON.stringify(key)}: ${text}`);
  }
  return `{\n${lines.join(',\n')}\n}\n`;
}
