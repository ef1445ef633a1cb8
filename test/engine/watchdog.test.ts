/**
 * Rule bounds (issue 14): a rule that never returns is stopped after rules.timeoutMs, a heap
 * past rules.heapLimitMb ends the run with a coded error instead of a V8 abort, and in both
 * cases what was decided before is kept.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineRules, tcpConnection } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';
import { palisade, root } from '../cli/run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-watchdog-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('rules.timeoutMs', () => {
  it('stops a plain rule stuck in a loop, names it and its frame, keeps earlier alerts', async () => {
    let n = 0;
    const rules = defineRules(({ rule, alert }) => {
      rule({
        name: 'spin-on-second',
        on: tcpConnection.events.receivePacket,
        eval: () => {
          alert({ description: `packet ${++n}` });
          if (n === 2) for (;;) Math.random();
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'hello\n').close().pcap();
    const t0 = performance.now();
    const r = await replay({ rules, pcap, config: { rules: { timeoutMs: 200 } } });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.error?.code).toBe('PAL_ERR_RULE_TIMEOUT');
    expect(r.error?.message).toMatch(/rule 'spin-on-second' ran for \d+ ms on frame 2 .*rules\.timeoutMs is 200/);
    expect(r.stats.ruleTimeouts).toBe(1);
    expect(r.stats.ruleErrors).toBe(1);
    // Decided before the stop: the first alert and the first frame; nothing after frame 2.
    expect(r.alerts.map((a) => a.description)).toEqual(['packet 1', 'packet 2']);
    expect(r.output.map((o) => o.id)).toEqual([1]);
    expect(r.stats.packets).toBe(2);
  });

  it('stops a streamed rule stuck after an await, and names it', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'stuck-reader',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream) => {
          for await (const line of stream.lines()) if (line === 'two') for (;;) Math.random();
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'one\n').send('up', 'two\n').send('up', 'three\n').close().pcap();
    const r = await replay({ rules, pcap, config: { rules: { timeoutMs: 200 } } });
    expect(r.error?.code).toBe('PAL_ERR_RULE_TIMEOUT');
    expect(r.error?.message).toMatch(/rule 'stuck-reader' ran for \d+ ms on frame 6 /);
    expect(r.stats.ruleTimeouts).toBe(1);
  });

  it('goes on after a slow call under the limit, and timeoutMs 0 turns the limit off', async () => {
    const slow = (ms: number) =>
      defineRules(({ rule }) => {
        let once = true;
        rule({
          name: 'slow-once',
          on: tcpConnection.events.newConnection,
          eval: () => {
            if (!once) return;
            once = false;
            const end = performance.now() + ms;
            while (performance.now() < end) Math.random();
          },
        });
      });
    const pcap = tcpSession().handshake().send('up', 'hello\n').close().pcap();
    const under = await replay({ rules: slow(100), pcap, config: { rules: { timeoutMs: 1000 } } });
    expect(under.error).toBeUndefined();
    const off = await replay({ rules: slow(400), pcap, config: { rules: { timeoutMs: 0 } } });
    expect(off.error).toBeUndefined();
    expect(off.stats.ruleTimeouts).toBe(0);
    const stopped = await replay({ rules: slow(400), pcap, config: { rules: { timeoutMs: 100 } } });
    expect(stopped.error?.code).toBe('PAL_ERR_RULE_TIMEOUT');
  });
});

describe('palisade replay under the rule bounds', () => {
  it('exit 3 with PAL_ERR_RULE_TIMEOUT; the alerts and the -o capture hold what came before', () => {
    const rulesFile = join(tmp, 'stuck.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
let n = 0;
export default defineRules(({ rule, alert }) => {
  rule({
    name: 'spin-on-third',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      alert({ description: 'connection ' + ++n, flow });
      if (n === 3) for (;;) Math.random();
    },
  });
});
`,
    );
    const config = join(tmp, 'timeout.json');
    writeFileSync(config, JSON.stringify({ rules: { timeoutMs: 300 } }));
    const out = join(tmp, 'out.pcap');
    const alerts = join(tmp, 'alerts.jsonl');
    const r = palisade(['replay', rulesFile, 'samples/firewall/capture.pcap', '--config', config, '-o', out, '--alerts', alerts]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/palisade: PAL_ERR_RULE_TIMEOUT: rule 'spin-on-third' ran for \d+ ms on frame 19 /);
    expect(r.stderr).toMatch(/rule errors 1 \(spin-on-third 1; 1 stopped by rules\.timeoutMs\)/);
    expect(readFileSync(alerts, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { description: string }).description)).toEqual([
      'connection 1',
      'connection 2',
      'connection 3',
    ]);
    // Frames 1 to 18 passed (the sample's first 18 are accepted by a rule that drops nothing).
    const lines = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    expect(lines).toHaveLength(18);
  });

  it('exit 3 with PAL_ERR_HEAP_LIMIT when rule state grows past rules.heapLimitMb, not a V8 abort', () => {
    const rulesFile = join(tmp, 'hoard.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
const kept: number[][] = [];
export default defineRules(({ rule }) => {
  rule({
    name: 'hoard',
    on: tcpConnection.events.receivePacket,
    // 8 MiB kept per packet: past 64 MiB within the first check.
    eval: () => { kept.push(new Array(1 << 20).fill(1.5)); },
  });
});
`,
    );
    const config = join(tmp, 'heap.json');
    writeFileSync(config, JSON.stringify({ rules: { heapLimitMb: 64 } }));
    const r = palisade(['replay', rulesFile, 'samples/firewall/capture.pcap', '--config', config]);
    expect(r.stderr).toMatch(/PAL_ERR_HEAP_LIMIT: the engine's heap holds \d+ MiB after a full collection, past rules\.heapLimitMb \(64 MiB\), at frame \d+/);
    expect(r.status).toBe(3);
  });

  it('stops one call allocating without bound near V8\'s limit, exit 3 instead of an abort', () => {
    const rulesFile = join(tmp, 'runaway.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
const kept: number[][] = [];
export default defineRules(({ rule }) => {
  rule({
    name: 'runaway',
    on: tcpConnection.events.newConnection,
    eval: () => { for (let i = 0; ; i++) kept.push(new Array(1000).fill(i)); },
  });
});
`,
    );
    const config = join(tmp, 'no-timeout.json');
    writeFileSync(config, JSON.stringify({ rules: { timeoutMs: 0 } }));
    const r = palisade(['replay', rulesFile, 'samples/firewall/capture.pcap', '--config', config], { env: { NODE_OPTIONS: '--max-old-space-size=512' } });
    expect(r.stderr).toMatch(/PAL_ERR_HEAP_LIMIT: rule 'runaway' was stopped on frame 1 with \d+ MiB of heap in use, near V8's own limit/);
    expect(r.status).toBe(3);
  });

  it('a replay paused whole (SIGSTOP, a suspended VM) is not a stuck rule: it goes on after SIGCONT', async () => {
    const frames: Buffer[] = [];
    for (let i = 0; i < 3; i++) frames.push(...(tcpSession({ client: `10.8.0.${i + 1}:4000` }).handshake().send('up', 'x').close().frames()));
    const { encodePcap } = await import('../../core/io/pcap-writer.ts');
    const capture = join(tmp, 'paused.pcap');
    writeFileSync(capture, encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 }));
    const rulesFile = join(tmp, 'busy.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule }) => {
  rule({ name: 'busy', on: tcpConnection.events.receivePacket, eval: () => { const t = performance.now(); while (performance.now() - t < 120); } });
});
`,
    );
    const config = join(tmp, 'paused.json');
    writeFileSync(config, JSON.stringify({ rules: { timeoutMs: 200 } }));
    const p = spawn(process.execPath, ['bin/palisade.js', 'replay', rulesFile, capture, '--config', config], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    // Paused in the middle of a 120 ms call (the calls fill the run): with the pause counted,
    // the call would look 600 ms long, past rules.timeoutMs.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (let i = 0; i < 2; i++) {
      p.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 600));
      p.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/rule errors 0/);
  }, 60_000);
});
