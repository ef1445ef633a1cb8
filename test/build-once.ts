/**
 * vitest globalSetup: the tests that run the CLI (bin/palisade.js) run the compiled build, as an
 * installed palisade does; building first (incrementally: a second or two when nothing changed)
 * means they never test a stale dist/.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['bin/build.js'], { cwd: root, stdio: 'inherit' });
}
