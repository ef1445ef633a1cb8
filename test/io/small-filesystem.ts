/**
 * A real full disk for output tests: a tmpfs of a few MiB mounted in a fresh directory (the
 * tests run as root). Unmounted and removed by the returned function, also after a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFilesystem {
  dir: string;
  unmount(): void;
}

export function mountSmallFilesystem(size: string): SmallFilesystem {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    unmount: () => {
      // Lazily (-l): a file a failed test left open must not keep the mount.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
