/**
 * The package as a user gets it: `npm pack`, the tarball installed into an empty project, and
 * there the CLI (replay, check, test), a plain Node script using the library and
 * palisade/testing, and the user's own `tsc --noEmit` under NodeNext.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../cli/run-cli.ts';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const work = mkdtempSync(join(tmpdir(), 'palisade-pack-'));
const app = join(work, 'app');
let tarball = '';

function npm(args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, env: { ...process.env, npm_config_loglevel: 'error', ...env } });
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: app, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PALISADE_CACHE_DIR: join(work, 'cache'), ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bin = (): string => join(app, 'node_modules/.bin/palisade');

beforeAll(() => {
  // vitest's globalSetup built dist/ just now; packing runs no script of its own.
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed[0]?.filename ?? '');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
}, 600_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package, installed into an empty project', () => {
  it('holds the compiled code, its declarations and the addon sources, not tests or bench output', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/palisade.js', 'dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.d.ts', 'dist/core/cli/main.js', 'dist/core/resolve-hook.js', 'binding.gyp', 'core/io/nfqueue/addon.cc']));
    expect(files.filter((f) => /^(test|bench|\.ci)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('samples/') && !f.startsWith('docs/')))).toEqual([]);
  });

  it('runs replay, check and test from node_modules/.bin, with rules importing palisade by either name', () => {
    cpSync(join(app, 'node_modules', pkg.name, 'samples/firewall'), join(app, 'firewall'), { recursive: true });
    const replay = run(bin(), ['replay', 'firewall/rules.ts', 'firewall/capture.pcap']);
    expect(replay.stderr).toMatch(/^alerts +3$/m);
    expect(replay.status).toBe(0);
    expect(replay.stdout.trim().split('\n')).toHaveLength(3);
    expect(run(bin(), ['check', 'firewall/rules.ts']).stdout).toBe('firewall/rules.ts: ok\n');
    const test = run(bin(), ['test', 'firewall']);
    expect(test.stdout).toMatch(/^ok {3}firewall /m);
    expect(test.status).toBe(0);
    writeFileSync(join(app, 'named.ts'), readFileSync(join(app, 'firewall/rules.ts'), 'utf8').replace(/from 'palisade(\/\w+)?'/g, (_m, sub: string | undefined) => `from '${pkg.name}${sub ?? ''}'`));
    const named = run(bin(), ['replay', 'named.ts', 'firewall/capture.pcap']);
    expect(named.stderr).toMatch(/^alerts +3$/m);
    expect(named.status).toBe(0);
    expect(run(bin(), ['--version']).stdout).toBe(`palisade ${pkg.version}\n`);
  });

  it('is a library a plain Node script imports: createEngine and palisade/testing', () => {
    writeFileSync(
      join(app, 'app.mjs'),
      `import { createEngine, defineRules, tcpConnection } from '${pkg.name}';
import { tcpSession } from '${pkg.name}/testing';
import { firewall } from '${pkg.name}/rules';
if (typeof firewall !== 'function') throw new Error('no firewall in ${pkg.name}/rules');
const alerts = [];
const rules = defineRules(({ rule, alert }) => {
  rule({ name: 'telnet', on: tcpConnection.events.receiveData, eval: (flow, data) => { if (data.includes('login:')) alert({ description: 'login prompt', flow }); } });
});
const engine = createEngine({ rules, onAlert: (a) => alerts.push(a.description), alerts: { write: () => {} } });
const s = tcpSession({ client: '10.0.0.1:40000', server: '10.0.0.2:23' });
s.handshake();
s.send('down', 'login: ');
s.close();
s.frames().forEach((frame, i) => engine.push(frame, { secs: 1_700_000_000, nsecs: i * 1000 }, 1));
engine.close();
console.log(JSON.stringify(alerts));
`,
    );
    const r = run(process.execPath, ['app.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('["login prompt"]\n');
  });

  it("type-checks under the user's own tsc (NodeNext, strict), and its types catch mistakes", () => {
    // docs/library.md's paths, so that rule files saying 'palisade' are typed in the editor too.
    const paths = {
      palisade: [`./node_modules/${pkg.name}/dist/index.d.ts`],
      'palisade/testing': [`./node_modules/${pkg.name}/dist/testing.d.ts`],
      'palisade/rules': [`./node_modules/${pkg.name}/dist/rules/index.d.ts`],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], paths }, include: ['*.ts'] }));
    writeFileSync(join(app, 'rule.ts'), `import { defineRules, udp } from 'palisade';\nimport type { ReplayResult } from 'palisade/testing';\nexport type R = ReplayResult;\nexport default defineRules(({ rule }) => { rule({ name: 'dns', on: udp.events.receivePacket, eval: (pkt) => pkt.dstport === 53 }); });\n`);
    writeFileSync(
      join(app, 'app.ts'),
      `import { createEngine, defineRules, tcp, type TcpPacket } from '${pkg.name}';
import { tcpSession, replay, type ReplayResult } from '${pkg.name}/testing';
const rules = defineRules(({ rule }) => {
  rule({ name: 'web', on: tcp.events.receivePacket, eval: (pkt: TcpPacket) => pkt.dstport === 80 });
});
const engine = createEngine({ rules });
const port: number = tcpSession({ client: '10.0.0.1:1', server: '10.0.0.2:2' }).frames().length;
export const result: Promise<ReplayResult> = replay({ rules, capture: 'x.pcap' });
engine.close();
export { port };
`,
    );
    const tsc = join(app, 'node_modules/.bin/tsc');
    const ok = run(tsc, ['-p', '.']);
    expect(ok.stdout).toBe('');
    expect(ok.status).toBe(0);
    writeFileSync(join(app, 'typo.ts'), `import { defineRules, tcp } from 'palisade';\nexport default defineRules(({ rule }) => { rule({ name: 'x', on: tcp.events.receivePacket, eval: (pkt) => pkt.dstprot === 80 }); });\n`);
    const typo = run(tsc, ['-p', '.']);
    expect(typo.status).not.toBe(0);
    expect(typo.stdout).toMatch(/typo\.ts\(2,\d+\): error TS2551: Property 'dstprot' does not exist on type 'TcpPacket'/);
    rmSync(join(app, 'typo.ts'));
    // The flow a rule sees is the documented one: the tracker's fields are not in the declarations.
    writeFileSync(
      join(app, 'internals.ts'),
      `import { defineRules, packet, tcpConnection, udpConnection } from 'palisade';\nexport default defineRules(({ rule }) => {\n  rule({ name: 't', on: tcpConnection.events.newConnection, eval: (flow) => flow.verdict === 0 || flow.nextInBucket === null || flow.up.isn > 0 || flow.reason === null });\n  rule({ name: 'u', on: udpConnection.events.newConnection, eval: (flow) => flow.counters.up.packets > 0 });\n  rule({ name: 'p', on: packet.events.receivePacket, eval: (pkt) => pkt.reason === null || pkt.dropFor(pkt.reason) || pkt.clearVerdict() });\n});\n`,
    );
    const internals = run(tsc, ['-p', '.']);
    expect(internals.status).not.toBe(0);
    const internal = [['verdict', 'TcpFlow'], ['nextInBucket', 'TcpFlow'], ['up', 'TcpFlow'], ['reason', 'TcpFlow'], ['counters', 'UdpFlow'], ['reason', 'Packet'], ['dropFor', 'Packet'], ['clearVerdict', 'Packet']];
    for (const [name, type] of internal) {
      expect(internals.stdout).toMatch(new RegExp(`internals\\.ts\\(\\d+,\\d+\\): error TS2339: Property '${name}' does not exist on type '${type}'`));
    }
    rmSync(join(app, 'internals.ts'));
  });
});

describe('installed where no native addon can build', () => {
  const bare = join(work, 'bare');

  beforeAll(() => {
    mkdirSync(bare);
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare', private: true, type: 'module' }));
    // A compiler that always fails: node-gyp builds neither raw-socket nor palisade's addon.
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], bare, { CC: 'false', CXX: 'false' });
  }, 600_000);

  it('installs, and replay, check and test work; run says what to install', () => {
    expect(existsSync(join(bare, 'node_modules/raw-socket'))).toBe(false);
    expect(existsSync(join(bare, `node_modules/${pkg.name}/build/Release/palisade_nfqueue.node`))).toBe(false);
    const palisade = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync(join(bare, 'node_modules/.bin/palisade'), args, { cwd: bare, encoding: 'utf8', timeout: 120_000, env: { ...process.env, PALISADE_CACHE_DIR: join(work, 'cache') } });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    cpSync(join(bare, 'node_modules', pkg.name, 'samples/firewall'), join(bare, 'firewall'), { recursive: true });
    const replay = palisade(['replay', 'firewall/rules.ts', 'firewall/capture.pcap']);
    expect(replay.stderr).toMatch(/^alerts +3$/m);
    expect(replay.status).toBe(0);
    expect(palisade(['check', 'firewall/rules.ts']).status).toBe(0);
    expect(palisade(['test', 'firewall']).status).toBe(0);
    // No --bridge: nothing is installed in the system; without raw-socket no RST can be sent.
    const run = palisade(['run', 'firewall/rules.ts', '--queue', '7', '--socket', join(bare, 'ctl.sock')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^palisade: PAL_ERR_INJECT: raw-socket, which sends the RSTs inline, is not installed: .*build-essential and python3/m);
  }, 120_000);
});
