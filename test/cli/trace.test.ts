// `palisade replay --trace` and `palisade test --trace`, as a user runs them, on the bundled
// samples: the frames asked for and no others, in order, text or JSON, with the reason of a drop;
// a bad selection is a usage error.
import { describe, expect, it } from 'vitest';
import { palisade } from './run-cli.ts';

const sample = ['samples/keyword-reset/rules.ts', 'samples/keyword-reset/input.pcap'];
const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('palisade replay --trace', () => {
  it('--json: one object per frame asked for, with the verdict, the reason and the steps', () => {
    const r = palisade(['replay', ...sample, '--trace', '34,36-37', '--json', '--alerts', '/dev/null']);
    expect(r.status, r.stderr).toBe(0);
    const traces = jsonLines(r.stdout);
    expect(traces.map((t) => [t.frame, t.verdict])).toEqual([
      [34, 'accept'],
      [36, 'drop'],
      [37, 'drop'],
    ]);
    expect(traces[0]?.reason).toBeUndefined();
    expect(traces[1]?.reason).toEqual({ kind: 'flow-action', action: 'reset', rule: 'ftp-forbidden-command', file: 'rules/keyword-reset.ts', line: 80, frame: 36 });
    // Frame 37 comes after the reset: no rule runs, the reason is the reset's.
    expect(traces[2]?.reason).toEqual(traces[1]?.reason);
    const steps36 = traces[1]?.steps as { step: string; rule?: string; dropped?: boolean }[];
    expect(steps36.filter((s) => s.step === 'injected')).toHaveLength(2);
    expect(steps36.find((s) => s.step === 'rule')).toMatchObject({ rule: 'ftp-forbidden-command', dropped: true });
    expect((traces[2]?.steps as { step: string }[]).some((s) => s.step === 'rule')).toBe(false);
    // The summary says why frames were dropped.
    expect(r.stderr).toMatch(/drops by\s+flow-action 10/);
  });

  it('text at a terminal: a head line with the verdict and reason, a line per step', () => {
    const r = palisade(['replay', ...sample, '--trace', '36', '--alerts', '/dev/null']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('frame 36 at 2026-11-23T21:18:41.550814Z: drop (flow-action reset by ftp-forbidden-command (rules/keyword-reset.ts:80) on frame 36)');
    expect(lines).toContain('  layer    tcp 43334 > 21 [P.] seq 4202780276 ack 479513700 win 63 len 18');
    expect(lines.filter((l) => l.startsWith('frame '))).toHaveLength(1);
  });

  it('the alerts and the output capture are the same with --trace as without', () => {
    const plain = palisade(['replay', ...sample]);
    const traced = palisade(['replay', ...sample, '--trace', 'all', '--json']);
    // Alert lines carry the wall clock's time: compared without it.
    const alerts = (out: string) =>
      jsonLines(out)
        .filter((l) => l.type === 'alert')
        .map((l) => ({ ...l, time: undefined }));
    expect(alerts(traced.stdout)).toEqual(alerts(plain.stdout));
    expect(jsonLines(traced.stdout).filter((l) => l.type === 'trace')).toHaveLength(45);
  });

  it('a bad selection is a usage error naming the flag', () => {
    const r = palisade(['replay', ...sample, '--trace', '9-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--trace: '9-3' is not a range/);
    const j = palisade(['replay', ...sample, '--json']);
    expect(j.status).toBe(2);
    expect(j.stderr).toMatch(/--json goes with --trace/);
  });
});

describe('palisade test --trace', () => {
  it("traces a case's frames under its line; --json names the case", () => {
    const r = palisade(['test', 'samples/keyword-reset', '--trace', '36', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ok {3}samples\/keyword-reset/);
    const traces = jsonLines(lines.slice(1, -1).join('\n'));
    expect(traces).toEqual([expect.objectContaining({ case: 'samples/keyword-reset', frame: 36, verdict: 'drop' })]);
    expect(lines.at(-1)).toBe('1 passed, 0 failed');
    const text = palisade(['test', 'samples/keyword-reset', '--trace']);
    expect(text.status, text.stderr).toBe(0);
    // Every frame of the case, indented under it.
    expect(text.stdout.split('\n').filter((l) => /^ {4}frame \d+ at /.test(l))).toHaveLength(45);
  });
});
