import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Rule files import 'palisade'; in tests that must be this checkout's source, the same
    // module instance the engine under test uses.
    alias: {
      'palisade/testing': fileURLToPath(new URL('./testing.ts', import.meta.url)),
      'palisade/rules': fileURLToPath(new URL('./rules/index.ts', import.meta.url)),
      palisade: fileURLToPath(new URL('./index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-once.ts'],
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 30_000,
    pool: 'forks',
  },
});
