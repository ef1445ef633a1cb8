/* global process, URL */
// `npm run build`: compiles palisade to dist/ (tsconfig.build.json), then copies the modules that
// are plain JavaScript on purpose (loader hooks and watchdog threads, which must start without
// tsx) with their hand-written declarations.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
for (const f of readdirSync(`${root}core`, { recursive: true, encoding: 'utf8' })) {
  if (/\.(js|d\.ts)$/.test(f)) cpSync(`${root}core/${f}`, `${root}dist/core/${f}`);
}
