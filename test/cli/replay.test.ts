import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, linkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { palisade, root } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-cli-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const sample = ['samples/firewall/rules.ts', 'samples/firewall/capture.pcap'];

describe('palisade replay', () => {
  it('replays the firewall sample: alerts on stdout as JSON lines, a summary on stderr', () => {
    const r = palisade(['replay', ...sample]);
    expect(r.stderr).toMatch(/packets +43 .*10 accepted ?, ?|packets +43/);
    expect(r.status).toBe(0);
    const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // The ssh and telnet connections of the allowed client, and the web connection of the other one.
    expect(alerts.map((a) => a.packet)).toEqual([11, 19, 30]);
    expect(alerts[0]).toMatchObject({
      type: 'alert',
      rule: 'filter',
      packet: 11,
      description: 'connection refused by the firewall',
      sources: [{ address: '192.168.10.10' }],
      targets: [{ address: '192.168.20.80', service: 'tcp/22' }],
      flow: { client: { ip: '192.168.10.10' }, server: { ip: '192.168.20.80', port: 22 } },
    });
    expect(r.stderr).toMatch(/43 \(.*\): 14 accepted, 29 dropped/);
  });

  it('writes the accepted packets to -o, a capture tcpdump reads', () => {
    const out = join(tmp, 'out.pcap');
    const alerts = join(tmp, 'alerts.jsonl');
    const r = palisade(['replay', ...sample, '-o', out, '--alerts', alerts]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(alerts, 'utf8').trim().split('\n')).toHaveLength(3);
    const lines = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    expect(lines).toHaveLength(14);
    // TCP: only the allowed web connection; UDP and ICMP pass (the rules filter TCP).
    const tcpLines = lines.filter((l) => l.includes('Flags'));
    expect(tcpLines).toHaveLength(10);
    expect(tcpLines.every((l) => /192\.168\.10\.10\.\d+ > 192\.168\.20\.80\.80:|192\.168\.20\.80\.80 > 192\.168\.10\.10\.\d+:/.test(l))).toBe(true);
  });

  it('--pass-through forwards every packet but still alerts', () => {
    const out = join(tmp, 'all.pcap');
    const r = palisade(['replay', ...sample, '-o', out, '--pass-through']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    const lines = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    expect(lines).toHaveLength(43);
  });

  it('--stats adds anomalies by kind and memory to the summary', () => {
    const r = palisade(['replay', ...sample, '--stats']);
    expect(r.stderr).toMatch(/memory +rss/);
  });

  it('validates --config and names the bad key and the allowed values', () => {
    const cfg = join(tmp, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ ruleErrorPolicy: 'explode' }));
    const r = palisade(['replay', ...sample, '--config', cfg]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`palisade: PAL_ERR_CONFIG: ${cfg}: key 'ruleErrorPolicy' is "explode"; allowed values: accept, drop`);
    writeFileSync(cfg, JSON.stringify({ fragments: { timeuot: 3 } }));
    expect(palisade(['replay', ...sample, '--config', cfg]).stderr).toMatch(/key 'fragments.timeuot' is not a known key \(known: fragments.timeout/);
  });

  it('applies a valid --config', () => {
    const cfg = join(tmp, 'ok.json');
    writeFileSync(cfg, JSON.stringify({ ruleErrorPolicy: 'accept', fragments: { timeout: 10 } }));
    expect(palisade(['replay', ...sample, '--config', cfg]).status).toBe(0);
  });

  it('bad flags and missing files: one line, exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['replay', ...sample, '--frobnicate'], /^palisade: PAL_ERR_USAGE: palisade replay: Unknown option '--frobnicate' \(see --help\)$/],
      [['replay', 'samples/firewall/rules.ts'], /^palisade: PAL_ERR_USAGE: palisade replay: needs <rules.ts> <capture>/],
      [['replay', 'nope.ts', sample[1] as string], /^palisade: PAL_ERR_FILE_NOT_FOUND: rule file 'nope.ts' does not exist/],
      [['replay', sample[0] as string, 'nope.pcap'], /^palisade: PAL_ERR_FILE_NOT_FOUND: capture 'nope.pcap' does not exist/],
      [['frobnicate'], /^palisade: PAL_ERR_USAGE: unknown command 'frobnicate'/],
    ];
    for (const [args, re] of cases) {
      const r = palisade(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(re);
    }
  });

  it('an output file that cannot be written: a coded error, never a hang', () => {
    for (const flag of ['-o', '--alerts', '--flows', '--log']) {
      const r = palisade(['replay', ...sample, flag, '/proc/palisade-no-such-dir/out']);
      expect(r.status, flag).toBe(1);
      expect(r.stderr.trim(), flag).toMatch(/^palisade: PAL_ERR_OUTPUT: \/proc\/palisade-no-such-dir\/out: cannot /m);
    }
  });

  it('an output that names an input (itself, a symbolic or a hard link) is refused before anything is opened', () => {
    const input = join(tmp, 'mine.pcap');
    copyFileSync(join(root, sample[1] as string), input);
    const before = readFileSync(input);
    symlinkSync(input, join(tmp, 'soft.pcap'));
    linkSync(input, join(tmp, 'hard.pcap'));
    for (const flag of ['-o', '--alerts', '--flows', '--log']) {
      for (const out of [input, join(tmp, 'soft.pcap'), join(tmp, 'hard.pcap')]) {
        const r = palisade(['replay', sample[0] as string, input, flag, out]);
        expect(r.status, `${flag} ${out}`).toBe(1);
        expect(r.stderr.trim()).toMatch(new RegExp(`^palisade: PAL_ERR_OUTPUT: .*: ${flag} names the input capture \\(.*mine\\.pcap\\); writing it would destroy it`));
        expect(readFileSync(input).equals(before)).toBe(true);
      }
    }
    const rules = readFileSync(join(root, sample[0] as string));
    const r = palisade(['replay', sample[0] as string, input, '--alerts', sample[0] as string]);
    expect(r.stderr).toMatch(/--alerts names the rule file/);
    expect(readFileSync(join(root, sample[0] as string)).equals(rules)).toBe(true);
  });

  it('a full disk (/dev/full) for any output, stdout included: PAL_ERR_OUTPUT at once, with the summary, never a hang', () => {
    // A rule that logs, so that --log has something to write.
    const rulesFile = join(tmp, 'logs.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, log }) => {
  rule({ name: 'note', on: tcpConnection.events.newConnection, eval: (flow) => { log.info(\`connection \${flow.id}\`); } });
});
`,
    );
    for (const flag of ['-o', '--alerts', '--flows', '--log']) {
      const t0 = performance.now();
      const r = palisade(['replay', flag === '--log' ? rulesFile : (sample[0] as string), sample[1] as string, flag, '/dev/full']);
      expect(performance.now() - t0, flag).toBeLessThan(10_000);
      expect(r.status, flag).toBe(1);
      expect(r.stderr, flag).toMatch(/^palisade: PAL_ERR_OUTPUT: \/dev\/full: cannot (be written|write the output capture).*ENOSPC/m);
      expect(r.stderr, flag).toMatch(/^packets +43 /m);
    }
    const out = spawnSync('sh', ['-c', `exec "${process.execPath}" bin/palisade.js replay ${sample.join(' ')} > /dev/full`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^palisade: PAL_ERR_OUTPUT: stdout: cannot be written: ENOSPC/m);
    expect(out.stderr).not.toMatch(/"level":"error"|at .*\.js:\d+/);
    // A reader that goes away (| head) is not an error.
    const head = spawnSync('sh', ['-c', `"${process.execPath}" bin/palisade.js replay ${sample.join(' ')} | head -1`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(head.stdout.trim().split('\n')).toHaveLength(1);
    expect(head.stderr).not.toMatch(/PAL_ERR/);
  });

  it('SIGINT or SIGTERM mid-replay: stops reading, the capture, alerts and flows written so far are whole, the summary printed, exit 130 or 143', async () => {
    const { encodePcap } = await import('../../core/io/pcap-writer.ts');
    const { tcpSession } = await import('../../testing.ts');
    const frames: Buffer[] = [];
    for (let i = 0; i < 3000; i++) frames.push(...(tcpSession({ client: `10.9.${i >> 8}.${i & 255}:4000` }).handshake().send('up', 'x').close().frames()));
    const capture = join(tmp, 'long.pcap');
    writeFileSync(capture, encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
    // A slow rule (about 0.2 ms a packet: seconds for the capture) that alerts on each connection.
    const rulesFile = join(tmp, 'slow.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert }) => {
  rule({ name: 'slow', on: tcpConnection.events.receivePacket, eval: () => { const t = performance.now(); while (performance.now() - t < 0.2); } });
  rule({ name: 'each', on: tcpConnection.events.newConnection, eval: (flow) => { alert({ description: \`connection \${flow.id}\` }); } });
});
`,
    );
    for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const out = join(tmp, `${signal}.pcap`);
      const alertsFile = join(tmp, `${signal}.alerts`);
      const flowsFile = join(tmp, `${signal}.flows`);
      const p = spawn(process.execPath, ['bin/palisade.js', 'replay', rulesFile, capture, '-o', out, '--alerts', alertsFile, '--flows', flowsFile], { cwd: root });
      let stderr = '';
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      // Once palisade handles both signals: it does from the moment it opens -o, in the same
      // tick (node itself catches both from its start, so /proc's SigCgt cannot tell). A signal
      // before that would end it as any process, before it has outputs.
      for (let waited = 0; !existsSync(out); waited += 20) {
        if (waited > 60_000) throw new Error(`palisade never opened ${out}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      p.kill(signal);
      expect(await exited, stderr).toBe(status);
      const frame = Number(/PAL_ERR_INTERRUPTED: (SIGINT|SIGTERM): the replay stopped after frame (\d+)/.exec(stderr)?.[2]);
      expect(frame).toBeGreaterThan(0);
      expect(frame).toBeLessThan(frames.length);
      expect(stderr).toMatch(new RegExp(`^packets +${frame.toLocaleString('en-US')} `, 'm'));
      // Every frame read was accepted: the capture holds exactly those, and reads to its end.
      const lines = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).trim().split('\n');
      expect(lines).toHaveLength(frame);
      const alerts = readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { description: string });
      expect(alerts.length).toBeGreaterThan(0);
      expect(alerts.at(-1)?.description).toBe(`connection ${alerts.length}`);
      // The connections still open were ended (shutdown) and logged.
      const flows = readFileSync(flowsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { end_reason: string });
      expect(flows).toHaveLength(alerts.length);
    }
  }, 60_000);

  it('--help for every command', () => {
    for (const args of [['--help'], ['replay', '--help'], ['check', '--help']]) {
      const r = palisade(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: palisade/);
    }
  });

  it('a truncated capture: every packet before the cut is processed, then a coded error naming record and offset', () => {
    const whole = readFileSync(join(root, sample[1] as string));
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 20));
    const r = palisade(['replay', sample[0] as string, cut]);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toMatch(/packets +42 /);
    expect(r.stderr).toMatch(/PAL_ERR_PCAP_TRUNCATED: .*cut\.pcap: record 43 at byte \d+ is cut short \(needs \d+ bytes, \d+ left\); the 42 packets before it were processed/);
  });

  it('loads a rule file from anywhere on disk that imports palisade, with no node_modules of its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-rules-'));
    try {
      const rules = join(dir, 'rules.ts');
      writeFileSync(
        rules,
        `import { defineRules, udp } from 'palisade';\nexport default defineRules(({ rule, alert }) => {\n  rule({ name: 'dns', on: udp.events.receivePacket, eval: (pkt) => { if (pkt.dstport === 53) alert({ description: 'dns query' }); } });\n});\n`,
      );
      const capture = join(dir, 'capture.pcap');
      copyFileSync(join(root, sample[1] as string), capture);
      const r = palisade(['replay', rules, capture], { cwd: dir });
      expect(r.stderr).not.toMatch(/PAL_ERR/);
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { rule: string; packet: number }).packet)).toEqual([40]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a rule file that does not load stops palisade before the first packet, naming the file', () => {
    const syntax = palisade(['replay', 'test/fixtures/type-errors/syntax-error.ts', sample[1] as string, '--no-typecheck']);
    expect(syntax.status).toBe(1);
    expect(syntax.stderr).toMatch(/^palisade: PAL_ERR_RULE_LOAD: test\/fixtures\/type-errors\/syntax-error\.ts: cannot be loaded: /);
    expect(syntax.stderr).not.toMatch(/packets/);
    const noDefault = palisade(['replay', 'test/fixtures/rules/no-default.ts', sample[1] as string]);
    expect(noDefault.stderr).toMatch(/PAL_ERR_RULE_LOAD: .*no-default\.ts: its default export is not a rule set/);
    const missingEval = palisade(['replay', 'test/fixtures/rules/missing-eval.ts', sample[1] as string]);
    expect(missingEval.status).toBe(1);
    expect(missingEval.stderr.trim()).toMatch(/^palisade: PAL_ERR_RULE_INVALID: test\/fixtures\/rules\/missing-eval\.ts:5: rule 'half-written' has no eval function/);
  });
});

describe('palisade check', () => {
  it('reports a misspelled field as file:line:col and exits non-zero', () => {
    const r = palisade(['check', 'test/fixtures/type-errors/misspelled-field.ts']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^test\/fixtures\/type-errors\/misspelled-field\.ts:7:24 - error TS2551: Property 'dstprot' does not exist on type 'TcpPacket'\. Did you mean 'dstport'\?/m,
    );
    expect(r.stderr).toMatch(/PAL_ERR_TYPECHECK: .*misspelled-field\.ts: 1 type error; fix them/);
  });

  it('passes the bundled sample', () => {
    const r = palisade(['check', 'samples/firewall/rules.ts']);
    expect(r.stdout).toBe('samples/firewall/rules.ts: ok\n');
    expect(r.status).toBe(0);
  });
});

describe('palisade replay with tcp_connection', () => {
  it('writes --flows as Zeek conn.log lines and the RSTs of flow.reset() into -o', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-flows-'));
    try {
      const rules = join(dir, 'rules.ts');
      // Reset the telnet connection when the server asks for a login.
      writeFileSync(
        rules,
        `import { defineRules, tcpConnection } from 'palisade';\nexport default defineRules(({ rule }) => {\n  rule({ on: tcpConnection.events.receiveData, eval: (flow, data) => { if (data.includes('login:')) flow.reset(); } });\n});\n`,
      );
      const flows = join(dir, 'flows.jsonl');
      const out = join(dir, 'out.pcap');
      const r = palisade(['replay', rules, sample[1] as string, '--flows', flows, '-o', out]);
      expect(r.stderr).toMatch(/connections 4/);
      expect(r.stderr).toMatch(/injected +2 \(RSTs\)/);
      expect(r.status).toBe(0);
      const records = readFileSync(flows, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records.map((f) => [f['id.resp_p'], f.conn_state, f.end_reason])).toEqual([
        [80, 'SF', 'fin'],
        [22, 'SF', 'fin'],
        [23, 'S1', 'rst'],
        [80, 'SF', 'fin'],
      ]);
      expect(records[0]).toMatchObject({ 'id.orig_h': '192.168.10.10', 'id.resp_h': '192.168.20.80', proto: 'tcp', orig_pkts: 6, resp_pkts: 4 });
      expect(String(records[0]?.community_id)).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
      const lines = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      const rsts = lines.filter((l) => l.includes('Flags [R]'));
      expect(rsts).toHaveLength(2);
      expect(rsts[0]).toMatch(/192\.168\.20\.80\.23 > 192\.168\.10\.10\.\d+: Flags \[R\], seq \d+, win 0, length 0/);
      expect(rsts[1]).toMatch(/192\.168\.10\.10\.\d+ > 192\.168\.20\.80\.23: Flags \[R\], seq \d+, win 0, length 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
