// Only for palisade's TypeScript sources (the compiled build starts the thread's module itself):
// the entry of a `ctl reload`'s vetting thread: the same loaders as bin/palisade.js (TypeScript
// through tsx, 'palisade' in rule files resolving to this palisade), then the vet.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('../resolve-hook.js', import.meta.url);
globalThis[Symbol.for('palisade.loaders')] = true; // core/rule-loader.ts: registered already
await import('./worker-vet.ts');
