/* global process, URL */
// `npm run build`: compiles palisade to dist/ (tsconfig.build.json), then copies the modules that
// are plain JavaScript on purpose (loader hooks and watchdog threads, which must start without
// tsx) with their hand-written declarations.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
for (const f of readdirSync(`${root}core`, { recursive: true, encoding: 'utf8' })) {
  if (/\.(js|d\.ts)$/.test(f)) cpSync(`${root}core/${f}`, `${root}dist/core/${f}`);
}

// A module moved or deleted in the sources leaves its old output behind (tsc never removes any):
// it goes, so that nothing can import a module that no longer exists and still run.
for (const f of readdirSync(`${root}dist`, { recursive: true, encoding: 'utf8' })) {
  const m = /^(.*?)(\.d\.ts|\.js|\.js\.map|\.d\.ts\.map)$/.exec(f);
  if (m === null || f.startsWith('node_modules')) continue;
  const base = m[1];
  if (!existsSync(`${root}${base}.ts`) && !existsSync(`${root}${base}.js`) && !existsSync(`${root}${base}.d.ts`)) rmSync(`${root}dist/${f}`);
}
