/**
 * Which directories `palisade test dir…` runs: a directory holding expect.json is a case;
 * any other is searched, its subdirectories in name order, so `palisade test samples` finds
 * every sample. node_modules and dot-directories are never searched.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileNotFound } from '../errors.ts';
import { CASE_FILE } from './case-file.ts';

export function findCases(dirs: readonly string[]): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {
      // Reported below, as a missing directory.
    }
    if (!isDir) throw fileNotFound('case directory', dir);
    walk(dir, found, seen);
  }
  return found;
}

function walk(dir: string, found: string[], seen: Set<string>): void {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.name === CASE_FILE && e.isFile())) {
    const key = resolve(dir);
    if (!seen.has(key)) found.push(dir);
    seen.add(key);
    return;
  }
  // Symbolic links are not followed (Dirent.isDirectory() is false for them): no cycles.
  const subdirs = entries
    .filter((e) => e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const name of subdirs) walk(join(dir, name), found, seen);
}
