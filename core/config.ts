/**
 * Limits and policies, with defaults. The schema below is the single source: `loadConfig`
 * validates against it, errors name the key and the allowed values, and docs/config.md lists
 * every key (a test keeps the two in step).
 */
import { readFileSync } from 'node:fs';
import { configError, fileNotFound } from './errors.ts';

export interface Config {
  /** `auto` (Suricata's default) checks the first packets and stops when most fail, as offloaded captures do. */
  checksumValidation: 'auto' | 'always' | 'never';
  badChecksumPolicy: 'accept' | 'drop';
  /** Packets whose headers cannot be dissected. */
  malformedPolicy: 'accept' | 'drop';
  /** The verdict for a packet whose rule threw. */
  ruleErrorPolicy: 'accept' | 'drop';
  fragments: { timeout: number; maxDatagrams: number; memcap: number };
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

type Leaf =
  | { key: string; kind: 'enum'; values: readonly string[]; default: string; doc: string }
  | { key: string; kind: 'number'; min: number; max: number; integer: boolean; default: number; doc: string };

/** Every key, dotted for nested objects. */
export const configSchema: readonly Leaf[] = [
  {
    key: 'checksumValidation',
    kind: 'enum',
    values: ['auto', 'always', 'never'],
    default: 'auto',
    doc: 'Verify IPv4/TCP/UDP/ICMP checksums. `auto` verifies the first 1000 transport packets and turns verification off if more than 10% are bad (checksum offload on the capturing host).',
  },
  {
    key: 'badChecksumPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'accept',
    doc: 'What happens to a packet with a bad checksum while verification is on. It is always counted as an anomaly; rules still see it when accepted.',
  },
  {
    key: 'malformedPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'drop',
    doc: 'What happens to a frame whose link, IP or transport header cannot be dissected (counted as an anomaly either way). Fail-closed by default, as Haka.',
  },
  {
    key: 'ruleErrorPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'drop',
    doc: 'The verdict for a packet whose rule threw. `drop` is fail-closed, as Haka.',
  },
  {
    key: 'fragments.timeout',
    kind: 'number',
    min: 1,
    max: 600,
    integer: false,
    default: 30,
    doc: 'Seconds an incomplete IP datagram waits for its fragments (Linux ipfrag_time); its fragments are then dropped.',
  },
  {
    key: 'fragments.maxDatagrams',
    kind: 'number',
    min: 1,
    max: 1_000_000,
    integer: true,
    default: 4096,
    doc: 'Datagrams reassembled at once; fragments past it are dropped (anomaly fragment-memcap).',
  },
  {
    key: 'fragments.memcap',
    kind: 'number',
    min: 65_536,
    max: 4 * 1024 ** 3,
    integer: true,
    default: 32 * 1024 * 1024,
    doc: 'Bytes of fragment data held at once; fragments past it are dropped (anomaly fragment-memcap).',
  },
  {
    key: 'logLevel',
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    doc: 'Level of the `log` logger handed to rule files.',
  },
];

export function defaultConfig(): Config {
  return fromLeaves(new Map());
}

function fromLeaves(values: Map<string, unknown>): Config {
  const out: Record<string, unknown> = {};
  for (const leaf of configSchema) {
    const parts = leaf.key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] as string] = values.has(leaf.key) ? values.get(leaf.key) : leaf.default;
  }
  return out as unknown as Config;
}

/** Validates a parsed JSON value (or a partial config in library use); `source` names it in errors. */
export function validateConfig(input: unknown, source = 'config'): Config {
  const values = new Map<string, unknown>();
  walk(input, '', source, values);
  return fromLeaves(values);
}

function walk(node: unknown, prefix: string, source: string, values: Map<string, unknown>): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw configError(source, prefix || '(top level)', 'must be an object');
  }
  for (const [name, value] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const leaf = configSchema.find((l) => l.key === key);
    if (leaf) {
      checkLeaf(leaf, value, source);
      values.set(key, value);
      continue;
    }
    if (configSchema.some((l) => l.key.startsWith(`${key}.`))) {
      walk(value, key, source, values);
      continue;
    }
    const known = [...new Set(configSchema.map((l) => (prefix ? l.key : (l.key.split('.')[0] ?? ''))))]
      .filter((k) => !prefix || k.startsWith(`${prefix}.`))
      .join(', ');
    throw configError(source, key, `is not a known key (known: ${known})`);
  }
}

function checkLeaf(leaf: Leaf, value: unknown, source: string): void {
  if (leaf.kind === 'enum') {
    if (typeof value !== 'string' || !leaf.values.includes(value)) {
      throw configError(source, leaf.key, `is ${JSON.stringify(value)}; allowed values: ${leaf.values.join(', ')}`);
    }
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < leaf.min || value > leaf.max) {
    throw configError(source, leaf.key, `is ${JSON.stringify(value)}; expected a number from ${leaf.min} to ${leaf.max}`);
  }
  if (leaf.integer && !Number.isInteger(value)) {
    throw configError(source, leaf.key, `is ${value}; expected an integer`);
  }
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw fileNotFound('config file', path);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw configError(path, '(top level)', `is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(parsed, path);
}
