#!/usr/bin/env node
/* global process */
// The installed entry point: palisade's compiled code (dist/, built by `npm run build`, which
// `npm ci` runs as `prepare`). tsx loads only users' .ts rule files, when a command needs them.
try {
  await import('../dist/bin/palisade.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bin/palisade.js')) {
    process.stderr.write('palisade: not built yet: run `npm run build` (npm ci does it)\n');
    process.exitCode = 1;
  } else {
    throw err;
  }
}
