// Node module resolve hook (module.register): a rule file anywhere on disk that imports
// 'palisade' (or the published name) gets the palisade that is running it, as with a globally
// installed CLI. Rule files are ES modules even where no package.json says "type": "module"
// (e.g. in /etc). A rule file loaded again (`ctl reload`, core/rule-loader.ts) comes with a
// `?load=N` query: its own modules (relative imports, outside node_modules) get the same query,
// so the whole graph is loaded afresh, helper modules too, not only the top file.
// Plain JS: hooks run on their own thread, before tsx can help.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/core/resolve-hook.js beside dist/index.js, or core/resolve-hook.js beside index.ts.
const ext = existsSync(fileURLToPath(new URL('../index.js', import.meta.url))) ? 'js' : 'ts';
const index = new URL(`../index.${ext}`, import.meta.url).href;
const testing = new URL(`../testing.${ext}`, import.meta.url).href;
const rules = new URL(`../rules/index.${ext}`, import.meta.url).href;

const targets = { palisade: index, 'palisade/testing': testing, 'palisade/rules': rules };
const root = new URL(ext === 'js' ? '../../' : '../', import.meta.url);
const name = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).name;
targets[name] = index;
targets[`${name}/testing`] = testing;
targets[`${name}/rules`] = rules;

// palisade's own modules (dist/, or the sources' core/, dissectors/, testing/) are loaded once,
// whatever imports them.
const code = new URL('../', import.meta.url).href;
const isOwn = (href) => href === index || href === testing || /^(core|dissectors|testing|rules)\//.test(href.slice(code.length)) && href.startsWith(code);

export async function resolve(specifier, context, nextResolve) {
  const target = targets[specifier];
  if (target !== undefined) return { url: target, format: 'module', shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith('file:') || resolved.url.includes('/node_modules/') || isOwn(resolved.url)) return resolved;
  const url = new URL(resolved.url);
  const load = context.parentURL?.startsWith('file:') ? new URL(context.parentURL).searchParams.get('load') : null;
  if (load !== null && !url.searchParams.has('load')) url.searchParams.set('load', load);
  return /\.m?ts$/.test(url.pathname) ? { ...resolved, url: url.href, format: 'module' } : { ...resolved, url: url.href };
}
