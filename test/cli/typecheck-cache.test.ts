/**
 * Every command that runs a rule file type-checks it first (replay, test, check, run), and keeps
 * the result by content: an unchanged rule set loads no compiler at its next run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookup, store } from '../../core/typecheck/cache.ts';
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

/** Runs `fn` with the cache in `dir`, as PALISADE_CACHE_DIR would put it. */
function withCacheDir<T>(dir: string, fn: () => T): T {
  const before = process.env.PALISADE_CACHE_DIR;
  process.env.PALISADE_CACHE_DIR = dir;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.PALISADE_CACHE_DIR;
    else process.env.PALISADE_CACHE_DIR = before;
  }
}

// Root runs palisade with a cache directory that a user can write to (theirs by
// PALISADE_CACHE_DIR, XDG_CACHE_HOME or a HOME kept under sudo): what can that user do?
describe('the type-check cache against a user who can write to its directory', () => {
  const misspelled = 'test/fixtures/type-errors/misspelled-field.ts';

  it('never writes through a link planted at a name it uses, nor reads an entry through one', () => {
    const { dir } = project();
    const cache = join(dir, 'cache');
    const ruleFile = join(dir, 'rules.ts');
    writeFileSync(ruleFile, 'export default 1;\n');
    withCacheDir(cache, () => {
      store(ruleFile, [ruleFile], []);
    });
    const [name] = readdirSync(join(cache, 'typecheck'));
    const entry = join(cache, 'typecheck', name as string);
    expect(withCacheDir(cache, () => lookup(ruleFile))).toEqual([]);

    // Root's file, and links to it at every name a writer might predict: the entry itself, and
    // temporary files beside it (by this pid, or none).
    const precious = join(dir, 'shadow');
    writeFileSync(precious, 'root:x:0:0\n');
    rmSync(entry);
    for (const n of [name, `${name}.${process.pid}.tmp`, `${name}.tmp`, `${name}.0.tmp`]) symlinkSync(precious, join(cache, 'typecheck', n as string));
    withCacheDir(cache, () => {
      store(ruleFile, [ruleFile], []);
    });
    expect(readFileSync(precious, 'utf8')).toBe('root:x:0:0\n');
    // The entry was written anew beside the links, not through one.
    expect(lstatSync(entry).isFile()).toBe(true);

    // An entry that is a link is not read: here to a "no errors" result kept elsewhere.
    const elsewhere = join(dir, 'no-errors.json');
    cpSync(entry, elsewhere);
    rmSync(entry);
    symlinkSync(elsewhere, entry);
    expect(withCacheDir(cache, () => lookup(ruleFile))).toBeUndefined();
  });

  it('is not used in a directory that another user owns or can write to: a planted "no errors" result is not believed', () => {
    const { dir, env } = project();
    // A first check keeps the rule file's result (one type error) in a private cache.
    const first = palisade(['check', misspelled], { env });
    expect(first.status).toBe(1);
    const [name] = readdirSync(join(dir, 'cache/typecheck'));
    const entry = JSON.parse(readFileSync(join(dir, 'cache/typecheck', name as string), 'utf8')) as { diagnostics: unknown[] };
    const noErrors = JSON.stringify({ ...entry, diagnostics: [] });
    // In one's own cache a result is believed: the second check is a hit, and compiles nothing.
    writeFileSync(join(dir, 'cache/typecheck', name as string), noErrors);
    const hit = palisade(['check', misspelled], { env });
    expect(hit.stderr).toBe('');
    expect(hit.stdout).toBe(`${misspelled}: ok\n`);

    const plant = (cache: string): string => {
      mkdirSync(join(cache, 'typecheck'), { recursive: true });
      writeFileSync(join(cache, 'typecheck', name as string), noErrors);
      return join(cache, 'typecheck', name as string);
    };
    const nobody = join(dir, 'nobody');
    for (const p of [nobody, join(nobody, 'typecheck'), plant(nobody)]) chownSync(p, 65534, 65534);
    const open = join(dir, 'open');
    plant(open);
    chmodSync(open, 0o777);
    const openSub = join(dir, 'open-sub');
    plant(openSub);
    chmodSync(join(openSub, 'typecheck'), 0o777);
    const link = join(dir, 'link');
    symlinkSync(join(dir, 'cache'), link);
    const cases: [string, RegExp][] = [
      [nobody, /nobody belongs to uid 65534, not to uid 0 that runs palisade: chown 0 /],
      [open, /open is writable by group and others \(mode 0777\): chmod go-w /],
      [join(openSub, 'typecheck'), /open-sub\/typecheck is writable by group and others \(mode 0777\)/],
      [link, /link is a symbolic link/],
    ];
    for (const [cache, why] of cases) {
      const dirOf = cache.endsWith('typecheck') ? openSub : cache;
      const before = readdirSync(join(dirOf, 'typecheck'));
      const r = palisade(['check', misspelled], { env: { PALISADE_CACHE_DIR: dirOf } });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/misspelled-field\.ts:7:24 - error TS2551/);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^palisade: warning: the type-check cache is not used/);
      expect(warnings[0]).toMatch(why);
      // Nothing is written there either.
      expect(readdirSync(join(dirOf, 'typecheck'))).toEqual(before);
      expect(readFileSync(join(dirOf, 'typecheck', name as string), 'utf8')).toBe(noErrors);
    }
  });
});
