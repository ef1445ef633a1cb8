/**
 * The type-check cache: a rule file's result, kept with a fingerprint of every file its types
 * depend on (the content of the user's own files; size and mtime of palisade's declarations and
 * of node_modules). An unchanged rule set then loads no compiler. Keyed by the rule file, the
 * palisade and TypeScript versions and the cache format. The cache lives in $PALISADE_CACHE_DIR,
 * else $XDG_CACHE_HOME/palisade, else ~/.cache/palisade; a cache that cannot be read or written
 * is only a slower start.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { isOwnCode, packageRoot, version } from '../package.ts';
import type { TypeDiagnostic } from './index.ts';

/** Bump when the entry's shape or the compiler options change. */
const FORMAT = 1;

interface Entry {
  files: [path: string, fingerprint: string][];
  diagnostics: TypeDiagnostic[];
}

export function cacheDir(): string {
  const env = process.env;
  if (env.PALISADE_CACHE_DIR) return resolve(env.PALISADE_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'palisade');
}

let typescriptVersion: string | undefined;

function entryPath(ruleFile: string): string {
  typescriptVersion ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256')
    .update(JSON.stringify([FORMAT, version, packageRoot, typescriptVersion, resolve(ruleFile)]))
    .digest('hex')
    .slice(0, 32);
  return join(cacheDir(), 'typecheck', `${key}.json`);
}

function fingerprint(file: string): string | undefined {
  try {
    if (file.includes(`${sep}node_modules${sep}`) || isOwnCode(file)) {
      const st = statSync(file);
      return `${st.size}:${st.mtimeMs}`;
    }
    return createHash('sha256').update(readFileSync(file)).digest('base64');
  } catch {
    return undefined;
  }
}

/** The cached diagnostics, if every file the result depends on is unchanged. */
export function lookup(ruleFile: string): TypeDiagnostic[] | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(entryPath(ruleFile), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  for (const [file, print] of entry.files) if (fingerprint(file) !== print) return undefined;
  return entry.diagnostics;
}

export function store(ruleFile: string, files: readonly string[], diagnostics: TypeDiagnostic[]): void {
  const prints: Entry['files'] = [];
  for (const f of files) {
    const print = fingerprint(f);
    if (print === undefined) return; // a file vanished while checking: do not cache
    prints.push([f, print]);
  }
  const path = entryPath(ruleFile);
  try {
    mkdirSync(join(cacheDir(), 'typecheck'), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ files: prints, diagnostics } satisfies Entry));
    renameSync(tmp, path);
  } catch {
    // A read-only home or a full disk: the next run checks again.
  }
}
