/**
 * Loads a user's rule file. A `.ts` rule file needs no build step: the first load registers
 * tsx (compiled palisade only; the sources already run under tsx or vitest) and the hook that
 * resolves 'palisade' inside rule files to the running palisade (core/resolve-hook.js).
 */
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileNotFound, ruleLoadError } from './errors.ts';
import { isRuleSet, type RuleSet } from './rules.ts';
import { compiled } from './package.ts';
import { isFile } from './io/is-file.ts';

let generation = 0;

/** Set by whoever registered the loaders in this thread (here, or a worker's entry). */
const registered = Symbol.for('palisade.loaders');

/** tsx and the 'palisade' resolve hook, once per thread; only what loads rule files pays for it. */
export async function registerLoaders(): Promise<void> {
  const g = globalThis as { [registered]?: boolean };
  if (g[registered] === true) return;
  g[registered] = true;
  // Every module loaded after a hook is registered is resolved through the hooks thread, a round
  // trip each: palisade's public API is loaded first, so a rule file's 'palisade' finds it ready.
  await import('../index.ts');
  if (compiled) {
    // tsx's hook module itself, as `node --import tsx/esm` registers it: its main-thread API
    // would load esbuild here too, for nothing (the hooks thread transforms). `data` tells the
    // hook it was registered, not given to the deprecated --loader.
    register('tsx/esm', import.meta.url, { data: {} });
    // Rule errors' stacks point into the .ts rule file (and palisade's own .ts, from dist's maps).
    process.setSourceMapsEnabled(true);
  }
  register('./resolve-hook.js', import.meta.url);
}

export async function loadRuleFile(path: string): Promise<RuleSet> {
  const abs = resolve(path);
  if (!isFile(abs)) throw fileNotFound('rule file', path);
  await registerLoaders();
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
