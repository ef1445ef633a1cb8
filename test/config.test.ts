import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, defaultConfig, loadConfigFile, validateConfig } from '../core/config.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-config-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
const configFile = (name: string, text: string): string => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};

describe('config', () => {
  it('docs/config.md documents every key with its allowed values and default', () => {
    const doc = readFileSync(new URL('../docs/config.md', import.meta.url), 'utf8');
    for (const leaf of configSchema) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${leaf.key}\` |`));
      expect(row, leaf.key).toBeDefined();
      expect(row).toContain(`\`${JSON.stringify(leaf.default)}\``);
      if (leaf.kind === 'enum') for (const v of leaf.values) expect(row).toContain(`\`${v}\``);
    }
  });

  it('fills defaults and keeps given values, nested included', () => {
    const c = validateConfig({ ruleErrorPolicy: 'accept', fragments: { timeout: 5 } });
    expect(c.ruleErrorPolicy).toBe('accept');
    expect(c.fragments).toEqual({ ...defaultConfig().fragments, timeout: 5 });
    expect(c.checksumValidation).toBe('auto');
  });

  it('rejects unknown keys, wrong types and values out of range, naming the key', () => {
    expect(() => validateConfig({ rulErrorPolicy: 'drop' })).toThrow(/key 'rulErrorPolicy' is not a known key/);
    expect(() => validateConfig({ fragments: { timeout: 0 } })).toThrow(/key 'fragments.timeout' is 0; expected a number from 1 to 600/);
    expect(() => validateConfig({ fragments: { maxDatagrams: 1.5 } })).toThrow(/expected an integer/);
    expect(() => validateConfig({ fragments: 3 })).toThrow(/key 'fragments' must be an object/);
    expect(() => validateConfig([])).toThrow(/must be an object/);
  });

  it('palisade run has defaults of its own: rules.timeoutMs 200 ms inline, 1000 ms in replay, a value given wins', () => {
    expect(defaultConfig().rules.timeoutMs).toBe(1000);
    expect(defaultConfig('inline').rules.timeoutMs).toBe(200);
    expect(validateConfig({ rules: { heapLimitMb: 512 } }, 'x', 'inline').rules).toEqual({ timeoutMs: 200, heapLimitMb: 512 });
    expect(validateConfig({ rules: { timeoutMs: 5000 } }, 'x', 'inline').rules.timeoutMs).toBe(5000);
    // An engine given a whole inline config keeps it.
    expect(validateConfig(defaultConfig('inline')).rules.timeoutMs).toBe(200);
  });

  it('says a number too large for a double is not finite, not that it is null', () => {
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify would print as null.
    const path = configFile('huge.json', '{"memcap":1e400}');
    expect(() => loadConfigFile(path)).toThrow(/key 'memcap' is not a finite number \(it reads as Infinity\); expected a number from 1048576 to/);
    expect(() => validateConfig({ fragments: { timeout: -Infinity } })).toThrow(/key 'fragments.timeout' is not a finite number \(it reads as -Infinity\)/);
    expect(() => validateConfig({ memcap: NaN })).toThrow(/key 'memcap' is not a finite number \(it reads as NaN\)/);
  });

  it('reads a config file that starts with a UTF-8 byte order mark', () => {
    const path = configFile('bom.json', '\uFEFF{"ruleErrorPolicy":"accept"}');
    expect(readFileSync(path).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(loadConfigFile(path).ruleErrorPolicy).toBe('accept');
  });
});
