/**
 * Whether two paths name one file (hard links and symbolic links included): an output opened
 * for writing truncates it, so an output that is one of the inputs must be refused before
 * anything is opened.
 */
import { statSync } from 'node:fs';

export function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    // One of them does not exist (yet): not the same file.
    return false;
  }
}
