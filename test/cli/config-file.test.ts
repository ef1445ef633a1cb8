import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { root } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-config-file-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
const sample = ['samples/firewall/rules.ts', 'samples/firewall/capture.pcap'];

/** `replay --config PATH`, killed after 15 s: a config that hangs or grows must fail long before. */
function replayWith(config: string): { status: number | null; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, 'replay', ...sample, '--no-typecheck', '--config', config], { cwd: root, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('palisade replay --config: only a regular file of bounded size', () => {
  it('refuses /dev/zero at once instead of reading it without end', () => {
    const r = replayWith('/dev/zero');
    expect(r.stderr).toMatch(/PAL_ERR_FILE_NOT_FOUND: config file '\/dev\/zero' is a character device, not a regular file/);
    expect(r.status).toBe(2);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('refuses a FIFO, through a symbolic link too, instead of waiting for a writer', () => {
    const fifo = join(tmp, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(tmp, 'config-link.json');
    symlinkSync(fifo, link);
    for (const path of [fifo, link]) {
      const r = replayWith(path);
      expect(r.stderr).toContain(`PAL_ERR_FILE_NOT_FOUND: config file '${path}' is a FIFO, not a regular file`);
      expect(r.status).toBe(2);
    }
  });

  it('refuses a config larger than 1 MiB, saying its size and the bound', () => {
    const big = join(tmp, 'big.json');
    // Valid JSON: only the size is wrong.
    writeFileSync(big, `{${' '.repeat(2 * 1024 * 1024)}}`);
    const r = replayWith(big);
    expect(r.stderr).toContain(`PAL_ERR_CONFIG: ${big}: is 2097154 bytes, more than a config file may hold (1048576 bytes)`);
    expect(r.status).toBe(2);
  });
});
