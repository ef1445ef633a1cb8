/**
 * Check-views through the CLI: `palisade test` always hands receiveData rules poisoned copies,
 * so a rule that keeps `data` past its event fails its case, every run; `replay --check-views`
 * does the same on demand, and leaves the output capture as it was.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcap, tcpSession } from '../../testing.ts';
import { palisade } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-check-views-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Keeps the client's chunks (copied or not) and alerts with them joined when the connection ends. */
const keepRules = (keep: string): string => `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert }) => {
  const kept: Buffer[] = [];
  rule({
    name: 'keep',
    on: tcpConnection.events.receiveData,
    eval: (_flow, data, direction) => {
      if (direction === 'up') kept.push(${keep});
    },
  });
  rule({
    name: 'joined',
    on: tcpConnection.events.endConnection,
    eval: () => void alert({ description: Buffer.concat(kept).toString('latin1') }),
  });
});
`;

const capture = pcap(
  tcpSession({ client: '10.0.0.1:40000', server: '10.0.0.2:80' })
    .handshake()
    .send('up', 'hello ')
    .send('up', 'world')
    .close()
    .frames(),
);

/** The two chunks as check-views leaves them: each filled from its start with the poison text. */
const poisoned = 'PALISADE-STALE-VIEW '.slice(0, 6) + 'PALISADE-STALE-VIEW '.slice(0, 5);

function writeCase(name: string, keep: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'rules.ts'), keepRules(keep));
  writeFileSync(join(dir, 'input.pcap'), capture);
  writeFileSync(join(dir, 'expect.json'), `${JSON.stringify({ alerts: [{ rule: 'joined', description: 'hello world' }] })}\n`);
  return dir;
}

describe('palisade test', () => {
  it('fails a case whose rule keeps receiveData views, every run, the kept bytes shown as the poison', () => {
    const dir = writeCase('keeps-views', 'data');
    for (let run = 0; run < 2; run++) {
      const r = palisade(['test', dir, '--no-typecheck']);
      expect(r.status, r.stdout).toBe(1);
      expect(r.stdout).toMatch(/^FAIL .*keeps-views$/m);
      // 'hello ' and 'world', each read over.
      expect(r.stdout).toContain(`"description": "${poisoned}"`);
    }
  });

  it('passes the same case when the rule copies what it keeps', () => {
    const dir = writeCase('copies', 'Buffer.from(data)');
    const r = palisade(['test', dir, '--no-typecheck']);
    expect(r.stdout).toMatch(/^ok {3}/m);
    expect(r.status, r.stdout).toBe(0);
  });
});

describe('palisade replay --check-views', () => {
  const rules = join(tmp, 'replay-rules.ts');
  const input = join(tmp, 'replay.pcap');
  writeFileSync(rules, keepRules('data'));
  writeFileSync(input, capture);
  const described = (stdout: string): string[] => stdout.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { description: string }).description);

  it('poisons the views a rule kept; the output capture is the same as without it', () => {
    const plainOut = join(tmp, 'plain.pcap');
    const checkedOut = join(tmp, 'checked.pcap');
    const plain = palisade(['replay', rules, input, '-o', plainOut, '--no-typecheck']);
    const checked = palisade(['replay', rules, input, '-o', checkedOut, '--check-views', '--no-typecheck']);
    expect(checked.status, checked.stderr).toBe(0);
    // Without it, a capture this small keeps the mistake hidden: the reader's buffer is not read over.
    expect(described(plain.stdout)).toEqual(['hello world']);
    expect(described(checked.stdout)).toEqual([poisoned]);
    expect(readFileSync(checkedOut)).toEqual(readFileSync(plainOut));
  });

  it('is in the help', () => {
    expect(palisade(['replay', '--help']).stdout).toMatch(/--check-views +hand each receiveData rule a copy/);
  });
});
