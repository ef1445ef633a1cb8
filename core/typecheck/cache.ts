/**
 * The type-check cache: a rule file's result, kept with a fingerprint of every file its types
 * depend on (the content of the user's own files; size and mtime of palisade's declarations and
 * of node_modules). An unchanged rule set then loads no compiler. Keyed by the rule file, the
 * palisade and TypeScript versions and the cache format. The cache lives in $PALISADE_CACHE_DIR,
 * else $XDG_CACHE_HOME/palisade, else ~/.cache/palisade; a cache that cannot be read or written
 * is only a slower start.
 *
 * Root often runs palisade with a user's cache (theirs by one of those variables, or a HOME kept
 * under sudo), so the cache trusts nothing a user could have put there: a directory another user
 * owns or can write to is not used; entries are written under random names with O_EXCL |
 * O_NOFOLLOW and renamed into place, and read with O_NOFOLLOW, so a planted link is neither
 * written through nor believed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { isOwnCode, packageRoot, version } from '../package.ts';
import { privateDirProblem } from '../private-dir.ts';
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

function entryPath(dir: string, ruleFile: string): string {
  typescriptVersion ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256')
    .update(JSON.stringify([FORMAT, version, packageRoot, typescriptVersion, resolve(ruleFile)]))
    .digest('hex')
    .slice(0, 32);
  return join(dir, `${key}.json`);
}

const warned = new Set<string>();

/** The directory entries live in, made if missing; undefined (with a warning, once) if it is not private. */
function entryDir(): string | undefined {
  const top = cacheDir();
  const dir = join(top, 'typecheck');
  // A read-only home is only a slower start. The top is checked before anything is made in it:
  // nothing is created through a planted link.
  if (!made(top, true)) return undefined;
  let problem = privateDirProblem(top);
  if (problem === null) {
    if (!made(dir, false)) return undefined;
    problem = privateDirProblem(dir);
  }
  if (problem === null) return dir;
  if (!warned.has(problem)) {
    warned.add(problem);
    process.stderr.write(`palisade: warning: the type-check cache is not used (each check compiles again): ${problem}; or set PALISADE_CACHE_DIR to a directory of your own\n`);
  }
  return undefined;
}

/** Whether `dir` exists, made (private) if it did not. */
function made(dir: string, recursive: boolean): boolean {
  try {
    mkdirSync(dir, { recursive, mode: 0o700 });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EEXIST';
  }
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

/** An entry's text, if it is a plain file of this user's that only it could have written. */
function readEntry(path: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in its place must not hang the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? st.uid;
    // nlink 1: not a hard link to another file of this user's.
    if (!st.isFile() || st.uid !== uid || st.nlink !== 1 || (st.mode & 0o022) !== 0) return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The cached diagnostics, if every file the result depends on is unchanged. */
export function lookup(ruleFile: string): TypeDiagnostic[] | undefined {
  const dir = entryDir();
  if (dir === undefined) return undefined;
  const text = readEntry(entryPath(dir, ruleFile));
  if (text === undefined) return undefined;
  let entry: Entry;
  try {
    entry = JSON.parse(text) as Entry;
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
  const dir = entryDir();
  if (dir === undefined) return;
  const path = entryPath(dir, ruleFile);
  // A name no one can guess, made only if nothing (no link) is there: the rename then replaces
  // whatever is at `path`, a link included, without following it.
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, JSON.stringify({ files: prints, diagnostics } satisfies Entry));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    // A read-only home or a full disk: the next run checks again.
    try {
      unlinkSync(tmp);
    } catch {
      // Never made.
    }
  }
}
