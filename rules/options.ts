/**
 * A rule module's options, checked when the rule file installs it. Rule files are type-checked,
 * but `--no-typecheck`, a cast or a JSON-fed list gets past the types; and a firewall entry
 * with a misspelt key (`client:`) would allow any client. So each module checks its options
 * itself and stops the load with PAL_ERR_RULE_INVALID naming the rule file and line that
 * installed it, the module and the option, as the engine names a rule it cannot load:
 *
 *   rules.ts:5: portScan 'port-scan': threshold must be a positive integer, not 0
 */
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PalisadeError, type AlertLevel } from '../index.ts';

/**
 * The file and line that called into a rule module: the first stack frame outside this folder.
 * The folder is read from the stack too (its first frame is this function): with source maps
 * on, as under tsx, frames of the compiled dist/rules/ show as the sources' rules/.
 */
function installedAt(): string | null {
  let own: string | null = null;
  for (const raw of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):\d+\)?$/.exec(raw.trim());
    if (!m?.[1] || !m[2]) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    own ??= dirname(file);
    if (dirname(file) === own || file.startsWith('node:')) continue;
    const rel = relative(process.cwd(), file);
    return `${rel.startsWith('..') ? file : rel}:${m[2]}`;
  }
  return null;
}

/** `'a', 'b' or 'c'` */
function choices(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  return shown.length < 2 ? shown.join('') : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1) ?? ''}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof RegExp) return String(value);
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RegExp);
}

const levels: readonly AlertLevel[] = ['low', 'medium', 'high'];

/** The checks of one installed module; every failure names the module, its name and the option. */
export class OptionCheck {
  readonly name: string;
  readonly #where: string;

  /**
   * Checks that `options` is an object with only `known` keys and a usable `name` (default
   * `defaultName`).
   */
  constructor(module: string, defaultName: string, options: unknown, known: readonly string[]) {
    const at = installedAt();
    const given = isObject(options) ? options.name : undefined;
    this.#where = `${at === null ? '' : `${at}: `}${module} '${typeof given === 'string' && given !== '' ? given : defaultName}'`;
    if (!isObject(options)) this.fail('options', `must be an object, not ${show(options)}`);
    this.keys('options', options, known);
    this.name = this.text('name', given, defaultName);
  }

  /** Stops the load: `<file>:<line>: <module> '<name>': <option> <problem>`. */
  fail(option: string, problem: string): never {
    throw new PalisadeError('PAL_ERR_RULE_INVALID', `${this.#where}: ${option} ${problem}`);
  }

  /** An object whose keys are all `known` (a misspelt key must not silently mean "any"). */
  keys(option: string, value: unknown, known: readonly string[]): Record<string, unknown> {
    if (!isObject(value)) this.fail(option, `must be an object, not ${show(value)}`);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail(option, `has no option '${key}' (${option === 'options' ? 'the options are' : 'its options are'} ${known.join(', ')})`);
    }
    return value;
  }

  list(option: string, value: unknown): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(option, `must be a list, not ${show(value)}`);
    return value as readonly unknown[];
  }

  text(option: string, value: unknown, fallback?: string): string {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value === '') this.fail(option, `must be a non-empty string, not ${show(value)}`);
    return value;
  }

  flag(option: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(option, `must be true or false, not ${show(value)}`);
    return value;
  }

  oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (!(allowed as readonly unknown[]).includes(value)) this.fail(option, `must be ${choices(allowed)}, not ${show(value)}`);
    return value as T;
  }

  severity(value: unknown, fallback: AlertLevel): AlertLevel {
    return this.oneOf('severity', value, levels, fallback);
  }

  /** A number > 0 (or >= 0 with `zero`), finite, an integer unless `fractions`. */
  count(option: string, value: unknown, fallback: number | undefined, kind: { zero?: boolean; fractions?: boolean } = {}): number {
    if (value === undefined && fallback !== undefined) return fallback;
    const ok = typeof value === 'number' && Number.isFinite(value) && (kind.zero === true ? value >= 0 : value > 0) && (kind.fractions === true || Number.isInteger(value));
    if (!ok) this.fail(option, `must be a ${kind.zero === true ? 'non-negative' : 'positive'} ${kind.fractions === true ? 'number' : 'integer'}, not ${show(value)}`);
    return value;
  }
}
