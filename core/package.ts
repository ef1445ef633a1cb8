/**
 * palisade's own package on disk: where it is, its version, and whether this is the compiled
 * build (dist/, what npm installs) or the TypeScript sources (a checkout run by tsx or vitest).
 * Paths are found from this module's location, so they hold in both layouts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** True when running dist/ (JavaScript compiled by `npm run build`). */
export const compiled = import.meta.url.endsWith('.js');

/** The folder that holds palisade's package.json. */
export const packageRoot = findRoot(here);

/** Where the compiled or source tree starts: dist/ in the build, the package root otherwise. */
export const codeRoot = dirname(here);

export const packageJson = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string };

export const version = packageJson.version;

/** The names a rule file may import palisade by: the short one, and the published one. */
export const importNames = ['palisade', ...(packageJson.name === 'palisade' ? [] : [packageJson.name])];

/** The public entry points' type declarations (dist's .d.ts, or the sources themselves). */
export function publicTypes(entry: 'index' | 'testing' | 'rules/index'): string {
  return join(codeRoot, compiled ? `${entry}.d.ts` : `${entry}.ts`);
}

/** A file of palisade's own code: dist/, or the sources' core/, dissectors/, testing/, rules/ and entry points. */
export function isOwnCode(file: string): boolean {
  const rel = relative(codeRoot, file);
  return /^(core|dissectors|testing|rules)\/|^(index|testing)\.(d\.)?[jt]s$/.test(rel);
}

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) throw new Error(`palisade: no package.json above ${dir}`);
  }
}
