#!/usr/bin/env node
// The installed entry point: palisade runs from its TypeScript sources through tsx, the same
// loader that lets rule authors write .ts files with no build step.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('../core/resolve-hook.js', import.meta.url);
await import('./palisade.ts');
