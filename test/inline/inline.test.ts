/**
 * palisade inline, end to end: a client and a server namespace with real kernel TCP stacks, a
 * kernel bridge between them in a third namespace, and `palisade run --bridge br0` judging the
 * bridged traffic through NFQUEUE. Needs root; the namespaces are removed even when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueueKernelStats } from '../../core/inline/queue-worker.ts';
import { seededBytes } from '../seeded-bytes.js';
import { tcpSession } from '../../testing.ts';
import { canRun, CLIENT_IP, cleanLeftovers, createTopology, destroyTopology, inNs, SERVER_IP, SERVER_IP6, spawnInNs, type Topology } from './netns.ts';

const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
const endpoints = fileURLToPath(new URL('./endpoints.js', import.meta.url));
const rules = fileURLToPath(new URL('./fixtures/rules.ts', import.meta.url));
const crashOnce = fileURLToPath(new URL('./fixtures/crash-once.ts', import.meta.url));
const faults = fileURLToPath(new URL('./fixtures/faults.ts', import.meta.url));
const crashHolding = fileURLToPath(new URL('./fixtures/crash-holding.ts', import.meta.url));
const can = canRun();

/** JSON lines from a child's stdout, and a way to wait for one. */
class Lines {
  readonly records: Record<string, unknown>[] = [];
  #waiters: (() => void)[] = [];

  constructor(proc: ChildProcess) {
    let buffered = '';
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.records.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not ours.
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    });
  }

  async waitFor(pred: (r: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> {
    const deadline = performance.now() + ms;
    for (;;) {
      const found = this.records.find(pred);
      if (found !== undefined) return found;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; saw ${JSON.stringify(this.records.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A `palisade run` inside the bridge namespace. */
class Palisade {
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly proc: ChildProcess,
    readonly socket: string,
  ) {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    proc.stdout?.resume();
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(t: Topology, dir: string, args: readonly string[], ruleFile = rules): Promise<Palisade> {
    const socket = join(dir, `ctl-${Math.random().toString(36).slice(2, 8)}.sock`);
    const proc = spawnInNs(t.mid, process.execPath, [bin, 'run', ruleFile, '--bridge', 'br0', '--socket', socket, '--no-typecheck', ...args]);
    const p = new Palisade(proc, socket);
    const deadline = performance.now() + 30_000;
    const exit = { seen: false };
    void p.exited.then(() => (exit.seen = true));
    while (!p.stderr.includes('palisade run: ready:')) {
      if (exit.seen || performance.now() > deadline) throw new Error(`palisade run did not start:\n${p.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return p;
  }

  ctl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [bin, 'ctl', ...args, '--socket', this.socket], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

function runEndpoint(t: Topology, mode: string, ...args: string[]): Record<string, unknown> {
  const out = inNs(t.client, process.execPath, [endpoints, mode, ...args], 20_000).trim().split('\n').pop() ?? '';
  return JSON.parse(out) as Record<string, unknown>;
}

function palisadeRules(t: Topology): string[] {
  return inNs(t.mid, 'iptables', ['-S', 'FORWARD'])
    .split('\n')
    .filter((l) => l.includes('palisade:'));
}

async function waitForAlert(file: string, pred: (a: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  const deadline = performance.now() + ms;
  for (;;) {
    const found = alerts(file).find(pred);
    if (found !== undefined) return found;
    if (performance.now() > deadline) throw new Error(`no such alert in ${ms} ms; last: ${JSON.stringify(alerts(file).slice(-3))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function alerts(file: string): Record<string, unknown>[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const curl = (t: Topology, ...args: string[]): string => inNs(t.client, 'curl', ['-sS', '-m', '30', ...args], 40_000);

describe.skipIf(!can.ok)(`palisade run inline on a bridge, with real kernel endpoints${can.ok ? '' : ` (skipped: ${can.why})`}`, () => {
  let t: Topology | undefined;
  let dir = '';
  let server: ChildProcess | undefined;
  let serverLines: Lines;
  let bigSha256 = '';
  const running: Palisade[] = [];
  const net = (): Topology => {
    if (t === undefined) throw new Error('no topology');
    return t;
  };
  const serverSaw = (port: number, remotePort: unknown, event: string, ms = 2000): Promise<Record<string, unknown>> =>
    serverLines.waitFor((r) => r.event === event && r.port === port && r.remotePort === remotePort, ms, `server ${event} on ${port} from ${String(remotePort)}`);

  beforeAll(async () => {
    cleanLeftovers();
    dir = mkdtempSync(join(tmpdir(), 'pal-inline-'));
    t = createTopology();
    server = spawnInNs(t.server, process.execPath, [endpoints, 'server']);
    serverLines = new Lines(server);
    const listening = await serverLines.waitFor((r) => r.event === 'listening', 15_000, 'the server');
    bigSha256 = String(listening.bigSha256);
  }, 30_000);

  afterAll(() => {
    try {
      for (const p of running) p.kill('SIGKILL');
      server?.kill('SIGKILL');
    } finally {
      if (t !== undefined) destroyTopology(t);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('one queue', () => {
    let pal: Palisade;
    let alertFile = '';
    let flowFile = '';

    beforeAll(async () => {
      alertFile = join(dir, 'alerts.jsonl');
      flowFile = join(dir, 'flows.jsonl');
      pal = await Palisade.start(net(), dir, ['--queue', '0', '--alerts', alertFile, '--flows', flowFile]);
      running.push(pal);
    }, 40_000);

    it('inserts one iptables rule for bridged traffic, with --queue-bypass', () => {
      const lines = palisadeRules(net());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/-i br0 -o br0 -m physdev --physdev-is-bridged .*-j NFQUEUE --queue-num 0 --queue-bypass/);
    });

    it('an allowed connection carries an HTTP exchange, and 10 MiB each way byte-exact', () => {
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');

      const down = join(dir, 'big.bin');
      expect(curl(net(), '-o', down, '-w', '%{http_code}', `http://${SERVER_IP}:8080/big`)).toBe('200');
      const got = readFileSync(down);
      expect(got.length).toBe(10 * 1024 * 1024);
      expect(createHash('sha256').update(got).digest('hex')).toBe(bigSha256);

      const upFile = join(dir, 'up.bin');
      const up = randomBytes(10 * 1024 * 1024);
      writeFileSync(upFile, up);
      const answer = JSON.parse(curl(net(), '--data-binary', `@${upFile}`, '-H', 'content-type: application/octet-stream', `http://${SERVER_IP}:8080/upload`)) as {
        bytes: number;
        sha256: string;
      };
      expect(answer).toEqual({ bytes: up.length, sha256: createHash('sha256').update(up).digest('hex') });
    }, 60_000);

    it('100 MiB with offloads on (GSO super-packets queued whole) arrive byte-exact, and palisade reassembled every byte', async () => {
      const before = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { packets: number; bytes: number } } };
      const size = 100 * 1024 * 1024;
      const file = join(dir, 'repeat.bin');
      const port = Number(curl(net(), '-o', file, '-w', '%{local_port}', `http://${SERVER_IP}:8080/repeat/${size}`));
      const got = readFileSync(file);
      rmSync(file);
      expect(got.length).toBe(size);
      const big = seededBytes(6, 10 * 1024 * 1024);
      const want = createHash('sha256');
      for (let left = size; left > 0; left -= big.length) want.update(left >= big.length ? big : big.subarray(0, left));
      expect(createHash('sha256').update(got).digest('hex')).toBe(want.digest('hex'));
      // The rules saw the whole response as one stream without a hole (headers + body down).
      const alert = await waitForAlert(alertFile, (a) => String(a.description).startsWith(`bulk stream ${port}:`), 5000);
      const m = /: (\d+) up, (\d+) down, (\d+) holes$/.exec(String(alert.description));
      expect(Number(m?.[2])).toBeGreaterThan(size);
      expect(Number(m?.[2])).toBeLessThan(size + 1024);
      expect(m?.[3]).toBe('0');
      // GSO: far fewer queued packets than the 72,000 MTU frames of the body alone.
      const after = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { packets: number; bytes: number } } };
      expect(after.result.total.bytes - before.result.total.bytes).toBeGreaterThan(size);
      expect(after.result.total.packets - before.result.total.packets).toBeLessThan(36_000);
    }, 120_000);

    it('flow.reset() in the middle of a GSO bulk transfer: the RSTs carry the right sequence numbers, both ends stop at once', () => {
      const before = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { injected: number } } };
      const size = 100 * 1024 * 1024;
      const started = performance.now();
      const r = spawnSync('ip', ['netns', 'exec', net().client, 'curl', '-sS', '-m', '20', '-H', 'x-cut: 32MiB', '-o', '/dev/null', '-w', '%{size_download}', `http://${SERVER_IP}:8080/repeat/${size}`], {
        encoding: 'utf8',
      });
      const ms = performance.now() - started;
      // curl 56: the connection was reset (not 28, a timeout: the client's stack took the RST).
      expect(r.status, r.stderr).toBe(56);
      expect(r.stderr).toMatch(/reset by peer/i);
      const got = Number(r.stdout);
      expect(got).toBeGreaterThan(16 * 1024 * 1024);
      expect(got).toBeLessThan(size);
      expect(ms).toBeLessThan(5000);
      const after = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { injected: number } } };
      expect(after.result.total.injected - before.result.total.injected).toBe(2);
    }, 30_000);

    it('a connection the firewall group refuses never completes its handshake', () => {
      expect(runEndpoint(net(), 'connect', SERVER_IP, '9999', '2500')).toEqual({ connected: false, error: 'timeout' });
      expect(serverLines.records.some((r) => r.event === 'accept' && r.port === 9999)).toBe(false);
      expect(alerts(alertFile).some((a) => a.description === 'connection refused')).toBe(true);
    });

    it('flow.reset() on a keyword kills the connection: client and server both see ECONNRESET at once', async () => {
      const r = runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'FORBIDDEN');
      expect(r).toMatchObject({ connected: true, error: 'ECONNRESET', closed: true });
      expect(r.ms).toBeLessThan(1000);
      await serverSaw(9000, r.localPort, 'error');
      expect(serverLines.records.find((x) => x.event === 'error' && x.remotePort === r.localPort)?.code).toBe('ECONNRESET');
      // The segment carrying the keyword was dropped: the server only got the first line.
      const data = serverLines.records.filter((x) => x.event === 'data' && x.remotePort === r.localPort).map((x) => x.text);
      expect(data.join('')).toBe('hello\n');
      // palisade's RSTs leave through LOCAL_OUT, never FORWARD: none came back into the queue.
      expect(alerts(alertFile).filter((a) => String(a.description).startsWith('rst seen'))).toEqual([]);
    }, 20_000);

    it('flow.reset() works over IPv6 as well (ip6tables rule, raw IPv6 socket)', async () => {
      expect(curl(net(), '-g', `http://[${SERVER_IP6}]:8080/small`)).toBe('hello through palisade\n');
      const r = runEndpoint(net(), 'keyword', SERVER_IP6, '9000', 'FORBIDDEN');
      expect(r).toMatchObject({ connected: true, error: 'ECONNRESET', closed: true });
      expect(r.ms).toBeLessThan(1000);
      const e = await serverSaw(9000, r.localPort, 'error');
      expect(e.code).toBe('ECONNRESET');
    }, 20_000);

    it('flow.halfreset() resets the server side only: the client is left hanging', async () => {
      const r = runEndpoint(net(), 'keyword', SERVER_IP, '9100', 'HALFKILL');
      expect(r).toMatchObject({ connected: true, error: null, closed: false });
      const e = await serverSaw(9100, r.localPort, 'error');
      expect(e.code).toBe('ECONNRESET');
      expect(alerts(alertFile).filter((a) => String(a.description).startsWith('rst seen'))).toEqual([]);
    }, 20_000);

    it('a streamed rule holds a line until it is whole: verdicts for held packets come later, a blocked line never arrives', async () => {
      const hold = spawnInNs(net().client, process.execPath, [endpoints, 'hold', SERVER_IP, '9200']);
      try {
        const lines = new Lines(hold);
        const c = await lines.waitFor((r) => r.event === 'connected', 5000, 'the client to connect');
        const received = (): string =>
          serverLines.records
            .filter((r) => r.event === 'data' && r.port === 9200 && r.remotePort === c.localPort)
            .map((r) => String(r.text))
            .join('');
        hold.stdin?.write('write first half, \n');
        await lines.waitFor((r) => r.event === 'sent', 3000, 'the first half');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(received()).toBe('');
        hold.stdin?.write('send second half\n');
        await serverLines.waitFor(() => received() === 'first half, second half\n', 3000, 'the whole line');
        hold.stdin?.write('send a BLOCKED line\n');
        const err = await lines.waitFor((r) => r.event === 'error', 3000, 'the reset');
        expect(err.code).toBe('ECONNRESET');
        expect((await serverSaw(9200, c.localPort, 'error')).code).toBe('ECONNRESET');
        expect(received()).toBe('first half, second half\n');
      } finally {
        hold.kill('SIGKILL');
      }
    }, 20_000);

    it('normalises inline: a segment overlapping earlier bytes with other ones reaches the server rewritten to the first copy, its checksum valid', async () => {
      // A connection no socket has, crafted at both ends (each kernel told to ignore it), and
      // captured where the server's kernel would get it.
      const port = 45678;
      inNs(net().server, 'iptables', ['-I', 'INPUT', '-p', 'tcp', '--sport', String(port), '-j', 'DROP']);
      inNs(net().client, 'iptables', ['-I', 'INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
      const pcapFile = join(dir, 'normalised.pcap');
      const dump = spawnInNs(net().server, 'tcpdump', ['-i', 'eth0', '-U', '-n', '-w', pcapFile, 'tcp', 'port', String(port)]);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const s = tcpSession({ client: `${CLIENT_IP}:${port}`, server: `${SERVER_IP}:9300` }).handshake().send('up', 'hello world', { ack: false }).resend('up', 'HELLO WORLD', { at: 0 });
        const ip = s.frames().map((f) => f.subarray(14).toString('hex'));
        const send = (ns: string, dst: string, packets: string[]): void => {
          expect(JSON.parse(inNs(ns, process.execPath, [endpoints, 'send-ip', dst, ...packets], 10_000).trim().split('\n').pop() ?? '')).toEqual({ sent: packets.length });
        };
        send(net().client, SERVER_IP, [ip[0] as string]);
        send(net().server, CLIENT_IP, [ip[1] as string]);
        send(net().client, SERVER_IP, ip.slice(2));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      } finally {
        dump.kill('SIGINT');
        await new Promise((resolve) => dump.on('exit', resolve));
        inNs(net().server, 'iptables', ['-D', 'INPUT', '-p', 'tcp', '--sport', String(port), '-j', 'DROP']);
        inNs(net().client, 'iptables', ['-D', 'INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']);
      }
      const r = spawnSync('tshark', ['-n', '-r', pcapFile, '-o', 'tcp.check_checksum:TRUE', '-Y', 'tcp.len > 0', '-T', 'fields', '-e', 'tcp.payload', '-e', 'tcp.checksum.status'], { encoding: 'utf8' });
      const segments = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      // Both copies arrived, the second as the first: the server's stack never saw HELLO WORLD.
      const hello = Buffer.from('hello world').toString('hex');
      expect(segments, pal.stderr.slice(-3000)).toEqual([
        [hello, '1'],
        [hello, '1'],
      ]);
    }, 30_000);

    it('malformed packets are counted and judged; palisade goes on', () => {
      const before = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { packets: number; anomalies: number; errors: number } } };
      expect(runEndpoint(net(), 'garbage', CLIENT_IP, SERVER_IP)).toEqual({ sent: 6 });
      const after = JSON.parse(pal.ctl('stats', '--json').stdout) as { result: { total: { packets: number; anomalies: number; errors: number } } };
      expect(after.result.total.packets - before.result.total.packets).toBeGreaterThanOrEqual(6);
      expect(after.result.total.anomalies).toBeGreaterThan(before.result.total.anomalies);
      expect(after.result.total.errors).toBe(0);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
    });

    it('ctl stats reports the packets seen, as a table and as JSON; ctl status names the rule file', () => {
      const json = pal.ctl('stats', '--json');
      expect(json.status, json.stderr).toBe(0);
      const reply = JSON.parse(json.stdout) as {
        ok: boolean;
        result: {
          total: { packets: number; bytes: number; accepted: number; dropped: number; droppedBy: Record<string, number>; injected: number; kernel: QueueKernelStats };
          queues: unknown[];
          unjudged: number;
        };
      };
      expect(reply.ok).toBe(true);
      expect(reply.result.queues).toHaveLength(1);
      const { total } = reply.result;
      // 20 MiB each way, in GSO super-packets (queued whole: far fewer than 14,000 MTU frames).
      expect(total.bytes).toBeGreaterThan(20 * 1024 * 1024);
      expect(total.packets).toBeLessThan(14_000);
      // The kernel queued every packet palisade judged; batches carried several; runs of
      // accepts left as batch verdicts; nothing was lost or let through unjudged.
      expect(total.kernel.queued).toBeGreaterThanOrEqual(total.packets);
      expect(total.kernel.batches).toBeGreaterThan(0);
      expect(total.kernel.batchVerdicts).toBeGreaterThan(0);
      expect(total.kernel.verdictMessages).toBeLessThan(total.packets);
      expect(total.kernel.queueDropped + total.kernel.userDropped + total.kernel.undelivered + total.kernel.malformed + total.kernel.refused + total.kernel.failures).toBe(0);
      expect(reply.result.unjudged).toBe(0);
      expect(reply.result.total.dropped).toBeGreaterThan(0);
      // Every drop counted under the kind of its reason: the resets' flows here.
      expect(Object.values(total.droppedBy).reduce((a, b) => a + b, 0)).toBe(total.dropped);
      expect(total.droppedBy['flow-action']).toBeGreaterThan(0);
      expect(reply.result.total.injected).toBe(9);

      const table = pal.ctl('stats');
      expect(table.status).toBe(0);
      expect(table.stdout).toMatch(/^queue +packets +bytes +accepted +dropped/);
      expect(table.stdout).toMatch(/\n0 +[\d,]+ +[\d.]+ MiB/);
      expect(table.stdout).toMatch(/\nkernel queue +queued +waiting +dropped: queue full +socket full/);
      expect(table.stdout).toContain('let through unjudged by the kernel (fail-open, queue bypass): 0');
      expect(table.stdout).toMatch(/\ndropped by reason: .*flow-action [\d,]+/);

      const status = pal.ctl('status');
      expect(status.stdout).toContain(`rules       ${rules}`);
      expect(status.stdout).toContain('bridge      br0');
    });

    it('ctl reload with a broken file shows the error and keeps the old rules; a good reload keeps open flows', async () => {
      const broken = join(dir, 'broken.ts');
      writeFileSync(broken, "import { defineRules } from 'palisade';\nexport default defineRules(({ rule }) => { rule({ on: ( => 1 }); });\n");
      const bad = pal.ctl('reload', broken);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/reload failed, the old rules stay: PAL_ERR_RULE_LOAD: .*broken\.ts/);
      // The old rules still refuse and reset.
      expect(runEndpoint(net(), 'connect', SERVER_IP, '9999', '1500')).toMatchObject({ connected: false });
      expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'FORBIDDEN')).toMatchObject({ error: 'ECONNRESET' });

      // A connection opened before a good reload is still tracked after it: the keyword resets it.
      const hold = spawnInNs(net().client, process.execPath, [endpoints, 'hold', SERVER_IP, '9000']);
      try {
        const lines = new Lines(hold);
        await lines.waitFor((r) => r.event === 'connected', 5000, 'the client to connect');
        hold.stdin?.write('send before reload\n');
        await lines.waitFor((r) => r.event === 'sent', 5000, 'the first line');
        const good = pal.ctl('reload');
        expect(good.status, good.stderr).toBe(0);
        expect(good.stdout).toBe(`reloaded ${rules}\n`);
        hold.stdin?.write('send FORBIDDEN\n');
        const err = await lines.waitFor((r) => r.event === 'error', 3000, 'the reset');
        expect(err.code).toBe('ECONNRESET');
      } finally {
        hold.kill('SIGKILL');
      }
    }, 30_000);

    it('ctl reload loads the whole module graph again: a changed helper module takes effect', () => {
      // The same rules, with the reset keyword taken from a helper module beside them.
      const helper = join(dir, 'keyword.ts');
      const withHelper = join(dir, 'with-helper.ts');
      const source = readFileSync(rules, 'utf8').replace("data.includes('FORBIDDEN')", 'data.includes(KEYWORD)');
      writeFileSync(withHelper, source.replace("from 'palisade';", "from 'palisade';\nimport { KEYWORD } from './keyword.ts';"));
      try {
        writeFileSync(helper, "export const KEYWORD = 'OLDWORD';\n");
        expect(pal.ctl('reload', withHelper).status).toBe(0);
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'OLDWORD')).toMatchObject({ error: 'ECONNRESET' });
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'NEWWORD')).toMatchObject({ connected: true, error: null });
        // Only the helper changes; the rule file itself is the same.
        writeFileSync(helper, "export const KEYWORD = 'NEWWORD';\n");
        expect(pal.ctl('reload').status).toBe(0);
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'NEWWORD')).toMatchObject({ error: 'ECONNRESET' });
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'OLDWORD')).toMatchObject({ connected: true, error: null });
      } finally {
        expect(pal.ctl('reload', rules).status).toBe(0);
      }
    }, 30_000);

    it('SIGTERM: open flows end with reason shutdown, the iptables rule goes, traffic still flows', async () => {
      const hold = spawnInNs(net().client, process.execPath, [endpoints, 'hold', SERVER_IP, '9100']);
      try {
        const lines = new Lines(hold);
        const connected = await lines.waitFor((r) => r.event === 'connected', 5000, 'the client to connect');
        hold.stdin?.write('send before shutdown\n');
        await serverSaw(9100, connected.localPort, 'data');

        pal.kill('SIGTERM');
        const exit = await pal.exited;
        expect(exit, pal.stderr).toEqual({ code: 0, signal: null });
        expect(pal.stderr).toMatch(/palisade run: stopped after [\d.]+ s: [\d,]+ packets/);
        expect(palisadeRules(net())).toEqual([]);

        const flows = readFileSync(flowFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
        const flow = flows.find((f) => f['id.orig_p'] === connected.localPort);
        expect(flow?.end_reason).toBe('shutdown');

        // The same connection goes on, no longer inspected: the keyword passes now.
        hold.stdin?.write('send FORBIDDEN after shutdown\n');
        const after = await serverLines.waitFor(
          (r) => r.event === 'data' && r.remotePort === connected.localPort && String(r.text).includes('after shutdown'),
          3000,
          'data after shutdown',
        );
        expect(after.text).toBe('FORBIDDEN after shutdown\n');
        expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      } finally {
        hold.kill('SIGKILL');
      }
    }, 30_000);
  });

  describe('ctl reload is atomic', () => {
    /** One control request straight over the socket, and how long its reply took. */
    const request = (socket: string, req: Record<string, unknown>): Promise<{ ms: number; reply: { ok: boolean; result?: Record<string, unknown> } }> =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const conn = createConnection(socket);
        let text = '';
        conn.setEncoding('utf8');
        conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
        conn.on('data', (chunk: string) => {
          text += chunk;
          if (!text.includes('\n')) return;
          conn.end();
          resolve({ ms: performance.now() - started, reply: JSON.parse(text.slice(0, text.indexOf('\n'))) as { ok: boolean; result?: Record<string, unknown> } });
        });
        conn.on('error', reject);
      });
    type Status = { reloads: number; rules: string; workers: { alive: boolean; restarts: number }[] };
    type Totals = { packets: number; connections: number };
    const status = async (p: Palisade): Promise<Status> => (await request(p.socket, { cmd: 'status' })).reply.result as unknown as Status;
    const totals = async (p: Palisade): Promise<Totals> => ((await request(p.socket, { cmd: 'stats' })).reply.result as unknown as { total: Totals }).total;
    /** The test's rules, after top-level code that holds its thread for `ms`. */
    const slowRules = (name: string, ms: number): string => {
      const file = join(dir, name);
      const source = readFileSync(rules, 'utf8');
      writeFileSync(file, source.replace("from 'palisade';", `from 'palisade';\n\nconst until = Date.now() + ${ms};\nwhile (Date.now() < until) Math.random();`));
      return file;
    };
    const ctlAsync = (p: Palisade, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const c = spawn(process.execPath, [bin, 'ctl', ...args, '--socket', p.socket]);
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('exit', (code) => resolve({ status: code, stdout, stderr }));
      });
    /** An open connection through the bridge on port 9100 and the lines the server got on it. */
    const openConnection = async (): Promise<{ hold: ChildProcess; localPort: unknown; send: (text: string) => Promise<void> }> => {
      const hold = spawnInNs(net().client, process.execPath, [endpoints, 'hold', SERVER_IP, '9100']);
      const lines = new Lines(hold);
      const { localPort } = await lines.waitFor((r) => r.event === 'connected', 5000, 'the client to connect');
      const send = async (text: string): Promise<void> => {
        hold.stdin?.write(`send ${text}\n`);
        await serverLines.waitFor((r) => r.event === 'data' && r.remotePort === localPort && String(r.text).includes(text), 3000, `'${text}' at the server`);
      };
      return { hold, localPort, send };
    };
    const flowsOf = (file: string, port: unknown): Record<string, unknown>[] =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((f) => f['id.orig_p'] === port);

    it('ctl reload of a file whose top-level code runs 2 s is refused (PAL_ERR_RELOAD) while ctl status answers; the worker, its counters and its open connection stay', async () => {
      const flowFile = join(dir, 'reload-slow-flows.jsonl');
      const p = await Palisade.start(net(), dir, ['--queue', '0', '--flows', flowFile]);
      running.push(p);
      const c = await openConnection();
      try {
        await c.send('before the reload');
        expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
        const before = await totals(p);
        expect(before.packets).toBeGreaterThan(10);

        const slow = slowRules('slow.ts', 2000);
        const reload = ctlAsync(p, 'reload', slow);
        let done = false;
        void reload.then(() => (done = true));
        // The vet runs off the control thread: status answers at once all along.
        const latencies: number[] = [];
        while (!done) {
          latencies.push((await request(p.socket, { cmd: 'status' })).ms);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const r = await reload;
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toMatch(/reload failed, the old rules stay: PAL_ERR_RELOAD: .*slow\.ts: .*top-level code/);
        expect(latencies.length).toBeGreaterThanOrEqual(3);
        expect(Math.max(...latencies)).toBeLessThan(1000);

        // The same worker: not replaced, its counters go on from where they were.
        const s = await status(p);
        expect(s.workers).toEqual([expect.objectContaining({ alive: true, restarts: 0 })]);
        expect(s.reloads).toBe(0);
        expect(s.rules).toBe(rules);
        expect(p.stderr).not.toMatch(/was stuck|died|starting it again/);
        const after = await totals(p);
        expect(after.packets).toBeGreaterThanOrEqual(before.packets);
        await c.send('after the reload');
        expect((await totals(p)).packets).toBeGreaterThan(after.packets);
        // The old rules still judge: a refused port stays refused.
        expect(runEndpoint(net(), 'connect', SERVER_IP, '9999', '1500')).toMatchObject({ connected: false });
      } finally {
        expect(p.ctl('stop').status).toBe(0);
        await p.exited;
        c.hold.kill('SIGKILL');
      }
      // Tracked from its handshake to the stop, both lines counted: the flow table was never lost.
      const flows = flowsOf(flowFile, c.localPort);
      expect(flows).toEqual([expect.objectContaining({ end_reason: 'shutdown', midstream: false, orig_bytes: 'before the reload\nafter the reload\n'.length })]);
    }, 60_000);

    it.each([[['--queue', '0']], [['--queues', '0-1', '--workers', 'process']]])('ctl reload of a file whose top-level code runs 400 ms (past rules.timeoutMs, within the reload bound) swaps it in without replacing the worker, and keeps the flow table (%j)', async (args) => {
      const flowFile = join(dir, `reload-good-flows-${args.length}.jsonl`);
      const p = await Palisade.start(net(), dir, [...args, '--flows', flowFile]);
      running.push(p);
      const c = await openConnection();
      try {
        await c.send('before the reload');
        const before = await totals(p);
        const good = slowRules('good-slow.ts', 400);
        const r = await ctlAsync(p, 'reload', good);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`reloaded ${good}\n`);
        const s = await status(p);
        expect(s.workers.map((w) => [w.alive, w.restarts])).toEqual(s.workers.map(() => [true, 0]));
        expect(s.reloads).toBe(1);
        expect(s.rules).toBe(good);
        expect(p.stderr).not.toMatch(/was stuck|died|starting it again/);
        await c.send('after the reload');
        const after = await totals(p);
        expect(after.packets).toBeGreaterThan(before.packets);
        // The new rules judge: a refused port stays refused, the keyword resets.
        expect(runEndpoint(net(), 'connect', SERVER_IP, '9999', '1500')).toMatchObject({ connected: false });
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'FORBIDDEN')).toMatchObject({ error: 'ECONNRESET' });
      } finally {
        expect(p.ctl('stop').status).toBe(0);
        await p.exited;
        c.hold.kill('SIGKILL');
      }
      const flows = flowsOf(flowFile, c.localPort);
      expect(flows).toEqual([expect.objectContaining({ end_reason: 'shutdown', midstream: false, orig_bytes: 'before the reload\nafter the reload\n'.length })]);
    }, 60_000);
  });

  describe('a full queue (palisade stopped with SIGSTOP)', () => {
    const stats = (p: Palisade): { total: { kernel: QueueKernelStats }; unjudged: number } =>
      (JSON.parse(p.ctl('stats', '--json').stdout) as { result: { total: { kernel: QueueKernelStats }; unjudged: number } }).result;
    const config = (failOpen: boolean): string => {
      const file = join(dir, `queue-${String(failOpen)}.json`);
      writeFileSync(file, JSON.stringify({ inline: { queueLength: 16, failOpen } }));
      return file;
    };

    it('fail-open (the default): traffic flows past the full queue, and ctl stats counts it after SIGCONT', async () => {
      const p = await Palisade.start(net(), dir, ['--config', config(true)]);
      running.push(p);
      try {
        p.kill('SIGSTOP');
        // 16 datagrams fill the queue; the rest, and a whole HTTP exchange, pass unjudged.
        expect(runEndpoint(net(), 'udp-burst', SERVER_IP, '9300', '200')).toEqual({ sent: 200 });
        expect(curl(net(), '-m', '5', `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
        p.kill('SIGCONT');
        const s = stats(p);
        expect(s.unjudged).toBeGreaterThan(150);
        expect(s.total.kernel.queueDropped).toBe(0);
        const table = p.ctl('stats').stdout;
        expect(table).toMatch(/let through unjudged by the kernel \(fail-open, queue bypass\): [1-9][\d,]*/);
        // The whole process was stopped, the worker with it: that is no stuck rule.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(p.stderr).not.toMatch(/was stuck/);
      } finally {
        p.kill('SIGCONT');
        p.ctl('stop');
        await p.exited;
      }
    }, 40_000);

    it('inline.failOpen false: the kernel drops past the full queue, and counts it', async () => {
      const p = await Palisade.start(net(), dir, ['--config', config(false)]);
      running.push(p);
      try {
        p.kill('SIGSTOP');
        expect(runEndpoint(net(), 'udp-burst', SERVER_IP, '9300', '200')).toEqual({ sent: 200 });
        const r = spawnSync('ip', ['netns', 'exec', net().client, 'curl', '-sS', '-m', '2', `http://${SERVER_IP}:8080/small`], { encoding: 'utf8' });
        expect(r.status).not.toBe(0);
        p.kill('SIGCONT');
        const s = stats(p);
        expect(s.total.kernel.queueDropped).toBeGreaterThan(150);
        expect(s.unjudged).toBe(0);
        expect(p.stderr).not.toMatch(/was stuck/);
      } finally {
        p.kill('SIGCONT');
        p.ctl('stop');
        await p.exited;
      }
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
    }, 40_000);
  });

  describe('crash and several queues', () => {
    it('kill -9 does not black-hole the bridge (queue bypass); the next start removes the dead rule', async () => {
      const dead = await Palisade.start(net(), dir, []);
      running.push(dead);
      dead.kill('SIGKILL');
      await dead.exited;
      expect(palisadeRules(net())).toHaveLength(1);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');

      const next = await Palisade.start(net(), dir, ['--queues', '0-1']);
      running.push(next);
      expect(next.stderr).toContain('removed a rule left by a palisade that is gone');
      const lines = palisadeRules(net());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('--queue-balance 0:1 --queue-bypass');

      // Worker threads judge the traffic: the firewall and the reset work as with one queue (the
      // RSTs leave from the main thread).
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'FORBIDDEN')).toMatchObject({ error: 'ECONNRESET' });
      const stats = JSON.parse(next.ctl('stats', '--json').stdout) as { result: { queues: { queue: number; packets: number; pid: number }[]; total: { packets: number; injected: number } } };
      expect(stats.result.queues.map((q) => q.queue)).toEqual([0, 1]);
      expect(stats.result.total.packets).toBeGreaterThan(10);
      expect(stats.result.total.injected).toBe(2);
      // Threads: one process.
      expect(new Set(stats.result.queues.map((q) => q.pid)).size).toBe(1);

      const stop = next.ctl('stop');
      expect(stop.status).toBe(0);
      expect(await next.exited).toEqual({ code: 0, signal: null });
      expect(palisadeRules(net())).toEqual([]);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
    }, 60_000);

    it('worker threads that die (an uncaught exception) are started again; the process goes on', async () => {
      const marker = join(dir, 'crashed-once');
      process.env.PAL_TEST_CRASH_MARKER = marker;
      let p: Palisade;
      try {
        p = await Palisade.start(net(), dir, ['--queues', '0-1'], crashOnce);
      } finally {
        delete process.env.PAL_TEST_CRASH_MARKER;
      }
      running.push(p);
      const deadline = performance.now() + 10_000;
      while ((p.stderr.match(/worker for queue \d \(thread\) died \(a worker thread ends on an uncaught exception\); starting it again/g) ?? []).length < 2) {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`palisade run ended (${p.proc.signalCode ?? p.proc.exitCode}):\n${p.stderr}`);
        if (performance.now() > deadline) throw new Error(`the workers did not die twice:\n${p.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Started again after a second; meanwhile its queue bypassed.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const status = p.ctl('status', '--json');
      const workers = (JSON.parse(status.stdout) as { result: { workers: { alive: boolean; restarts: number }[] } }).result.workers;
      expect(workers.map((w) => w.alive)).toEqual([true, true]);
      expect(workers.map((w) => w.restarts)).toEqual([1, 1]);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }, 60_000);

    /** Starts palisade on the faults fixture, sets off `word` once on port 9000, waits for `replaced` on stderr. */
    const faultRun = async (args: readonly string[], word: string, replaced: RegExp, timeoutMs = 200): Promise<Palisade> => {
      const config = join(dir, `faults-${word}.json`);
      writeFileSync(config, JSON.stringify({ rules: { timeoutMs, heapLimitMb: 128 } }));
      const marker = join(dir, `fault-${word}-${args.join('')}`);
      process.env.PAL_TEST_FAULT_MARKER = marker;
      let p: Palisade;
      try {
        p = await Palisade.start(net(), dir, [...args, '--config', config], faults);
      } finally {
        delete process.env.PAL_TEST_FAULT_MARKER;
      }
      running.push(p);
      // The connection survives: its packets bypass the queue while no worker listens.
      expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', word)).toMatchObject({ connected: true, error: null });
      const deadline = performance.now() + 10_000;
      while (!replaced.test(p.stderr)) {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`palisade run ended (${p.proc.signalCode ?? p.proc.exitCode}):\n${p.stderr}`);
        if (performance.now() > deadline) {
          p.kill('SIGKILL');
          throw new Error(`no worker was replaced:\n${p.stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(readFileSync(marker, 'utf8')).toBe(`${word}\n`);
      // Started again after a second.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      return p;
    };
    const restartsOf = (p: Palisade): number[] =>
      (JSON.parse(p.ctl('stats', '--json').stdout) as { result: { queues: { restarts: number }[] } }).result.queues.map((q) => q.restarts);

    it('a rule that never returns (rules.timeoutMs): its worker thread is replaced, ctl stats counts it, traffic flows on', async () => {
      const p = await faultRun(
        ['--queue', '0'],
        'SPIN',
        /worker for queue 0 \(thread\) was stuck and is ended \(PAL_ERR_RULE_TIMEOUT: its rules ran \d+ ms without returning \(rules\.timeoutMs 200\)\); starting it again/,
      );
      expect(restartsOf(p)).toEqual([1]);
      expect(p.ctl('stats').stdout).toMatch(/restarts/);
      // The new worker judges the traffic (its counters start from zero).
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      const judged = JSON.parse(p.ctl('stats', '--json').stdout) as { result: { total: { packets: number } } };
      expect(judged.result.total.packets).toBeGreaterThanOrEqual(8);
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(palisadeRules(net())).toEqual([]);
    }, 60_000);

    it('a rule that allocates without bound (rules.heapLimitMb): the thread ends with a coded message, not a V8 abort, and is replaced', async () => {
      const p = await faultRun(
        ['--queue', '0'],
        'HOG',
        /worker for queue 0 \(thread\) died \(PAL_ERR_HEAP_LIMIT: its heap reached rules\.heapLimitMb \(128 MiB\)\); starting it again/,
        // Collections near the limit take time: the heap limit, not the time limit, must end it.
        60_000,
      );
      expect(restartsOf(p)).toEqual([1]);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }, 60_000);

    it('--workers process: a worker process stuck in a rule stops itself, exits and is replaced', async () => {
      const p = await faultRun(
        ['--queues', '0-1', '--workers', 'process'],
        'SPIN',
        /worker for queue \d \(pid \d+\) was stopped \(PAL_ERR_RULE_TIMEOUT: its rules ran \d+ ms without returning \(rules\.timeoutMs 200\)\); it exits to be replaced/,
      );
      expect(p.stderr).toMatch(/worker for queue \d \(pid \d+\) died \(status 3\); starting it again/);
      expect(restartsOf(p).sort()).toEqual([0, 1]);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }, 60_000);

    it('a worker thread that dies while a child process it started still runs is started again at once: the child never inherits the queue socket (close-on-exec), which kept the queue bound and refused the new worker', async () => {
      const marker = join(dir, 'crash-holding');
      process.env.PAL_TEST_FAULT_MARKER = marker;
      let p: Palisade;
      try {
        p = await Palisade.start(net(), dir, ['--queue', '0'], crashHolding);
      } finally {
        delete process.env.PAL_TEST_FAULT_MARKER;
      }
      running.push(p);
      try {
        expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'HOLDCRASH')).toMatchObject({ connected: true });
        const holder = Number(readFileSync(marker, 'utf8').trim());
        const deadline = performance.now() + 15_000;
        const alive = (): boolean => (JSON.parse(p.ctl('status', '--json').stdout) as { result: { workers: { alive: boolean }[] } }).result.workers[0]?.alive === true;
        // Started again while the child (sleep 5) still runs: it holds no socket of the queue.
        while (!/worker for queue 0 \(thread\) died \(a worker thread ends on an uncaught exception\); starting it again/.test(p.stderr) || !alive()) {
          if (performance.now() > deadline) throw new Error(`the worker did not start again:\n${p.stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect(() => process.kill(holder, 0)).not.toThrow();
        const sockets = readdirSync(`/proc/${holder}/fd`).map((fd) => { try { return readlinkSync(`/proc/${holder}/fd/${fd}`); } catch { return ''; } });
        // No netlink socket among what it inherited (/proc/net/netlink lists each one's inode).
        const netlink = new Set(readFileSync('/proc/net/netlink', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).at(-1)));
        expect(sockets.filter((l) => netlink.has(/^socket:\[(\d+)\]$/.exec(l)?.[1]))).toEqual([]);
        expect(p.stderr).not.toMatch(/is still bound to netlink port/);
        expect(p.stderr).not.toMatch(/did not start again|another program holds this queue/);
        expect(restartsOf(p)).toEqual([1]);
        const before = JSON.parse(p.ctl('stats', '--json').stdout) as { result: { total: { packets: number } } };
        expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
        const after = JSON.parse(p.ctl('stats', '--json').stdout) as { result: { total: { packets: number } } };
        expect(after.result.total.packets - before.result.total.packets).toBeGreaterThanOrEqual(8);
      } finally {
        expect(p.ctl('stop').status).toBe(0);
        await p.exited;
      }
    }, 60_000);

    it('an alerts file on a full disk (/dev/full): said once, and packets are still judged', async () => {
      const p = await Palisade.start(net(), dir, ['--queue', '0', '--alerts', '/dev/full']);
      running.push(p);
      // A port the firewall refuses: an alert that cannot be written.
      expect(runEndpoint(net(), 'connect', SERVER_IP, '7777', '1500')).toMatchObject({ connected: false });
      const deadline = performance.now() + 5000;
      while (!/queue 0: PAL_ERR_OUTPUT: \/dev\/full: cannot be written: ENOSPC.*packets are still judged/.test(p.stderr)) {
        if (performance.now() > deadline) throw new Error(`no report:\n${p.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(runEndpoint(net(), 'connect', SERVER_IP, '7777', '1500')).toMatchObject({ connected: false });
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(p.stderr.match(/PAL_ERR_OUTPUT/g)).toHaveLength(1);
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }, 60_000);

    it('--workers process: one process per queue, judging as threads do', async () => {
      const p = await Palisade.start(net(), dir, ['--queues', '0-1', '--workers', 'process']);
      running.push(p);
      expect(curl(net(), `http://${SERVER_IP}:8080/small`)).toBe('hello through palisade\n');
      expect(runEndpoint(net(), 'keyword', SERVER_IP, '9000', 'FORBIDDEN')).toMatchObject({ error: 'ECONNRESET' });
      const stats = JSON.parse(p.ctl('stats', '--json').stdout) as { result: { queues: { pid: number }[]; total: { injected: number } } };
      expect(stats.result.total.injected).toBe(2);
      const pids = new Set(stats.result.queues.map((q) => q.pid));
      expect(pids.size).toBe(2);
      expect(pids.has(p.proc.pid ?? -1)).toBe(false);
      expect(p.ctl('stop').status).toBe(0);
      expect(await p.exited).toEqual({ code: 0, signal: null });
      expect(palisadeRules(net())).toEqual([]);
    }, 60_000);
  });
});

describe('palisade run and ctl: bad flags and files fail fast with coded messages', () => {
  const cli = (...args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  };
  it.each([
    [['run'], /PAL_ERR_USAGE: palisade run: needs <rules.ts>/],
    [['run', rules, '--queue', 'x'], /PAL_ERR_USAGE: palisade run: --queue takes a queue number from 0 to 65535, not 'x'/],
    [['run', rules, '--queue', '1', '--queues', '0-1'], /PAL_ERR_USAGE: palisade run: give --queue or --queues, not both/],
    [['run', rules, '--queues', '3-1'], /PAL_ERR_USAGE: .*the range is empty/],
    [['run', rules, '--frobnicate'], /PAL_ERR_USAGE: palisade run: Unknown option '--frobnicate'/],
    [['run', rules, '--workers', 'fibers'], /PAL_ERR_USAGE: palisade run: --workers takes 'thread' or 'process', not 'fibers'/],
    [['run', 'no-such-rules.ts'], /PAL_ERR_FILE_NOT_FOUND: rule file 'no-such-rules.ts'/],
    [['run', rules, '--config', 'no-such.json'], /PAL_ERR_FILE_NOT_FOUND: config file 'no-such.json'/],
    [['ctl'], /PAL_ERR_USAGE: palisade ctl: needs a command/],
    [['ctl', 'frob'], /PAL_ERR_USAGE: palisade ctl: unknown command 'frob'/],
    [['ctl', 'loglevel', 'loud'], /PAL_ERR_USAGE: palisade ctl loglevel: needs one level/],
  ])('palisade %j exits 2', (args, message) => {
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a bad config value exits 2 naming the key', () => {
    const d = mkdtempSync(join(tmpdir(), 'pal-inline-cfg-'));
    try {
      const cfg = join(d, 'config.json');
      writeFileSync(cfg, JSON.stringify({ tcp: { maxFlows: 'many' } }));
      const r = cli('run', rules, '--config', cfg);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/PAL_ERR_CONFIG: .*key 'tcp.maxFlows' is "many"/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('ctl with no palisade behind the socket exits 1 and says so', () => {
    const r = cli('ctl', 'stats', '--socket', join(tmpdir(), `pal-none-${process.pid}.sock`));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/PAL_ERR_CTL: cannot reach .*: no palisade is running there/);
  });

  it.skipIf(!can.ok)('a missing bridge is PAL_ERR_BRIDGE before anything is installed', () => {
    const ns = `pal-inl-${process.pid}-x`;
    const d = mkdtempSync(join(tmpdir(), 'pal-inline-br-'));
    try {
      spawnSync('ip', ['netns', 'add', ns]);
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, bin, 'run', rules, '--no-typecheck', '--bridge', 'nobr0', '--socket', join(d, 's.sock')], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/PAL_ERR_BRIDGE: bridge 'nobr0': no such interface in this network namespace/);
      expect(inNs(ns, 'iptables', ['-S', 'FORWARD'])).not.toContain('palisade');
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(d, { recursive: true, force: true });
    }
  });
});
