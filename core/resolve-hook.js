// Node module resolve hook (module.register): a rule file anywhere on disk that imports
// 'palisade' gets the palisade that is running it, as with a globally installed CLI. Rule
// files are ES modules even where no package.json says "type": "module" (e.g. in /etc).
// Plain JS: hooks run on their own thread, before tsx can help.
const targets = {
  palisade: new URL('../index.ts', import.meta.url).href,
  'palisade/testing': new URL('../testing.ts', import.meta.url).href,
};

export async function resolve(specifier, context, nextResolve) {
  const url = targets[specifier];
  if (url !== undefined) return { url, format: 'module', shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (/\.m?ts$/.test(new URL(resolved.url).pathname) && !resolved.url.includes('/node_modules/')) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
