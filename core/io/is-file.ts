import { statSync } from 'node:fs';

/** A regular file that exists (through a symbolic link too): not a directory, not missing. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
