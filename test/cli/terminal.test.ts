/**
 * What a terminal shows: alerts are JSON lines on stdout at a terminal too (the docs show them
 * so); `--pretty` is for people, coloured at a terminal or with FORCE_COLOR, never with NO_COLOR.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { colors } from '../../core/log.ts';
import { root } from './run-cli.ts';

const replay = 'bin/palisade.js replay samples/firewall/rules.ts samples/firewall/capture.pcap';
const ESC = '\u001b[';

/** The command under a pseudo-terminal (util-linux script), stdout and stderr both on it. */
function atTerminal(args: string, env: Record<string, string | undefined> = {}): string {
  const r = spawnSync('script', ['-qec', `"${process.execPath}" ${args}`, '/dev/null'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.replaceAll('\r\n', '\n');
}

describe('at a terminal', () => {
  it('alerts are JSON lines, one per alert, as without one', () => {
    const out = atTerminal(replay);
    const alerts = out.split('\n').filter((l) => l.startsWith('{'));
    expect(alerts).toHaveLength(3);
    for (const l of alerts) expect(JSON.parse(l)).toMatchObject({ type: 'alert', rule: 'filter' });
    expect(out).not.toContain(ESC);
  });

  it('--pretty prints them for people, coloured; NO_COLOR takes the colours away', () => {
    const pretty = atTerminal(`${replay} --pretty`);
    expect(pretty).toContain(ESC);
    expect(pretty).toMatch(/description.*: "connection refused by the firewall"/);
    const plain = atTerminal(`${replay} --pretty`, { NO_COLOR: '1' });
    expect(plain).not.toContain(ESC);
    expect(plain).toMatch(/^ {4}description: "connection refused by the firewall"$/m);
  });

  it('FORCE_COLOR colours --pretty into a pipe; without it a pipe gets no colour', () => {
    const forced = spawnSync(process.execPath, [...replay.split(' '), '--pretty'], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(ESC);
    const piped = spawnSync(process.execPath, [...replay.split(' '), '--pretty'], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(piped.stdout).not.toContain(ESC);
    expect(piped.stdout).toMatch(/description: "connection refused by the firewall"/);
  });

  const tty = process.stdout.isTTY as boolean | undefined;
  it('colors(): FORCE_COLOR over NO_COLOR over the terminal test (no-color.org; FORCE_COLOR=0 turns colours off)', () => {
    expect(colors(1, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(colors(1, { NO_COLOR: '1' })).toBe(false);
    expect(colors(1, { NO_COLOR: '' })).toBe(tty ?? false);
    expect(colors(1, { FORCE_COLOR: '0' })).toBe(false);
    expect(colors(1, {})).toBe(tty ?? false);
  });
});
