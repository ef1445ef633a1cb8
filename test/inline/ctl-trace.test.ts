/**
 * `palisade ctl trace` end to end: `palisade run --bridge br0` between a client and a server
 * namespace with real kernel TCP stacks (the topology, endpoints and rules of inline.test.ts),
 * and `ctl trace` following one live connection while it carries data: the traces come as its
 * packets are judged, the data still arrives, and a client that leaves (Ctrl-C, kill -9) leaves
 * the queue free for the next. Needs root; the namespaces are removed even when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FrameTrace } from '../../core/engine.ts';
import { canRun, CLIENT_IP, cleanLeftovers, createTopology, destroyTopology, SERVER_IP, spawnInNs, type Topology } from './netns.ts';

const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
const endpoints = fileURLToPath(new URL('./endpoints.js', import.meta.url));
const rules = fileURLToPath(new URL('./fixtures/rules.ts', import.meta.url));
const can = canRun();

/** A child's output, and a way to wait for what it prints. */
class Output {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stdout?.on('data', (c: string) => (this.stdout += c));
    proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  }

  /** JSON lines printed on stdout so far. */
  get records(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async waitFor(pred: (o: Output) => boolean, ms: number, what: string): Promise<void> {
    const deadline = performance.now() + ms;
    while (!pred(this)) {
      if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; stdout ${this.stdout.slice(-500)} stderr ${this.stderr.slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe.skipIf(!can.ok)(`palisade ctl trace on a running palisade run, with real kernel endpoints${can.ok ? '' : ` (skipped: ${can.why})`}`, () => {
  let t: Topology | undefined;
  let dir = '';
  let socket = '';
  let server: Output | undefined;
  let pal: Output | undefined;
  const children: ChildProcess[] = [];
  const net = (): Topology => {
    if (t === undefined) throw new Error('no topology');
    return t;
  };
  const ctl = (...args: string[]): Output => {
    const o = new Output(spawn(process.execPath, [bin, 'ctl', ...args, '--socket', socket], { stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(o.proc);
    return o;
  };
  const ctlSync = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, 'ctl', ...args, '--socket', socket], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** What the server got from the client's connection on `port`. */
  const received = (localPort: unknown): string =>
    (server?.records ?? [])
      .filter((r) => r.event === 'data' && r.port === 9000 && r.remotePort === localPort)
      .map((r) => String(r.text))
      .join('');

  /** A connection to the server's port 9000 that sends a line when asked. */
  async function connection(): Promise<{ hold: Output; localPort: number; send: (line: string) => Promise<void> }> {
    const hold = new Output(spawnInNs(net().client, process.execPath, [endpoints, 'hold', SERVER_IP, '9000']));
    children.push(hold.proc);
    await hold.waitFor((o) => o.records.some((r) => r.event === 'connected'), 5000, 'the client to connect');
    const localPort = Number(hold.records.find((r) => r.event === 'connected')?.localPort);
    let sent = 0;
    const send = async (line: string): Promise<void> => {
      hold.proc.stdin?.write(`send ${line}\n`);
      sent++;
      await hold.waitFor((o) => o.records.filter((r) => r.event === 'sent').length >= sent, 3000, `'${line}' to be sent`);
    };
    return { hold, localPort, send };
  }

  /** Sends lines on the connection, 100 ms apart, until `trace` exits; the lines sent. */
  async function feed(c: { send: (line: string) => Promise<void> }, trace: Output, max = 20): Promise<string[]> {
    const lines: string[] = [];
    const exit = { seen: false };
    void trace.exited.then(() => (exit.seen = true));
    for (let i = 0; i < max && !exit.seen; i++) {
      const line = `line ${i} through a traced flow`;
      await c.send(line);
      lines.push(line);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return lines;
  }

  beforeAll(async () => {
    cleanLeftovers();
    dir = mkdtempSync(join(tmpdir(), 'pal-ctl-trace-'));
    socket = join(dir, 'ctl.sock');
    t = createTopology();
    server = new Output(spawnInNs(t.server, process.execPath, [endpoints, 'server']));
    await server.waitFor((o) => o.records.some((r) => r.event === 'listening'), 15_000, 'the server');
    pal = await start(['--queue', '0']);
  }, 60_000);

  async function start(args: readonly string[]): Promise<Output> {
    const p = new Output(spawnInNs(net().mid, process.execPath, [bin, 'run', rules, '--bridge', 'br0', ...args, '--socket', socket, '--no-typecheck', '--alerts', join(dir, 'alerts.jsonl')]));
    await p.waitFor((o) => o.stderr.includes('palisade run: ready:') || o.proc.exitCode !== null, 30_000, 'palisade run to be ready');
    if (!p.stderr.includes('palisade run: ready:')) throw new Error(`palisade run did not start:\n${p.stderr}`);
    return p;
  }

  afterAll(() => {
    try {
      for (const c of children) c.kill('SIGKILL');
      pal?.proc.kill('SIGKILL');
      server?.proc.kill('SIGKILL');
    } finally {
      if (t !== undefined) destroyTopology(t);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });

  let flowId = 0;

  it('--packets 3 --json: exactly 3 traces of the connection come back as its data flows, and the data all arrives', async () => {
    const c = await connection();
    const client = `${CLIENT_IP}:${c.localPort}`;
    const serverEnd = `${SERVER_IP}:9000`;
    const trace = ctl('trace', 'tcp', client, serverEnd, '--packets', '3', '--json', '--timeout', '30');
    await trace.waitFor((o) => o.stderr.includes('palisade ctl trace: tracing'), 10_000, 'the trace to start');
    expect(trace.stderr).toContain(`tracing tcp ${client} <> ${serverEnd} on queue 0: the next 3 packets, for at most 30 s`);
    const lines = await feed(c, trace);
    expect(await trace.exited, trace.stderr).toBe(0);
    const traces = trace.records as unknown as (FrameTrace & { queue: number })[];
    expect(traces).toHaveLength(3);
    expect(trace.stdout.split('\n').filter((l) => l !== '')).toHaveLength(3);
    let last = 0;
    for (const x of traces) {
      expect(x).toMatchObject({ queue: 0, type: 'trace', verdict: 'accept' });
      expect(x.frame).toBeGreaterThan(last);
      last = x.frame;
      expect(Array.isArray(x.steps)).toBe(true);
      const flow = x.steps.find((s) => s.step === 'flow');
      expect(flow).toMatchObject({ step: 'flow', proto: 'tcp', client, server: serverEnd, new: false, state: 'established' });
      flowId = (flow as { flow: number }).flow;
    }
    // Tracing changed no verdict: every line sent reached the server, in order.
    await server?.waitFor(() => received(c.localPort) === lines.map((l) => `${l}\n`).join(''), 3000, 'every line at the server');
    c.hold.proc.kill('SIGKILL');
  }, 40_000);

  it('by flow id (C<id>), the tuple the other way round works too; text traces as replay --trace prints them', async () => {
    const c = await connection();
    // The id is the engine's: the next connection's is another; find it with a 5-tuple trace first.
    const probe = ctl('trace', 'tcp', `${SERVER_IP}:9000`, `${CLIENT_IP}:${c.localPort}`, '--packets', '1', '--json', '--timeout', '30');
    await probe.waitFor((o) => o.stderr.includes('tracing'), 10_000, 'the probe to start');
    await feed(c, probe);
    expect(await probe.exited, probe.stderr).toBe(0);
    const id = (probe.records[0]?.steps as { step: string; flow?: number }[]).find((s) => s.step === 'flow')?.flow ?? 0;
    expect(id).toBeGreaterThan(flowId);

    const trace = ctl('trace', `C${id}`, '--packets', '2', '--timeout', '30');
    await trace.waitFor((o) => o.stderr.includes('tracing'), 10_000, 'the trace to start');
    expect(trace.stderr).toContain(`tracing flow ${id} on queue 0`);
    await feed(c, trace);
    expect(await trace.exited, trace.stderr).toBe(0);
    expect(trace.stdout.match(/^frame \d+ at \d{4}-\d\d-\d\dT[\d:.]+Z: accept$/gm)).toHaveLength(2);
    expect(trace.stdout).toContain(`  flow     tcp ${id} ${CLIENT_IP}:${c.localPort} > ${SERVER_IP}:9000 (established)`);
    expect(trace.stdout).toMatch(/^ {2}layer {4}ipv4 10\.201\.0\./m);
    c.hold.proc.kill('SIGKILL');
  }, 40_000);

  it('one trace per queue: a second gets PAL_ERR_TRACE_BUSY; Ctrl-C or kill -9 of the first frees the queue, and the connection goes on', async () => {
    const c = await connection();
    const tuple = ['tcp', `${CLIENT_IP}:${c.localPort}`, `${SERVER_IP}:9000`];
    const first = ctl('trace', ...tuple, '--timeout', '30');
    await first.waitFor((o) => o.stderr.includes('tracing'), 10_000, 'the first trace to start');
    const second = ctlSync('trace', ...tuple);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(/palisade ctl: PAL_ERR_TRACE_BUSY: queue 0 is tracing for another palisade ctl trace already/);
    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.stderr).toContain('palisade ctl trace: interrupted after 0 traces; palisade stops tracing');

    // Gone without a word: palisade sees the connection close and stops tracing.
    const killed = ctl('trace', ...tuple, '--timeout', '30');
    await killed.waitFor((o) => o.stderr.includes('tracing'), 10_000, 'the trace to start');
    killed.proc.kill('SIGKILL');
    await killed.exited;
    let next = ctlSync('trace', ...tuple, '--timeout', '1');
    for (let i = 0; i < 10 && next.stderr.includes('PAL_ERR_TRACE_BUSY'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = ctlSync('trace', ...tuple, '--timeout', '1');
    }
    // The queue was free; the flow sent nothing in the second given.
    expect(next.status).toBe(1);
    expect(next.stderr).toMatch(/PAL_ERR_CTL: trace: 0 of 10 traces came: no more packets of the flow came in 1 s \(--timeout\)/);

    await c.send('still through');
    await server?.waitFor(() => received(c.localPort) === 'still through\n', 3000, 'the line at the server');
    c.hold.proc.kill('SIGKILL');
  }, 40_000);

  it('a queue palisade does not run, or a tuple that is not one, says what to fix', () => {
    const queue = ctlSync('trace', '12', '--queue', '3');
    expect(queue.status).toBe(1);
    expect(queue.stderr).toMatch(/PAL_ERR_USAGE: palisade ctl trace: --queue 3: palisade runs queue 0 only; name one of them, or leave --queue out/);
    const tuple = ctlSync('trace', 'tcp', CLIENT_IP, `${SERVER_IP}:9000`);
    expect(tuple.status).toBe(2);
    expect(tuple.stderr).toMatch(/PAL_ERR_USAGE: palisade ctl trace: '10\.201\.0\.1' is not an endpoint: write ip:port/);
    const stats = ctlSync('stats', '--packets', '3');
    expect(stats.status).toBe(2);
    expect(stats.stderr).toMatch(/PAL_ERR_USAGE: palisade ctl: --packets and --queue go with trace/);
  });

  it('several queues, worker processes: a 5-tuple is traced on every queue, each trace naming the queue that judged it', async () => {
    const old = pal;
    old?.proc.kill('SIGTERM');
    await old?.exited;
    pal = await start(['--queues', '0-1', '--workers', 'process']);
    const c = await connection();
    const trace = ctl('trace', 'tcp', `${CLIENT_IP}:${c.localPort}`, `${SERVER_IP}:9000`, '--packets', '2', '--json', '--timeout', '30');
    await trace.waitFor((o) => o.stderr.includes('tracing'), 10_000, 'the trace to start');
    expect(trace.stderr).toContain('on queues 0, 1: the next 2 packets');
    const lines = await feed(c, trace);
    expect(await trace.exited, trace.stderr).toBe(0);
    const traces = trace.records;
    expect(traces).toHaveLength(2);
    // Both directions of a connection hash to one queue.
    expect(new Set(traces.map((x) => x.queue)).size).toBe(1);
    expect([0, 1]).toContain(traces[0]?.queue);
    await server?.waitFor(() => received(c.localPort) === lines.map((l) => `${l}\n`).join(''), 3000, 'every line at the server');
    c.hold.proc.kill('SIGKILL');
  }, 60_000);
});
