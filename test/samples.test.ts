/**
 * The samples are test cases: `palisade test samples` (the real CLI, as a user runs it) must
 * pass every one of them, and a sample whose rule is broken must fail with a diff that says what
 * changed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palisade, root } from './cli/run-cli.ts';

const samples = join(root, 'samples');

/** Every directory under `dir` holding an expect.json (a case is not searched further). */
function caseDirs(dir: string): string[] {
  const names = readdirSync(dir);
  if (names.includes('expect.json')) return [dir];
  return names
    .filter((n) => !n.startsWith('.') && n !== 'node_modules' && statSync(join(dir, n)).isDirectory())
    .flatMap((n) => caseDirs(join(dir, n)));
}

const tmp = mkdtempSync(join(tmpdir(), 'palisade-samples-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('samples', () => {
  it('pass palisade test, every one of them', () => {
    const n = caseDirs(samples).length;
    // Ours (eleven) and Haka's (seven) at least.
    expect(n).toBeGreaterThanOrEqual(18);
    const r = palisade(['test', 'samples']);
    expect(r.stdout).toContain(`${n} passed, 0 failed`);
    expect(r.stdout).not.toMatch(/^FAIL /m);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('fails a sample whose rule no longer resets, with a diff of the drops and RSTs', () => {
    const dir = join(tmp, 'keyword-reset');
    cpSync(join(samples, 'keyword-reset'), dir, { recursive: true });
    const rules = join(dir, 'rules.ts');
    const source = readFileSync(rules, 'utf8');
    expect(source).toContain("name: 'ftp-forbidden-command',");
    // The module alerts only.
    writeFileSync(rules, source.replace("name: 'ftp-forbidden-command',", "name: 'ftp-forbidden-command',\n    action: 'alert',"));

    const r = palisade(['test', dir]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAIL .*keyword-reset$/m);
    // The alert still fires: only what the reset did is missing, line by line.
    expect(r.stdout).not.toContain('alerts (- expected, + actual)');
    expect(r.stdout).toContain('dropped (- expected, + actual):');
    expect(r.stdout).toContain('(not dropped: 36, 37, 38, 39, 40, 41, 42, 43, 44, 45)');
    expect(r.stdout).toContain('injected (- expected, + actual):');
    expect(r.stdout).toContain('- {"to": "client", "flags": "R", "after": 36}');
    expect(r.stdout).toContain('- {"to": "server", "flags": "R", "after": 36}');
    expect(r.stdout).toContain('- {"id.orig_h": "192.168.10.10", "id.resp_p": 21, "end_reason": "rst"}');
    expect(r.stdout).toMatch(/^ {4}\+ \{.*"id\.orig_p": \d+.*"end_reason": "fin"\}$/m);
    expect(r.stdout).toContain('0 passed, 1 failed');
  });

  it('fails a sample whose alert changed, showing the alert it got instead', () => {
    const dir = join(tmp, 'port-scan');
    cpSync(join(samples, 'port-scan'), dir, { recursive: true });
    const rules = join(dir, 'rules.ts');
    const source = readFileSync(rules, 'utf8');
    expect(source).toContain('threshold: 10,');
    // A looser threshold: the scanner is caught one port later.
    writeFileSync(rules, source.replace('threshold: 10,', 'threshold: 11,'));

    const r = palisade(['test', dir]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('alerts (- expected, + actual):');
    expect(r.stdout).toMatch(/^ {4}- \{"rule": "port-scan", "packet": 44, .*\}$/m);
    expect(r.stdout).toContain('+ (no alert has these fields)');
    expect(r.stdout).toMatch(/^ {4}\+ \{.*"description": "port scan: 12 ports in 5 s".*\} {2}\(unexpected; frame 46\)$/m);
    expect(r.stdout).toContain('(not dropped: 44, 45)');
  });
});
