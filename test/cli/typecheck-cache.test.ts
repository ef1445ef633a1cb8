/**
 * Every command that runs a rule file type-checks it first (replay, test, check, run), and keeps
 * the result by content: an unchanged rule set loads no compiler at its next run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palisade, root } from './run-cli.ts';

const capture = join(root, 'samples/firewall/capture.pcap');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tc-'));
  dirs.push(dir);
  return { dir, env: { PALISADE_CACHE_DIR: join(dir, 'cache') } };
}

const helper = (port: string): string => `export const port: number = ${port};\n`;
const rules = `import { defineRules, tcp } from 'palisade';
import { port } from './helper.ts';
export default defineRules(({ rule, alert }) => {
  rule({ name: 'port', on: tcp.events.receivePacket, eval: (pkt) => { if (pkt.dstport === port) alert({ description: 'port' }); } });
});
`;

describe('type-checking rule files', () => {
  it('replay refuses a rule file with type errors, as run does, listing them as file:line:col', () => {
    const { env } = project();
    const r = palisade(['replay', 'test/fixtures/type-errors/misspelled-field.ts', capture], { env });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^palisade: PAL_ERR_TYPECHECK: test\/fixtures\/type-errors\/misspelled-field\.ts: 1 type error; fix them, or pass --no-typecheck/);
    expect(r.stderr).toMatch(/^test\/fixtures\/type-errors\/misspelled-field\.ts:7:24 - error TS2551: Property 'dstprot' does not exist/m);
    expect(r.stderr).not.toMatch(/packets/);
    const skipped = palisade(['replay', 'test/fixtures/type-errors/misspelled-field.ts', capture, '--no-typecheck'], { env });
    expect(skipped.status).toBe(0);
    expect(skipped.stderr).toMatch(/^packets +43 /m);
  });

  it('caches the result by content: the rule file and every module it imports', () => {
    const { dir, env } = project();
    writeFileSync(join(dir, 'helper.ts'), helper('22'));
    writeFileSync(join(dir, 'rules.ts'), rules);
    const first = palisade(['replay', 'rules.ts', capture], { cwd: dir, env });
    expect(first.stderr).toMatch(/^alerts +\d+/m);
    expect(first.status).toBe(0);
    const entries = readdirSync(join(dir, 'cache/typecheck'));
    expect(entries).toHaveLength(1);
    const entryFile = join(dir, 'cache/typecheck', entries[0] as string);
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as { files: [string, string][]; diagnostics: unknown[] };
    expect(entry.files.map(([f]) => f)).toEqual(expect.arrayContaining([join(dir, 'rules.ts'), join(dir, 'helper.ts')]));
    // A result planted in the cache is what the next run believes: it compiled nothing.
    const planted = { file: 'rules.ts', line: 1, column: 1, code: 9999, message: 'planted in the cache' };
    writeFileSync(entryFile, JSON.stringify({ ...entry, diagnostics: [planted] }));
    const cached = palisade(['replay', 'rules.ts', capture], { cwd: dir, env });
    expect(cached.status).toBe(1);
    expect(cached.stderr).toMatch(/rules\.ts:1:1 - error TS9999: planted in the cache/);
    // A changed helper module (here: one that no longer compiles) is checked again.
    writeFileSync(join(dir, 'helper.ts'), helper("'22'"));
    const changed = palisade(['replay', 'rules.ts', capture], { cwd: dir, env });
    expect(changed.status).toBe(1);
    expect(changed.stderr).not.toMatch(/planted/);
    expect(changed.stderr).toMatch(/helper\.ts:1:\d+ - error TS2322: Type 'string' is not assignable to type 'number'/);
    // And check, replay and test agree once it is fixed.
    writeFileSync(join(dir, 'helper.ts'), helper('23'));
    expect(palisade(['check', 'rules.ts'], { cwd: dir, env }).stdout).toBe('rules.ts: ok\n');
    expect(palisade(['replay', 'rules.ts', capture], { cwd: dir, env }).status).toBe(0);
  });

  it('check accepts --no-typecheck (a trial load only) and --no-cache', () => {
    const { env } = project();
    const trial = palisade(['check', 'test/fixtures/type-errors/misspelled-field.ts', '--no-typecheck'], { env });
    expect(trial.status).toBe(0);
    expect(trial.stdout).toBe('test/fixtures/type-errors/misspelled-field.ts: ok\n');
    const full = palisade(['check', 'test/fixtures/type-errors/misspelled-field.ts', '--no-cache'], { env });
    expect(full.status).toBe(1);
    expect(full.stdout).toMatch(/misspelled-field\.ts:7:24 - error TS2551/);
  });
});
