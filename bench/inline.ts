/**
 * palisade inline on a kernel bridge, against the bridge alone. Builds the inline test's
 * namespaces (test/inline/netns.ts: client — br0 — server, real kernel TCP, the server being
 * test/inline/endpoints.js), then measures each mode in turn:
 *
 *   bridge alone             no iptables rule (veth offloads on: 64 KiB GSO frames cross the bridge)
 *   bridge alone, no offload TSO/GSO/GRO off: every frame at most MTU-sized
 *   old binding floor        NFQUEUE read by the old `nfqueue` npm binding (0.3.2), every packet
 *                            accepted at once from JavaScript, no engine (bench/inline/accept-all.js).
 *                            No longer a dependency: installed on demand under bench/out/old-binding;
 *                            the row is skipped, saying why, if that fails
 *   C floor (nfq.c)          ../shared/inline-floor/nfq.c beside the checkout, when there: a C program
 *                            (libnetfilter_queue) accepting every packet with GSO, one verdict each;
 *                            what NFQUEUE itself allows on this machine
 *   addon floor              the old binding floor's program with palisade's own addon
 *                            (core/io/nfqueue/index.ts, with `palisade run`'s queue settings;
 *                            bench/inline/accept-all-addon.ts)
 *   palisade allow-all       palisade run, one newConnection rule (connection tracking)
 *   palisade test rules      the inline test's rules: firewall group + keyword scan of reassembled data
 *   test rules, 2 threads    the test rules with --queues 0-1 (worker threads, the default)
 *   test rules, 2 processes  the same with --workers process
 *   baseline test rules      with --baseline DIR: the same rules run by the palisade checked out in
 *                            DIR (an earlier commit, after npm ci there), for before/after figures
 *
 * Every mode but the second runs with offloads on (the veths' defaults). The measurements:
 *
 *   bulk       a bulk HTTP download (curl, --mib MiB), median of --runs after one warm-up. Mbit/s
 *              is the payload rate curl reports. frames/s counts the frames entering the bridge
 *              ports (both directions; with offloads on, a 64 KiB GSO frame counts once).
 *              queued packets/s counts what NFQUEUE delivered, from the floor's own count or
 *              `palisade ctl stats`: the old binding does not ask for GSO packets, so the kernel
 *              segments them into MTU-sized packets before queueing them; the addon and palisade
 *              ask for them whole (inline.gso), so they count a 64 KiB GSO packet once.
 *   exchanges  many small request/response exchanges (bench/inline/pingpong.c, built here with
 *              gcc: C endpoints, so that they cost little next to the path measured): 64 bytes
 *              each way, back to back on 64 TCP connections from 4 client addresses for 3 s
 *              (enough to keep the CPUs busy: with fewer, the round trip, not the path's cost,
 *              sets the rate), median of --runs. transactions/s, and packets/s: the frames
 *              entering the bridge ports, as above (and the queued ones).
 *   latency    2000 such exchanges on one connection, one every 2 ms (light load): the 50th and
 *              99th percentile round trip, measured by the client.
 *   process    for palisade: the time `run` took to be ready, the resident memory of its
 *              processes, and the packets each queue judged.
 *
 * The summary gives Mbit/s, transactions/s and latency relative to the bridge alone with offloads
 * on (Mbit/s also against no offload), and packets/s relative to the old binding's floor. Needs
 * root; all traffic stays inside the namespaces, which are deleted at the end.
 *
 *   sudo npx tsx bench/inline.ts [--mib 200] [--runs 3] [--baseline DIR]
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ruleSpec } from '../core/inline/iptables.ts';
import { canRun, CLIENT_IP, cleanLeftovers, createTopology, destroyTopology, inNs, SERVER_IP, spawnInNs, type Topology } from '../test/inline/netns.ts';

const { values } = parseArgs({ options: { mib: { type: 'string' }, runs: { type: 'string' }, baseline: { type: 'string' } } });
const mib = Number(values.mib ?? 200);
const runs = Number(values.runs ?? 3);
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const root = here('..');
const bin = here('../bin/palisade.js');
const endpoints = here('../test/inline/endpoints.js');
const acceptAll = here('./inline/accept-all.js');
const acceptAllAddon = here('./inline/accept-all-addon.ts');
const pingpongC = here('./inline/pingpong.c');
const pingpong = here('./out/pingpong');
/** Where accept-all.js finds the old binding (see there). */
const oldBindingPrefix = here('./out/old-binding');
const OLD_BINDING = 'nfqueue@0.3.2';
/** The C floor: what NFQUEUE allows with a C program accepting every packet (GSO, one verdict a packet). */
const C_FLOOR_SOURCE = here('../../shared/inline-floor/nfq.c');
const cFloor = here('./out/nfq-floor');
const C_FLOOR = 'C floor (nfq.c)';

const PINGPONG_PORT = 9300;
/**
 * The exchanges come from four client addresses (the test topology's and three more): the
 * kernel balances queues by address, so with --queues both queues get some.
 */
const CLIENT_ADDRESSES = [CLIENT_IP, '10.201.0.11', '10.201.0.12', '10.201.0.13'];
const EXCHANGE_SECONDS = 3;
const EXCHANGE_CONCURRENCY = 64;
const EXCHANGE_SIZE = 64;
const LATENCY_COUNT = 2000;
const LATENCY_INTERVAL_US = 2000;

const BASE = 'bridge alone';
const NO_OFFLOAD = 'bridge alone, no offload';
const OLD_FLOOR = 'old binding floor';
const BASELINE = 'baseline test rules';
const LABEL_WIDTH = 26;

/** Packets judged so far by whatever reads the queue. */
type Counter = () => Promise<number>;

interface Bulk {
  mbps: number;
  framesPerSec: number;
  queuedPerSec: number;
}

interface Exchanges {
  transactionsPerSec: number;
  packetsPerSec: number;
  queuedPerSec: number;
}

interface Latency {
  p50Us: number;
  p99Us: number;
}

interface Row {
  label: string;
  queued: boolean;
  bulk: Bulk;
  exchanges: Exchanges;
  latency: Latency;
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function write(label: string, measurement: string, text: string): void {
  process.stdout.write(`${label.padEnd(LABEL_WIDTH)} ${measurement.padEnd(9)} ${text}\n`);
}

function bridgeFrames(t: Topology): number {
  let frames = 0;
  for (const dev of ['pc', 'ps']) frames += Number(inNs(t.mid, 'cat', [`/sys/class/net/${dev}/statistics/rx_packets`]).trim());
  return frames;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Runs `measure` once to warm up (if asked) then `runs` times, with the bridge's frames and the queue's packets counted around each. */
async function sampled<T>(t: Topology, queued: Counter | undefined, warmUp: boolean, measure: () => T): Promise<{ value: T; frames: number; queued: number }[]> {
  if (warmUp) measure();
  const samples: { value: T; frames: number; queued: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const frames = bridgeFrames(t);
    const queuedBefore = queued === undefined ? 0 : await queued();
    const value = measure();
    samples.push({ value, frames: bridgeFrames(t) - frames, queued: queued === undefined ? 0 : (await queued()) - queuedBefore });
  }
  return samples;
}

async function bulk(t: Topology, label: string, queued?: Counter): Promise<Bulk> {
  const size = mib * 1024 * 1024;
  const samples = await sampled(t, queued, true, () => {
    const out = inNs(t.client, 'curl', ['-sS', '-m', '300', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `http://${SERVER_IP}:8080/bulk/${size}`], 320_000);
    const [got, seconds] = out.trim().split(' ').map(Number) as [number, number];
    if (got !== size) throw new Error(`curl got ${got} bytes, not ${mib} MiB`);
    return seconds;
  });
  const mbps = median(samples.map((s) => (size * 8) / s.value / 1e6));
  const framesPerSec = median(samples.map((s) => s.frames / s.value));
  const queuedPerSec = median(samples.map((s) => s.queued / s.value));
  write(
    label,
    'bulk',
    `${mbps.toFixed(0).padStart(6)} Mbit/s ${n(framesPerSec).padStart(8)} frames/s ${queued === undefined ? '' : `${n(queuedPerSec).padStart(8)} queued packets/s`}  (runs: ${samples.map((s) => ((size * 8) / s.value / 1e6).toFixed(0)).join(', ')} Mbit/s)`,
  );
  return { mbps, framesPerSec, queuedPerSec };
}

/** Runs bench/inline/pingpong.c's client in the client namespace and returns its JSON line. */
function exchangesClient(t: Topology, args: readonly string[], timeoutMs: number): Record<string, number> {
  const out = inNs(t.client, pingpong, args, timeoutMs);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
}

async function exchanges(t: Topology, label: string, queued?: Counter): Promise<Exchanges> {
  const args = ['rate', SERVER_IP, String(PINGPONG_PORT), String(EXCHANGE_CONCURRENCY), String(EXCHANGE_SECONDS), String(EXCHANGE_SIZE), ...CLIENT_ADDRESSES];
  const samples = await sampled(t, queued, false, () => {
    const r = exchangesClient(t, args, EXCHANGE_SECONDS * 1000 + 60_000);
    return { transactions: r.transactions ?? 0, seconds: r.seconds ?? 1 };
  });
  const transactionsPerSec = median(samples.map((s) => s.value.transactions / s.value.seconds));
  const packetsPerSec = median(samples.map((s) => s.frames / s.value.seconds));
  const queuedPerSec = median(samples.map((s) => s.queued / s.value.seconds));
  write(
    label,
    'exchanges',
    `${n(transactionsPerSec).padStart(6)} transactions/s ${n(packetsPerSec).padStart(8)} packets/s ${queued === undefined ? '' : `${n(queuedPerSec).padStart(8)} queued packets/s`}  (runs: ${samples.map((s) => n(s.value.transactions / s.value.seconds)).join(', ')} transactions/s)`,
  );
  return { transactionsPerSec, packetsPerSec, queuedPerSec };
}

function latency(t: Topology, label: string): Latency {
  const r = exchangesClient(t, ['latency', SERVER_IP, String(PINGPONG_PORT), String(LATENCY_COUNT), String(LATENCY_INTERVAL_US), String(EXCHANGE_SIZE)], (LATENCY_COUNT * LATENCY_INTERVAL_US) / 1000 + 60_000);
  const result = { p50Us: r.p50Us ?? -1, p99Us: r.p99Us ?? -1 };
  write(label, 'latency', `p50 ${n(result.p50Us).padStart(5)} µs  p99 ${n(result.p99Us).padStart(5)} µs  max ${n(r.maxUs ?? -1)} µs  (${r.count ?? 0} round trips)`);
  return result;
}

async function measure(t: Topology, label: string, queued?: Counter): Promise<Row> {
  return {
    label,
    queued: queued !== undefined,
    bulk: await bulk(t, label, queued),
    exchanges: await exchanges(t, label, queued),
    latency: latency(t, label),
  };
}

/** Asks a line-oriented counter (accept-all.js, accept-all-addon.ts) for its count. */
function lineCounter(proc: ChildProcess): Counter {
  let waiting: ((count: number) => void) | null = null;
  proc.stdout?.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').pop() ?? '';
    if (/^\d+$/.test(last) && waiting !== null) {
      const w = waiting;
      waiting = null;
      w(Number(last));
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting = null;
        reject(new Error('the floor did not answer with its count within 10 s'));
      }, 10_000);
      waiting = (count) => {
        clearTimeout(timer);
        resolve(count);
      };
      proc.stdin?.write('count\n');
    });
}

function ctlCounter(socket: string): Counter {
  return () => {
    const out = execFileSync(process.execPath, [bin, 'ctl', 'stats', '--json', '--socket', socket], { encoding: 'utf8', timeout: 30_000 });
    return Promise.resolve((JSON.parse(out) as { result: { total: { packets: number } } }).result.total.packets);
  };
}

/** Start-up time, and the resident memory of palisade's processes (main and workers). */
function memory(mainPid: number, socket: string, readyMs: number): string {
  const out = execFileSync(process.execPath, [bin, 'ctl', 'stats', '--json', '--socket', socket], { encoding: 'utf8', timeout: 30_000 });
  const queues = (JSON.parse(out) as { result: { queues: { pid: number; packets: number }[] } }).result.queues;
  const pids = [...new Set([mainPid, ...queues.map((q) => q.pid)])];
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return `ready in ${n(readyMs)} ms, rss ${n(kib / 1024)} MiB in ${pids.length} process${pids.length === 1 ? '' : 'es'}, packets per queue ${queues.map((q) => n(q.packets)).join(' / ')}`;
}

function offloads(t: Topology, on: boolean): void {
  const state = on ? 'on' : 'off';
  for (const [ns, dev] of [[t.client, 'eth0'], [t.server, 'eth0'], [t.mid, 'pc'], [t.mid, 'ps']] as const) {
    inNs(ns, 'ethtool', ['-K', dev, 'tso', state, 'gso', state, 'gro', state]);
  }
}

async function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', text: string, ms = 60_000): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no '${text}' within ${ms} ms:\n${seen}`));
    }, ms);
    proc[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before '${text}':\n${seen}`));
    });
  });
}

/** Waits up to `ms` for a process to exit, then kills it. */
async function exited(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Installs the old binding under bench/out/old-binding if it is not there; why it cannot be used, or null. */
function oldBinding(): string | null {
  const pkg = join(oldBindingPrefix, 'node_modules', 'nfqueue');
  if (!existsSync(pkg)) {
    process.stdout.write(`installing ${OLD_BINDING} under ${oldBindingPrefix} (for the old binding floor)\n`);
    try {
      execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', oldBindingPrefix, OLD_BINDING], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    } catch (err) {
      const stderr = ((err as { stderr?: string }).stderr ?? '').trim();
      // npm's first error lines say what went wrong (a code, the failing command or request).
      const lines = stderr
        .split('\n')
        .filter((l) => l.startsWith('npm error ') && !l.includes('A complete log'))
        .slice(0, 4)
        .map((l) => l.slice('npm error '.length));
      return `npm install ${OLD_BINDING} failed (it needs the registry, build-essential, python3 and libnetfilter-queue-dev): ${lines.length > 0 ? lines.join(' / ') : ((err as Error).message.split('\n')[0] ?? '')}`;
    }
  }
  if (!existsSync(join(pkg, 'build', 'Release', 'nfqueue.node'))) return `${pkg} has no build/Release/nfqueue.node (npm did not build it: were install scripts disabled?)`;
  return null;
}

/** Builds the C floor from ../shared/inline-floor/nfq.c beside the checkout; why it cannot, or null. */
function buildCFloor(): string | null {
  if (!existsSync(C_FLOOR_SOURCE)) return `no ${C_FLOOR_SOURCE}`;
  try {
    execFileSync('gcc', ['-O2', '-o', cFloor, C_FLOOR_SOURCE, '-lnetfilter_queue'], { stdio: ['ignore', 'pipe', 'pipe'] });
    return null;
  } catch (err) {
    return `gcc failed (needs libnetfilter-queue-dev): ${((err as { stderr?: Buffer }).stderr?.toString() ?? '').split('\n')[0] ?? ''}`;
  }
}

/**
 * Times a floor program (accept-all.js, accept-all-addon.ts under node; or `command`, the C
 * floor, which counts nothing) reading queue 0 in the bridge namespace; null (and a line saying
 * why) if it does not start.
 */
async function floorRow(t: Topology, procs: ChildProcess[], label: string, args: readonly string[], command?: readonly string[]): Promise<Row | null> {
  const argv = command ?? [process.execPath, ...args, '0'];
  const proc = spawn('ip', ['netns', 'exec', t.mid, ...argv], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(proc);
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    if (command === undefined) await waitFor(proc, 'stdout', 'ready');
    else await new Promise((resolve) => setTimeout(resolve, 1000));
  } catch {
    write(label, 'skipped', `the floor did not start: ${stderr.trim().split('\n').filter((l) => l !== '').slice(-3).join(' / ')}`);
    return null;
  }
  const spec = ruleSpec('br0', { first: 0, last: 0 }, process.pid);
  inNs(t.mid, 'iptables', ['-I', ...spec]);
  try {
    return await measure(t, label, command === undefined ? lineCounter(proc) : undefined);
  } finally {
    inNs(t.mid, 'iptables', ['-D', ...spec]);
    proc.stdin.end();
    if (command !== undefined) proc.kill('SIGTERM');
    await exited(proc, 5000);
    if (stderr.trim() !== '') process.stdout.write(`  (${label} said on stderr: ${stderr.trim().split('\n').slice(-3).join(' / ')})\n`);
  }
}

function summary(results: readonly Row[]): void {
  const base = results.find((r) => r.label === BASE);
  const noOffload = results.find((r) => r.label === NO_OFFLOAD);
  const floor = results.find((r) => r.label === OLD_FLOOR);
  if (base === undefined) return;
  const ratio = (x: number, of: number | undefined): string => (of === undefined || of <= 0 ? '-' : (x / of).toFixed(3));
  const added = (us: number, of: number): string => `${us - of >= 0 ? '+' : ''}${n(us - of)}`;
  process.stdout.write(
    `\nRelative to the bridge alone: Mbit/s (against offloads on / off), transactions/s, latency added (µs);\n` +
      `relative to the old binding floor${floor === undefined ? ' (skipped: -)' : ''}: queued packets/s of the bulk download, packets/s of the exchanges:\n`,
  );
  process.stdout.write(
    `  ${''.padEnd(LABEL_WIDTH)} ${'Mbit/s'.padEnd(13)} ${'trans/s'.padStart(7)} ${'p50 added'.padStart(9)} ${'p99 added'.padStart(9)}   ${'bulk queued'.padStart(11)} ${'exch pkt/s'.padStart(10)}\n`,
  );
  for (const r of results) {
    const mbps = `${ratio(r.bulk.mbps, base.bulk.mbps)} / ${ratio(r.bulk.mbps, noOffload?.bulk.mbps)}`;
    process.stdout.write(
      `  ${r.label.padEnd(LABEL_WIDTH)} ${mbps.padEnd(13)} ${ratio(r.exchanges.transactionsPerSec, base.exchanges.transactionsPerSec).padStart(7)} ` +
        `${added(r.latency.p50Us, base.latency.p50Us).padStart(9)} ${added(r.latency.p99Us, base.latency.p99Us).padStart(9)}   ` +
        `${(r.queued ? ratio(r.bulk.queuedPerSec, floor?.bulk.queuedPerSec) : '').padStart(11)} ${ratio(r.exchanges.packetsPerSec, floor?.exchanges.packetsPerSec).padStart(10)}\n`,
    );
  }
  const now = results.find((r) => r.label === 'palisade test rules');
  const before = results.find((r) => r.label === BASELINE);
  if (now !== undefined && before !== undefined) {
    process.stdout.write(
      `\npalisade test rules against the baseline: ${ratio(now.bulk.mbps, before.bulk.mbps)}x Mbit/s, ${ratio(now.exchanges.packetsPerSec, before.exchanges.packetsPerSec)}x exchange packets/s, ` +
        `p99 ${n(now.latency.p99Us)} against ${n(before.latency.p99Us)} µs\n`,
    );
  }
}

async function main(): Promise<void> {
  const can = canRun();
  if (!can.ok) throw new Error(`bench/inline.ts ${can.why}`);
  const oldBindingMissing = oldBinding();
  cleanLeftovers();
  const dir = mkdtempSync(join(tmpdir(), 'pal-bench-inline-'));
  const t = createTopology();
  const procs: ChildProcess[] = [];
  try {
    const server = spawnInNs(t.server, process.execPath, [endpoints, 'server']);
    procs.push(server);
    await waitFor(server, 'stdout', 'listening');
    execFileSync('gcc', ['-O2', '-o', pingpong, pingpongC]);
    for (const address of CLIENT_ADDRESSES.slice(1)) execFileSync('ip', ['-n', t.client, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    const echo = spawnInNs(t.server, pingpong, ['server', String(PINGPONG_PORT)]);
    procs.push(echo);
    await waitFor(echo, 'stdout', 'listening');
    process.stdout.write(
      `bulk: download of ${mib} MiB through br0, median of ${runs} runs (after one warm-up)\n` +
        `exchanges: ${EXCHANGE_SIZE}-byte ping-pong on ${EXCHANGE_CONCURRENCY} TCP connections for ${EXCHANGE_SECONDS} s, median of ${runs} runs\n` +
        `latency: ${LATENCY_COUNT} ${EXCHANGE_SIZE}-byte ping-pongs on one TCP connection, one every ${LATENCY_INTERVAL_US / 1000} ms\n\n`,
    );

    const results = [await measure(t, BASE)];
    offloads(t, false);
    results.push(await measure(t, NO_OFFLOAD));
    offloads(t, true);

    if (oldBindingMissing === null) {
      const row = await floorRow(t, procs, OLD_FLOOR, [acceptAll]);
      if (row !== null) results.push(row);
    } else {
      write(OLD_FLOOR, 'skipped', oldBindingMissing);
    }
    const cFloorMissing = buildCFloor();
    if (cFloorMissing === null) {
      const row = await floorRow(t, procs, C_FLOOR, [], [cFloor, '1', '1']);
      if (row !== null) results.push(row);
    } else {
      write(C_FLOOR, 'skipped', cFloorMissing);
    }
    const addonRow = await floorRow(t, procs, 'addon floor', ['--import', 'tsx', acceptAllAddon]);
    if (addonRow !== null) results.push(addonRow);

    const testRules = here('../test/inline/fixtures/rules.ts');
    const palisades: [string, string, string, string[]][] = [
      ['palisade allow-all', bin, here('./inline/allow-all.ts'), []],
      ['palisade test rules', bin, testRules, []],
      ['test rules, 2 threads', bin, testRules, ['--queues', '0-1', '--workers', 'thread']],
      ['test rules, 2 processes', bin, testRules, ['--queues', '0-1', '--workers', 'process']],
    ];
    if (values.baseline !== undefined) palisades.push([BASELINE, join(resolve(values.baseline), 'bin', 'palisade.js'), testRules, []]);
    for (const [label, palisadeBin, rules, extra] of palisades) {
      const socket = join(dir, 'ctl.sock');
      const started = performance.now();
      const pal = spawnInNs(t.mid, process.execPath, [palisadeBin, 'run', rules, '--bridge', 'br0', '--socket', socket, '--no-typecheck', '--alerts', join(dir, 'alerts.jsonl'), ...extra]);
      procs.push(pal);
      await waitFor(pal, 'stderr', 'ready:');
      const readyMs = performance.now() - started;
      try {
        results.push(await measure(t, label, ctlCounter(socket)));
        write(label, 'process', memory(pal.pid ?? 0, socket, readyMs));
      } finally {
        spawnSync(process.execPath, [palisadeBin, 'ctl', 'stop', '--socket', socket], { stdio: 'ignore', timeout: 30_000 });
        await exited(pal, 15_000);
      }
    }

    summary(results);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    destroyTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
