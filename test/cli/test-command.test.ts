/**
 * `palisade test`: case directories built here with the packet builder, run through the real
 * CLI. Each case is written to a fresh temporary tree, so a test that breaks or rewrites one
 * never touches another.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcap, tcpSession, udpExchange } from '../../testing.ts';
import { palisade, root } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-test-cmd-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

type Files = Record<string, string | Buffer | object>;

function writeCase(dir: string, files: Files): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : `${JSON.stringify(body, null, 2)}\n`;
    writeFileSync(join(dir, name), text);
  }
}

let serial = 0;
/** A fresh directory under the temporary tree. */
function freshDir(): string {
  const dir = join(tmp, `run-${++serial}`);
  mkdirSync(dir);
  return dir;
}

/** Resets a connection when the client sends 'attack', with a log line and an alert. */
const resetRules = `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert, log }) => {
  rule({
    name: 'no-attack',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction === 'up' && data.includes('attack')) {
        log.warn({ port: flow.client.port }, 'attack seen');
        alert({ description: 'attack', severity: 'high', targets: [flow.server.ip] });
        flow.reset();
      }
    },
  });
});
`;

/**
 * Frames 1-8: a clean session (port 40000). Frames 9-15: port 40001 sends 'attack' in frame 12,
 * which is dropped and answered with two RSTs; every later frame of it is dropped. Frames
 * 16-20: port 40002 does the same in frame 19.
 */
const resetCapture = pcap([
  ...tcpSession({ client: '192.168.10.10:40000' }).handshake().send('up', 'hello').close().frames(),
  ...tcpSession({ client: '192.168.10.10:40001' }).handshake().send('up', 'attack').send('down', 'late').frames(),
  ...tcpSession({ client: '192.168.10.10:40002' }).handshake().send('up', 'attack now').frames(),
]);

const resetExpect = {
  description: 'flow.reset() on attack: RSTs to both sides, the rest of the flow dropped',
  alerts: [{ rule: 'no-attack', description: 'attack', severity: 'high', targets: [{ address: '192.168.20.80' }], count: 2 }],
  dropped: [12, 13, 14, 15, 19, 20],
  injected: [
    { to: 'client', flags: 'R', after: 12 },
    { to: 'server', flags: 'R', after: 12 },
    { to: 'client', flags: 'R', after: 19 },
    { to: 'server', flags: 'R', after: 19 },
  ],
  flows: [
    { 'id.orig_p': 40000, conn_state: 'SF', end_reason: 'fin' },
    { 'id.orig_p': 40001, end_reason: 'rst' },
    { 'id.orig_p': 40002, end_reason: 'rst' },
  ],
  logs: [
    { level: 'warn', msg: 'attack seen', port: 40001 },
    { level: 'warn', msg: 'attack seen', port: 40002 },
  ],
};

/** Alerts on DNS queries longer than 100 bytes: the datagram arrives as three IP fragments behind a VLAN tag. */
const dnsRules = `import { defineRules, udp } from 'palisade';
export default defineRules(({ rule, alert }) => {
  rule({
    name: 'big-dns',
    on: udp.events.receivePacket,
    eval: (pkt) => {
      if (pkt.dstport === 53 && pkt.payload.length > 100) alert({ description: \`dns query of \${pkt.payload.length} bytes\` });
    },
  });
});
`;
const dnsCapture = udpExchange({ vlan: [7] }).send('up', 'q'.repeat(300), { fragment: 128 }).send('down', 'answer').pcap();
const dnsExpect = { alerts: [{ rule: 'big-dns', description: 'dns query of 300 bytes' }], dropped: [] };

/** A connection seen without its handshake, with the midstream policy set to drop by the case's config. */
const midstreamRules = `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule }) => {
  rule({ name: 'track', on: tcpConnection.events.newConnection, eval: () => undefined });
});
`;
const midstreamCapture = tcpSession().send('up', 'no handshake').pcap();
const midstreamExpect = {
  config: { tcp: { midstream: 'drop' } },
  alerts: [{ rule: 'tcp-connection', description: 'no connection found for tcp packet', count: 2 }],
  dropped: [1, 2],
};

/** The three good cases, one nested a level deeper, as a user's tree would be. */
function goodTree(dir: string): void {
  writeCase(join(dir, 'reset'), { 'rules.ts': resetRules, 'input.pcap': resetCapture, 'expect.json': resetExpect });
  writeCase(join(dir, 'udp', 'big-dns'), { 'rules.ts': dnsRules, 'input.pcap': dnsCapture, 'expect.json': dnsExpect });
  writeCase(join(dir, 'midstream'), { 'rules.ts': midstreamRules, 'input.pcap': midstreamCapture, 'expect.json': midstreamExpect });
}

const okLine = (name: string, packets: number): RegExp => new RegExp(`^ok   ${name.replaceAll('/', '\\/')}  \\(${packets} packets, \\d+ ms\\)$`);

describe('palisade test', () => {
  it('runs every case under the directories given, in name order, one line each, and exits 0', () => {
    const dir = freshDir();
    goodTree(join(dir, 'cases'));
    const r = palisade(['test', 'cases'], { cwd: dir });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(okLine('cases/midstream', 2));
    expect(lines[1]).toMatch(okLine('cases/reset', 20));
    expect(lines[2]).toMatch(okLine('cases/udp/big-dns', 4));
    expect(lines[3]).toBe('3 passed, 0 failed');
    expect(r.status).toBe(0);
  });

  it('takes a case directory itself, and the current directory when none is given', () => {
    const dir = freshDir();
    goodTree(dir);
    const one = palisade(['test', join(dir, 'reset')], { cwd: join(dir, 'udp') });
    expect(one.stdout.split('\n')[0]).toMatch(okLine('../reset', 20));
    expect(one.status).toBe(0);
    const here = palisade(['test'], { cwd: join(dir, 'udp') });
    expect(here.stdout).toMatch(/^ok {3}big-dns {2}\(4 packets, \d+ ms\)\n1 passed, 0 failed\n$/);
  });

  it('never searches node_modules or dot-directories', () => {
    const dir = freshDir();
    goodTree(join(dir, 'cases'));
    // Cases that would fail the run if they were found.
    const broken = { 'expect.json': '{ not json' };
    writeCase(join(dir, 'cases', 'node_modules', 'dep'), broken);
    writeCase(join(dir, 'cases', '.cache', 'old'), broken);
    const r = palisade(['test', 'cases'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^3 passed, 0 failed$/m);
    expect(r.status).toBe(0);
  });

  it('shows a failing case as a diff of expected and actual, and exits 1', () => {
    const dir = freshDir();
    goodTree(dir);
    const expectFile = join(dir, 'reset', 'expect.json');
    writeFileSync(
      expectFile,
      JSON.stringify({
        ...resetExpect,
        alerts: [{ rule: 'no-attack', count: 3 }],
        dropped: [11, 12, 13, 14, 15, 19, 20],
        injected: resetExpect.injected.slice(1),
        flows: [resetExpect.flows[0], { 'id.orig_p': 40001, end_reason: 'fin' }, resetExpect.flows[2]],
        anomalies: { 'tcp-gap': 1 },
      }),
    );
    const r = palisade(['test', '.'], { cwd: dir });
    expect(r.status).toBe(1);
    const out = r.stdout;
    expect(out).toContain(
      [
        'FAIL reset',
        '  alerts (- expected, + actual):',
        '    - {"rule": "no-attack", "count": 3}',
        '    + {"rule": "no-attack", "count": 2}',
        '  dropped (- expected, + actual):',
        '    - [11, 12, 13, 14, 15, 19, 20]',
        '    + [12, 13, 14, 15, 19, 20]',
        '      (not dropped: 11)',
        '  injected (- expected, + actual):',
        '    + {"to": "client", "flags": "R", "after": 12}',
        '      {"to": "server", "flags": "R", "after": 12}',
        '      {"to": "client", "flags": "R", "after": 19}',
        '      … 1 matching',
        '  flows (- expected, + actual):',
        '      {"id.orig_p": 40000, "conn_state": "SF", "end_reason": "fin"}',
        '    - {"id.orig_p": 40001, "end_reason": "fin"}',
        '    + {"proto": "tcp", "id.orig_h": "192.168.10.10", "id.orig_p": 40001, "id.resp_h": "192.168.20.80", "id.resp_p": 80, "conn_state": "S1", "end_reason": "rst"}',
        '      {"id.orig_p": 40002, "end_reason": "rst"}',
        '  anomalies (- expected, + actual):',
        '    - {"tcp-gap": 1}',
        '    + {"tcp-gap": 0}',
        '',
      ].join('\n'),
    );
    expect(out).toMatch(/^ok {3}midstream {2}/m);
    expect(out.trimEnd().split('\n').at(-1)).toBe('2 passed, 1 failed');
  });

  it('reports alerts no entry matched, the same ones once with a count and their frames', () => {
    const dir = freshDir();
    writeCase(dir, {
      'rules.ts': resetRules,
      'input.pcap': resetCapture,
      'expect.json': { alerts: [{ description: 'something else' }] },
    });
    const r = palisade(['test'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      [
        'FAIL .',
        '  alerts (- expected, + actual):',
        '    - {"description": "something else"}',
        '    + (no alert has these fields)',
        '    + {"rule": "no-attack", "description": "attack", "severity": "high", "targets": [{"address": "192.168.20.80"}], "count": 2}  (unexpected; frames 12, 19)',
        '0 passed, 1 failed',
        '',
      ].join('\n'),
    );
  });

  it('checks the 802.1Q tags of crafted RSTs: all of them, outermost first, [] when untagged', () => {
    const dir = freshDir();
    // Frames 1-5: untagged, 'attack' in frame 4. Frames 6-10: QinQ 100/7, 'attack' in frame 9.
    const capture = pcap([
      ...tcpSession({ client: '192.168.10.10:40001' }).handshake().send('up', 'attack').frames(),
      ...tcpSession({ client: '192.168.10.10:40002', vlan: [100, 7] }).handshake().send('up', 'attack').frames(),
    ]);
    const injected = [
      { to: 'client', after: 4, vlan: [] },
      { to: 'server', after: 4, vlan: [] },
      { to: 'client', after: 9, vlan: [100, 7] },
      { to: 'server', after: 9, vlan: [100, 7] },
    ];
    writeCase(dir, { 'rules.ts': resetRules, 'input.pcap': capture, 'expect.json': { injected } });
    const ok = palisade(['test'], { cwd: dir });
    expect(ok.stdout + ok.stderr).toMatch(/^1 passed, 0 failed$/m);
    expect(ok.status).toBe(0);

    // The outer tag alone is not the flow's tags.
    writeCase(dir, { 'expect.json': { injected: [...injected.slice(0, 2), { to: 'client', vlan: [100] }, { to: 'server', vlan: [100] }] } });
    const r = palisade(['test'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      [
        '  injected (- expected, + actual):',
        '      {"to": "client", "after": 4, "vlan": []}',
        '      {"to": "server", "after": 4, "vlan": []}',
        '    - {"to": "client", "vlan": [100]}',
        '    - {"to": "server", "vlan": [100]}',
        '    + {"to": "client", "flags": "R", "after": 9, "vlan": [100, 7]}',
        '    + {"to": "server", "flags": "R", "after": 9, "vlan": [100, 7]}',
        '',
      ].join('\n'),
    );
  });

  it('--update writes the actual result as the expectation, and the next run passes', () => {
    const dir = freshDir();
    goodTree(dir);
    const expectFile = join(dir, 'reset', 'expect.json');
    writeFileSync(expectFile, JSON.stringify({ description: resetExpect.description, dropped: [1], flows: [] }));
    const before = readFileSync(join(dir, 'midstream', 'expect.json'), 'utf8');

    const update = palisade(['test', '--update'], { cwd: dir });
    expect(update.stdout).toMatch(/^upd {2}reset {2}\(20 packets, \d+ ms\) {2}expect\.json rewritten$/m);
    expect(update.stdout.trimEnd().split('\n').at(-1)).toBe('2 passed, 0 failed, 1 updated');
    expect(update.status).toBe(0);
    // A case that passes keeps its hand-written expectation.
    expect(readFileSync(join(dir, 'midstream', 'expect.json'), 'utf8')).toBe(before);
    expect(readFileSync(expectFile, 'utf8')).toBe(
      `{
  "description": "flow.reset() on attack: RSTs to both sides, the rest of the flow dropped",
  "alerts": [
    {"rule": "no-attack", "description": "attack", "severity": "high", "targets": [{"address": "192.168.20.80"}], "count": 2}
  ],
  "dropped": [12, 13, 14, 15, 19, 20],
  "injected": [
    {"to": "client", "flags": "R", "after": 12},
    {"to": "server", "flags": "R", "after": 12},
    {"to": "client", "flags": "R", "after": 19},
    {"to": "server", "flags": "R", "after": 19}
  ],
  "flows": [
    {"proto": "tcp", "id.orig_h": "192.168.10.10", "id.orig_p": 40000, "id.resp_h": "192.168.20.80", "id.resp_p": 80, "conn_state": "SF", "end_reason": "fin"},
    {"proto": "tcp", "id.orig_h": "192.168.10.10", "id.orig_p": 40001, "id.resp_h": "192.168.20.80", "id.resp_p": 80, "conn_state": "S1", "end_reason": "rst"},
    {"proto": "tcp", "id.orig_h": "192.168.10.10", "id.orig_p": 40002, "id.resp_h": "192.168.20.80", "id.resp_p": 80, "conn_state": "S1", "end_reason": "rst"}
  ],
  "logs": [
    {"level": "warn", "msg": "attack seen"},
    {"level": "warn", "msg": "attack seen"}
  ]
}
`,
    );

    const again = palisade(['test'], { cwd: dir });
    expect(again.stdout).toMatch(/^ok {3}reset {2}/m);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe('3 passed, 0 failed');
    expect(again.status).toBe(0);
  });

  it('--update keeps rules, capture and config, writes anomalies that occurred, and round-trips', () => {
    const dir = freshDir();
    writeCase(join(dir, 'case'), {
      'guard.ts': midstreamRules,
      'traffic.pcap': midstreamCapture,
      'expect.json': { description: 'a new case', rules: 'guard.ts', capture: 'traffic.pcap', config: { tcp: { midstream: 'drop' } } },
    });
    // A case that expects nothing is no test yet...
    const bare = palisade(['test', 'case'], { cwd: dir });
    expect(bare.status).toBe(2);
    expect(bare.stderr.trim()).toBe(
      'palisade: PAL_ERR_CASE: case/expect.json: expects nothing; give at least one of alerts, dropped, injected, flows, logs, anomalies (or run with --update to write them)',
    );
    // ...until --update writes its first expectation.
    expect(palisade(['test', 'case', '--update'], { cwd: dir }).status).toBe(0);
    const written = JSON.parse(readFileSync(join(dir, 'case', 'expect.json'), 'utf8')) as Record<string, unknown>;
    expect(written).toEqual({
      description: 'a new case',
      rules: 'guard.ts',
      capture: 'traffic.pcap',
      config: { tcp: { midstream: 'drop' } },
      alerts: [{ rule: 'tcp-connection', description: 'no connection found for tcp packet', count: 2 }],
      dropped: [1, 2],
      injected: [],
      flows: [],
      anomalies: { 'tcp-no-connection': 2 },
    });
    const again = palisade(['test', 'case'], { cwd: dir });
    expect(again.stdout).toMatch(/^ok {3}case {2}\(2 packets, \d+ ms\)\n1 passed, 0 failed\n$/);
  });

  it('writes anomaly counts and alerts of different shapes in an order that matches them back', () => {
    const dir = freshDir();
    // One rule alerts with and without targets: the entry with targets must come first, or the
    // entry without them (a subset) would take its alerts.
    const rules = `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert }) => {
  rule({
    name: 'every-packet',
    on: tcpConnection.events.receivePacket,
    eval: (flow, tcp) => {
      if (tcp.flags.syn) alert({ description: 'seen' });
      else alert({ description: 'seen', targets: [flow.server.ip] });
    },
  });
});
`;
    const capture = tcpSession().handshake().send('up', 'abc').rst('down').send('up', 'more', { ack: false }).pcap();
    writeCase(dir, { 'rules.ts': rules, 'input.pcap': capture, 'expect.json': { description: 'shapes' } });
    expect(palisade(['test', '--update'], { cwd: dir }).status).toBe(0);
    const written = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as { alerts: unknown[]; anomalies: Record<string, number> };
    expect(written.alerts).toEqual([
      { rule: 'every-packet', description: 'seen', targets: [{ address: '192.168.20.80' }], count: 4 },
      { rule: 'every-packet', description: 'seen', count: 2 },
    ]);
    expect(written.anomalies).toEqual({ 'tcp-data-after-rst': 1 });
    const again = palisade(['test'], { cwd: dir });
    expect(again.stdout).toMatch(/^ok {3}\. /);
    expect(again.status).toBe(0);
  });

  it('a rule file that does not load fails its case only, with the coded message', () => {
    const dir = freshDir();
    goodTree(dir);
    writeCase(join(dir, 'broken'), {
      'rules.ts': readFileSync(join(root, 'test/fixtures/type-errors/syntax-error.ts')),
      'input.pcap': resetCapture,
      'expect.json': { alerts: [] },
    });
    const r = palisade(['test', '--no-typecheck'], { cwd: dir });
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('FAIL broken');
    expect(lines[1]).toMatch(/^ {2}PAL_ERR_RULE_LOAD: broken\/rules\.ts: cannot be loaded: /);
    expect(lines.slice(2, -1).map((l) => l.replace(/ {2}\(.*$/, ''))).toEqual(['ok   midstream', 'ok   reset', 'ok   udp/big-dns']);
    expect(lines.at(-1)).toBe('3 passed, 1 failed');
  });

  it('type-checks every case before running: a type error fails its case only, as file:line:col', () => {
    const dir = freshDir();
    goodTree(dir);
    writeCase(join(dir, 'typo'), {
      'rules.ts': readFileSync(join(root, 'test/fixtures/type-errors/misspelled-field.ts')),
      'input.pcap': resetCapture,
      'expect.json': { alerts: [] },
    });
    const r = palisade(['test'], { cwd: dir, env: { PALISADE_CACHE_DIR: join(dir, '.cache') } });
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n').map((l) => l.replace(/ {2}\(.*$/, ''));
    expect(lines.slice(0, 3)).toEqual(['ok   midstream', 'ok   reset', 'FAIL typo']);
    expect(lines[3]).toMatch(/^ {2}PAL_ERR_TYPECHECK: typo\/rules\.ts: 1 type error/);
    expect(lines[4]).toMatch(/^ {2}typo\/rules\.ts:7:24 - error TS2551: Property 'dstprot' does not exist on type 'TcpPacket'/);
    expect(lines[5]).toBe('ok   udp/big-dns');
    expect(lines.at(-1)).toBe('3 passed, 1 failed');
    // --no-typecheck runs it: the misspelt field never matches, and nothing says so.
    expect(palisade(['test', '--no-typecheck', 'typo'], { cwd: dir }).stdout).toMatch(/^ok {3}typo /);
  });

  it('a damaged capture fails its case with the record and offset', () => {
    const dir = freshDir();
    writeCase(dir, { 'rules.ts': resetRules, 'input.pcap': resetCapture.subarray(0, resetCapture.length - 10), 'expect.json': resetExpect });
    const r = palisade(['test'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      'FAIL .',
      expect.stringMatching(/^ {2}PAL_ERR_PCAP_TRUNCATED: input\.pcap: record 20 at byte \d+ is cut short .* the 19 packets before it were processed$/),
    ]);
  });

  it('stops before any case runs when a case file is not valid, naming the file and the key', () => {
    const dir = freshDir();
    goodTree(dir);
    writeCase(join(dir, 'typo'), { 'rules.ts': resetRules, 'input.pcap': resetCapture, 'expect.json': { alert: [] } });
    const r = palisade(['test'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(
      "palisade: PAL_ERR_CASE: typo/expect.json: unknown key 'alert'; a case knows description, rules, capture, config, alerts, dropped, injected, flows, logs, anomalies",
    );

    const invalid: [object | string, RegExp][] = [
      ['{ "alerts": [', /expect\.json: is not valid JSON: /],
      [[], /expect\.json: must hold a JSON object$/],
      [{ dropped: [3, 2] }, /'dropped' must be frame numbers \(from 1\) in ascending order$/],
      [{ alerts: [{ rule: 'x', count: 0 }] }, /'alerts\[0\]\.count' must be a whole number from 1 up$/],
      [{ injected: [{ to: 'both' }] }, /'injected\[0\]\.to' must be "client" or "server"$/],
      [{ injected: [{ to: 'client', srcport: 80 }] }, /'injected\[0\]' has unknown key 'srcport'; an injected entry knows to, flags, after, seq, ack, window, ttl, vlan$/],
      [{ injected: [{ to: 'client', vlan: 100 }] }, /'injected\[0\]\.vlan' must be VLAN ids \(0-4095\), outermost first, as a list: \[100\], or \[\] for untagged$/],
      [{ flows: {} }, /'flows' must be an array of objects$/],
      [{ anomalies: { 'tcp-gap': -1 } }, /'anomalies\.tcp-gap' must be a count \(0 or more\)$/],
      [{ dropped: [], rules: 'nope.ts' }, /rule file 'nope\.ts' \(typo\/nope\.ts\) does not exist/],
    ];
    for (const [body, re] of invalid) {
      writeCase(join(dir, 'typo'), { 'expect.json': typeof body === 'string' ? body : `${JSON.stringify(body)}\n` });
      const bad = palisade(['test'], { cwd: dir });
      expect(bad.status, JSON.stringify(body)).toBe(2);
      expect(bad.stderr.trim(), JSON.stringify(body)).toMatch(/^palisade: PAL_ERR_CASE: typo\/expect\.json: /);
      expect(bad.stderr.trim(), JSON.stringify(body)).toMatch(re);
    }
    writeCase(join(dir, 'typo'), { 'expect.json': { dropped: [], config: { tcp: { midstrem: 'drop' } } } });
    expect(palisade(['test'], { cwd: dir }).stderr.trim()).toMatch(
      /^palisade: PAL_ERR_CONFIG: typo\/expect\.json \(config\): key 'tcp\.midstrem' is not a known key/,
    );
  });

  it('usage errors: no case found, a directory that does not exist, an unknown flag', () => {
    const dir = freshDir();
    const cases: [string[], RegExp][] = [
      [['test'], /^palisade: PAL_ERR_NO_CASES: no test case under '\.'; a case is a directory holding an expect\.json/],
      [['test', 'missing'], /^palisade: PAL_ERR_FILE_NOT_FOUND: case directory 'missing' does not exist/],
      [['test', '--frobnicate'], /^palisade: PAL_ERR_USAGE: palisade test: Unknown option '--frobnicate'/],
    ];
    for (const [args, re] of cases) {
      const r = palisade(args, { cwd: dir });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim(), args.join(' ')).toMatch(re);
    }
  });

  it('has --help, and is listed in the main help', () => {
    const help = palisade(['test', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: palisade test \[dir…\] \[options\]/);
    expect(help.stdout).toMatch(/--update/);
    expect(palisade(['--help']).stdout).toMatch(/^ {2}test \[dir…\] +run rule test cases/m);
  });

  it('passes the example case of docs/testing.md, whose expect.json the page shows', () => {
    const r = palisade(['test', 'docs/examples/cases']);
    expect(r.stdout).toMatch(/^ok {3}docs\/examples\/cases\/telnet {2}/m);
    expect(r.status).toBe(0);
    const page = readFileSync(join(root, 'docs/testing.md'), 'utf8');
    const shown = /```json\n(\{\n {2}"description"[\s\S]*?\n\}\n)```/.exec(page)?.[1];
    expect(shown).toBe(readFileSync(join(root, 'docs/examples/cases/telnet/expect.json'), 'utf8'));
  });
});

describe('case directories copied as they are', () => {
  it('run from any working directory, paths shown relative to it', () => {
    const dir = freshDir();
    goodTree(join(dir, 'a'));
    cpSync(join(dir, 'a'), join(dir, 'b'), { recursive: true });
    const r = palisade(['test', 'b/reset', 'a/reset', 'b/reset/'], { cwd: dir });
    expect(r.stdout.trimEnd().split('\n').map((l) => l.replace(/ {2}\(.*$/, ''))).toEqual(['ok   b/reset', 'ok   a/reset', '2 passed, 0 failed']);
  });
});
