/**
 * A rule that throws on every packet: its first errors are reported in full (log line with the
 * stack, alert), the rest counted and summarised per rule at most once a minute of engine time,
 * and once more at the end; replay ends with PAL_ERR_RULE_ERRORS unless they are expected.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, defineRules, tcp } from 'palisade';
import { pcap, tcpSession } from 'palisade/testing';
import { RULE_ERROR_SUMMARY_S, RULE_ERRORS_IN_FULL } from '../../core/rule-errors.ts';
import { palisade } from '../cli/run-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'palisade-rule-errors-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** One connection of `segments` data segments each way after the handshake. */
function frames(segments: number): Buffer[] {
  const s = tcpSession({ client: '10.0.0.1:40000', server: '10.0.0.2:80' }).handshake();
  for (let i = 0; i < segments; i++) s.send('up', `request ${i}\n`).send('down', `answer ${i}\n`);
  return s.close().frames();
}

const sink = (into: string[]): Writable => new Writable({ write: (c: Buffer, _e, done) => { into.push(...c.toString().trim().split('\n')); done(); } });

interface LogLine {
  time: string;
  rule?: string;
  err?: { stack?: string };
  count?: number;
  total?: number;
  msg: string;
}

describe('rule errors', () => {
  it('in process: the first few in full, then one summary line per rule per minute of packet time, and one at the end', () => {
    const logs: string[] = [];
    const alerts: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ name: 'boom', on: tcp.events.receivePacket, eval: (pkt) => { throw new Error(`bad packet ${pkt.seq}`); } });
      rule({ name: 'quiet', on: tcp.events.receivePacket, eval: () => undefined });
    });
    const engine = createEngine({ rules, config: { ruleErrorPolicy: 'accept' }, alerts: sink(alerts), log: sink(logs) });
    const all = frames(100);
    // A packet every 7 s: about 24 minutes of capture.
    all.forEach((f, i) => engine.push(f, { secs: 1_700_000_000 + 7 * i, nsecs: 0 }, 1));
    engine.close();
    expect(engine.stats.ruleErrors).toBe(all.length);
    expect(engine.stats.ruleErrorsByRule).toEqual(new Map([['boom', all.length]]));

    const lines = logs.map((l) => JSON.parse(l) as LogLine);
    const full = lines.filter((l) => l.err?.stack !== undefined);
    expect(full).toHaveLength(RULE_ERRORS_IN_FULL);
    expect(full[0]?.msg).toMatch(/^rule 'boom' threw: bad packet \d+$/);
    expect(full[0]?.err?.stack).toMatch(/rule-error-rate\.test\.ts/);
    expect(alerts).toHaveLength(RULE_ERRORS_IN_FULL);

    const summaries = lines.filter((l) => l.count !== undefined);
    expect(summaries.length + full.length).toBe(lines.length);
    // Every error is in a full line or counted in exactly one summary.
    expect(summaries.reduce((a, l) => a + (l.count ?? 0), 0)).toBe(all.length - RULE_ERRORS_IN_FULL);
    expect(summaries.at(-1)?.total).toBe(all.length);
    expect(summaries[0]?.msg).toMatch(/^rule 'boom' threw \d+ more times \(\d+ in all; last: bad packet \d+\)$/);
    // At most one a minute of packet time (the last one is the close's).
    const times = summaries.map((l) => Date.parse(l.time) / 1000);
    for (let i = 1; i < times.length - 1; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(RULE_ERROR_SUMMARY_S);
    const minutes = (7 * (all.length - 1)) / 60;
    expect(summaries.length).toBeLessThanOrEqual(Math.ceil(minutes) + 1);
    expect(summaries.length).toBeGreaterThan(minutes / 2);
  });

  it('palisade replay: the log stays small whatever the packet count, the summary names the rule, exit 1 unless --allow-rule-errors', () => {
    const capture = join(work, 'many.pcap');
    const all = frames(400);
    writeFileSync(capture, pcap(all));
    const rules = join(work, 'rules.ts');
    writeFileSync(
      rules,
      `import { defineRules, tcp } from 'palisade';
export default defineRules(({ rule }) => {
  rule({ name: 'boom', on: tcp.events.receivePacket, eval: (pkt) => { if (pkt.seq >= 0) throw new Error('no such field'); } });
});
`,
    );
    const log = join(work, 'log');
    const alertsFile = join(work, 'alerts');
    const r = palisade(['replay', rules, capture, '--log', log, '--alerts', alertsFile]);
    expect(r.status).toBe(1);
    const n = all.length.toLocaleString('en-US');
    expect(r.stderr).toMatch(new RegExp(`^rule errors ${n} \\(boom ${n}\\)$`, 'm'));
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^palisade: PAL_ERR_RULE_ERRORS: rules threw ${all.length} times \\('boom' ${all.length}\\); .*pass --allow-rule-errors if they are expected$`),
    );
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    expect(lines.filter((l) => l.err?.stack !== undefined)).toHaveLength(RULE_ERRORS_IN_FULL);
    // The capture spans under a minute: one summary line, at the end.
    expect(lines.filter((l) => l.count !== undefined).map((l) => l.count)).toEqual([all.length - RULE_ERRORS_IN_FULL]);
    expect(statSync(log).size).toBeLessThan(8 * 1024);
    expect(readFileSync(alertsFile, 'utf8').trim().split('\n')).toHaveLength(RULE_ERRORS_IN_FULL);

    const allowed = palisade(['replay', rules, capture, '--log', log, '--alerts', alertsFile, '--allow-rule-errors']);
    expect(allowed.stderr).not.toMatch(/PAL_ERR/);
    expect(allowed.status).toBe(0);
  });
});
