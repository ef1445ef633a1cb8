/**
 * What a rule file leaves behind its rules: a timer that throws, a promise rejected with no
 * handler, an interval that never stops. None may crash the replay with a raw stack or keep it
 * running for ever.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './run-cli.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'palisade-stray-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const capture = join(root, 'samples/port-scan/input.pcap');

function replayWith(name: string, body: string): { status: number | null; stderr: string; alerts: { rule: string; description: string }[]; ms: number } {
  const rules = join(tmp, `${name}.ts`);
  writeFileSync(rules, `import { defineRules, tcpConnection } from 'palisade';\nexport default defineRules(({ rule, alert }) => {\n${body}\n});\n`);
  const alerts = join(tmp, `${name}.alerts`);
  const t = performance.now();
  const r = spawnSync(process.execPath, ['bin/palisade.js', 'replay', rules, capture, '--alerts', alerts, '--no-typecheck'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  const ms = performance.now() - t;
  const lines = readFileSync(alerts, 'utf8').split('\n').filter((l) => l !== '');
  return { status: r.status, stderr: r.stderr, alerts: lines.map((l) => JSON.parse(l) as { rule: string; description: string }), ms };
}

describe('what a rule file leaves running', () => {
  it('a timer that throws is a rule error of its own: logged, alerted, counted, and the replay goes on to its summary', () => {
    const r = replayWith(
      'timer-throws',
      `  rule({ name: 'later', on: tcpConnection.events.newConnection, eval: (flow) => {
    alert({ description: \`connection \${flow.id}\` });
    if (flow.id === 1) setTimeout(() => { throw new Error('boom from a timer'); }, 0);
  } });`,
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^rule errors +1 \(\(a timer or promise of the rule file\) 1\)$/m);
    expect(r.stderr).toMatch(/^palisade: PAL_ERR_RULE_ERRORS: /m);
    expect(r.alerts.filter((a) => a.rule === 'later')).toHaveLength(24);
    expect(r.alerts.filter((a) => a.rule === '(a timer or promise of the rule file)').map((a) => a.description)).toEqual(['rule error: boom from a timer']);
  });

  it('a promise rejected with no handler is one too', () => {
    const r = replayWith(
      'rejected',
      `  rule({ name: 'fire-and-forget', on: tcpConnection.events.newConnection, eval: (flow) => {
    if (flow.id === 3) void Promise.reject(new Error('nobody waits for me'));
  } });`,
    );
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.status).toBe(1);
    expect(r.alerts.map((a) => a.description)).toEqual(['rule error: nobody waits for me']);
  });

  it('an interval that never stops: the replay still ends, with its status, a moment after its summary', () => {
    const r = replayWith(
      'interval',
      `  rule({ name: 'ticks', on: tcpConnection.events.newConnection, eval: (flow) => {
    alert({ description: \`connection \${flow.id}\` });
    if (flow.id === 1) setInterval(() => undefined, 100);
  } });`,
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^packets +\d+/m);
    expect(r.alerts).toHaveLength(24);
    expect(r.ms).toBeLessThan(10_000);
  });
});
