/**
 * The addon on a real queue, in a throw-away network namespace (root): an exception out of the
 * batch callback never reaches C++ (the process goes on, and the batch gets the fail verdict),
 * and a queue another socket holds is a coded error.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../core/io/nfqueue/index.ts';
import { canRun } from '../inline/netns.ts';

const script = fileURLToPath(new URL('./fixtures/nfqueue/queue-faults.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));
const can = canRun();
// Where libmnl's headers are, `npm ci` builds the addon: its absence is then a failure.
const built = !(loadAddon() instanceof Error) || existsSync('/usr/include/libmnl/libmnl.h');

describe.skipIf(!can.ok || !built)('the NFQUEUE addon on a real queue', () => {
  const run = (verdict: 'accept' | 'drop'): { status: number | null; out: { received: number; stats: Record<string, number>; secondBind: string }; stderr: string } => {
    const ns = `pal-nfq-${process.pid}-${verdict}`;
    try {
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-o', 'lo', '-p', 'udp', '--dport', '9999', '-j', 'NFQUEUE', '--queue-num', '0']);
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, verdict], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      const last = r.stdout.trim().split('\n').pop() ?? '{}';
      return { status: r.status, out: JSON.parse(last) as { received: number; stats: Record<string, number>; secondBind: string }, stderr: r.stderr };
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  };

  it('a batch callback that throws: counted, the process goes on, and fail-open lets the packets through', () => {
    const r = run('accept');
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.received).toBe(3);
    expect(r.out.stats.callbackErrors).toBeGreaterThanOrEqual(1);
    expect(r.out.stats.received).toBe(3);
  });

  it('fail-closed: the packets of a batch whose callback threw are dropped', () => {
    const r = run('drop');
    expect(r.status, r.stderr).toBe(0);
    expect(r.out.received).toBe(0);
    expect(r.out.stats.callbackErrors).toBeGreaterThanOrEqual(1);
  });

  it('a queue another socket holds is PAL_ERR_NFQUEUE, saying so', () => {
    const r = run('accept');
    expect(r.out.secondBind).toMatch(/^PAL_ERR_NFQUEUE: NFQUEUE 0: bind queue: Operation not permitted: another program holds this queue/);
  });
});
