/**
 * Loads a user's rule file. The CLI runs under tsx, so a `.ts` rule file needs no build step;
 * 'palisade' inside it resolves to the running palisade (core/resolve-hook.js).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileNotFound, ruleLoadError } from './errors.ts';
import { isRuleSet, type RuleSet } from './rules.ts';

let generation = 0;

export async function loadRuleFile(path: string): Promise<RuleSet> {
  const abs = resolve(path);
  try {
    if (!statSync(abs).isFile()) throw new Error('not a file');
  } catch {
    throw fileNotFound('rule file', path);
  }
  let mod: { default?: unknown };
  try {
    // A fresh URL per load, so that a reload sees the file's new contents.
    mod = (await import(`${pathToFileURL(abs).href}?load=${++generation}`)) as { default?: unknown };
  } catch (err) {
    throw ruleLoadError(path, `cannot be loaded: ${describe(err)}`, err);
  }
  const set = mod.default;
  if (!isRuleSet(set)) {
    throw ruleLoadError(
      path,
      'its default export is not a rule set; end the file with `export default defineRules(({ rule }) => { … })`',
    );
  }
  return { ...set, source: path };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // esbuild's transform errors carry the location in their first lines; keep the message short.
  return err.message.split('\n').filter((l) => l.trim() !== '').slice(0, 3).join(' ');
}
