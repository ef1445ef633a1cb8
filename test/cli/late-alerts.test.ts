/**
 * Alerts a rule raises after the run (from a timer, or a promise it left running): each is
 * counted, so each is written, to a file as to stdout. The run does not wait for them; whatever
 * came after the summary was printed is said once more at exit, so the figures add up.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcap, tcpSession } from '../../testing.ts';
import { palisade } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-late-alerts-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const CONNECTIONS = 20;

/** One alert per connection, raised 0 to 5 ms after its first SYN: after the engine closed, for so short a capture. */
const timerRules = `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert }) => {
  rule({
    name: 'later',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      const port = flow.client.port;
      setTimeout(() => alert({ description: 'from a timer ' + port }), port % 6);
    },
  });
});
`;

function capture(): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    frames.push(...tcpSession({ client: `10.0.0.1:${40000 + i}`, server: '10.0.0.2:80' }).handshake().send('up', 'hello').close().frames());
  }
  return pcap(frames);
}

/** The summary's alert count, plus those it reported as coming after it. */
function counted(stderr: string): { summary: number; late: number } {
  const summary = /^alerts +([\d,]+)$/m.exec(stderr);
  const late = /^palisade: ([\d,]+) more alerts? came after the summary/m.exec(stderr);
  return { summary: Number(summary?.[1]?.replace(/,/g, '') ?? NaN), late: Number(late?.[1]?.replace(/,/g, '') ?? 0) };
}

describe('alerts raised from timers', () => {
  const rules = join(tmp, 'rules.ts');
  const input = join(tmp, 'input.pcap');
  writeFileSync(rules, timerRules);
  writeFileSync(input, capture());

  it('are all in the --alerts file, as many as were counted', () => {
    // Timing varies run to run: each run must hold.
    for (let run = 0; run < 3; run++) {
      const out = join(tmp, `alerts-${run}.jsonl`);
      const r = palisade(['replay', rules, input, '--alerts', out, '--no-typecheck']);
      expect(r.status, r.stderr).toBe(0);
      const lines = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(CONNECTIONS);
      const { summary, late } = counted(r.stderr);
      expect(summary + late).toBe(lines.length);
      expect(new Set(lines.map((l) => (JSON.parse(l) as { description: string }).description)).size).toBe(CONNECTIONS);
    }
  });

  it('later than the summary: written, and counted in a line of their own at exit', () => {
    const slow = join(tmp, 'slow.ts');
    writeFileSync(slow, timerRules.replace('port % 6', '300 + port % 6'));
    const out = join(tmp, 'slow.jsonl');
    const r = palisade(['replay', slow, input, '--alerts', out, '--no-typecheck']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n').filter((l) => l !== '')).toHaveLength(CONNECTIONS);
    expect(counted(r.stderr)).toEqual({ summary: 0, late: CONNECTIONS });
  });

  it('are all on stdout too, with the same count', () => {
    const r = palisade(['replay', rules, input, '--no-typecheck']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(CONNECTIONS);
    const { summary, late } = counted(r.stderr);
    expect(summary + late).toBe(CONNECTIONS);
  });
});
