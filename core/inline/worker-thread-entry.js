// Only for palisade's TypeScript sources (the compiled build starts the worker's module itself):
// the entry of a `palisade run --queues` worker thread: the same loaders as bin/palisade.js
// (TypeScript through tsx, 'palisade' in rule files resolving to this palisade), then the worker.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('../resolve-hook.js', import.meta.url);
globalThis[Symbol.for('palisade.loaders')] = true; // core/rule-loader.ts: registered already
await import('./worker-thread.ts');
