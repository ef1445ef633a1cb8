/** process.exit() in a rule ends the replay with a coded error, every output whole, not a silent exit 0. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { tcpSession } from '../../testing.ts';
import { palisade } from './run-cli.ts';

let tmp: string;
let capture: string;
const CONNECTIONS = 2000;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'palisade-rule-exit-'));
  const frames: Buffer[] = [];
  for (let i = 0; i < CONNECTIONS; i++) frames.push(...tcpSession({ client: `10.9.${i >> 8}.${i & 255}:4000` }).handshake().send('up', 'x').close().frames());
  capture = join(tmp, 'conns.pcap');
  writeFileSync(capture, encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function run(name: string, body: string): { status: number | null; stderr: string; alerts: { description: string }[]; flows: unknown[]; frames: number } {
  const rules = join(tmp, `${name}.ts`);
  writeFileSync(rules, `import { defineRules, tcpConnection } from 'palisade';\nexport default defineRules(({ rule, alert }) => {\n${body}\n});\n`);
  const out = join(tmp, `${name}.pcap`);
  const alerts = join(tmp, `${name}.alerts`);
  const flows = join(tmp, `${name}.flows`);
  const r = palisade(['replay', rules, capture, '-o', out, '--alerts', alerts, '--flows', flows, '--no-typecheck']);
  const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const dump = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  return {
    status: r.status,
    stderr: r.stderr,
    alerts: lines(alerts).map((l) => JSON.parse(l) as { description: string }),
    flows: lines(flows).map((l) => JSON.parse(l) as unknown),
    frames: dump.trim().split('\n').length,
  };
}

describe('process.exit() in a rule', () => {
  it('inside a rule: the replay stops there with PAL_ERR_RULE_EXIT, after writing the summary, the capture, the alerts and every flow', () => {
    const r = run(
      'in-rule',
      `  rule({ name: 'five-then-exit', on: tcpConnection.events.newConnection, eval: (flow) => {
    if (flow.id === 6) process.exit(0);
    alert({ description: \`connection \${flow.id}\` });
  } });`,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^palisade: PAL_ERR_RULE_EXIT: rule 'five-then-exit' called process\.exit\(0\) on frame 41; the replay stopped there/m);
    expect(r.stderr).toMatch(/^packets +41 /m);
    expect(r.alerts.filter((a) => a.description.startsWith('connection ')).map((a) => a.description)).toEqual([1, 2, 3, 4, 5].map((i) => `connection ${i}`));
    // Five connections of eight frames each went out whole; the sixth one's SYN is the rule error's (dropped).
    expect(r.frames).toBe(40);
    // And every flow has its record, the sixth one's too: refused with its SYN.
    expect((r.flows as { end_reason: string }[]).map((f) => f.end_reason)).toEqual(['fin', 'fin', 'fin', 'fin', 'fin', 'dropped']);
  });

  it('from a timer: recorded, and the replay stops at the next turn of the event loop, its outputs whole', () => {
    const r = run(
      'in-timer',
      `  rule({ name: 'later', on: tcpConnection.events.newConnection, eval: (flow) => {
    alert({ description: \`connection \${flow.id}\` });
    if (flow.id === 1) setTimeout(() => process.exit(3), 0);
  } });`,
    );
    expect(r.status).toBe(1);
    const frame = Number(/^palisade: PAL_ERR_RULE_EXIT: a rule file \(outside any rule: a timer or a promise\) called process\.exit\(3\) on frame (\d+)/m.exec(r.stderr)?.[1]);
    expect(frame).toBeGreaterThan(1);
    expect(frame).toBeLessThan(CONNECTIONS * 8);
    expect(r.frames).toBe(frame);
    expect(r.alerts.length).toBe(Math.ceil(frame / 8));
    expect(r.flows).toHaveLength(r.alerts.length);
  });
});
