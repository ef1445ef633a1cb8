/**
 * Throughput through a kernel bridge with palisade inline, against the bridge alone. Builds the
 * inline test's namespaces (test/inline/netns.ts: client — br0 — server, real kernel TCP), then
 * times a bulk HTTP download (curl, N MiB) through the bridge in each mode:
 *
 *   bridge alone             no iptables rule (veth offloads on: 64 KiB GSO frames cross the bridge)
 *   bridge alone, no offload TSO/GSO/GRO off: every frame at most MTU-sized, as NFQUEUE delivers them
 *   nfqueue binding floor    NFQUEUE with a JavaScript handler that accepts at once (no engine)
 *   palisade allow-all       palisade run, one newConnection rule (connection tracking)
 *   palisade test rules      the inline test's rules: firewall group + keyword scan of reassembled data
 *
 * Mbit/s is the payload rate curl reports. frames/s counts the frames entering the bridge ports
 * (both directions; with offloads on, a 64 KiB GSO frame counts once). queued packets/s counts
 * what NFQUEUE delivered (the kernel segments GSO frames before queueing them: MTU-sized
 * packets), from the floor's own count or `palisade ctl stats`. Needs root.
 *
 *   sudo npx tsx bench/inline.ts [--mib 200] [--runs 3]
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ruleSpec } from '../core/inline/iptables.ts';
import { canRun, cleanLeftovers, createTopology, destroyTopology, inNs, SERVER_IP, spawnInNs, type Topology } from '../test/inline/netns.ts';

const { values } = parseArgs({ options: { mib: { type: 'string' }, runs: { type: 'string' } } });
const mib = Number(values.mib ?? 200);
const runs = Number(values.runs ?? 3);
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const bin = here('../bin/palisade.js');
const endpoints = here('../test/inline/endpoints.js');
const acceptAll = here('./inline/accept-all.js');

interface Sample {
  mbps: number;
  framesPerSec: number;
  queuedPerSec: number;
  seconds: number;
}

/** Packets judged so far by whatever reads the queue. */
type Counter = () => Promise<number>;

function bridgeFrames(t: Topology): number {
  let n = 0;
  for (const dev of ['pc', 'ps']) n += Number(inNs(t.mid, 'cat', [`/sys/class/net/${dev}/statistics/rx_packets`]).trim());
  return n;
}

async function download(t: Topology, queued?: Counter): Promise<Sample> {
  const before = bridgeFrames(t);
  const queuedBefore = queued === undefined ? 0 : await queued();
  const out = inNs(t.client, 'curl', ['-sS', '-m', '300', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `http://${SERVER_IP}:8080/bulk/${mib * 1024 * 1024}`], 320_000);
  const frames = bridgeFrames(t) - before;
  const queuedCount = queued === undefined ? 0 : (await queued()) - queuedBefore;
  const [size, time] = out.trim().split(' ').map(Number) as [number, number];
  if (size !== mib * 1024 * 1024) throw new Error(`curl got ${size} bytes, not ${mib} MiB`);
  return { mbps: (size * 8) / time / 1e6, framesPerSec: frames / time, queuedPerSec: queuedCount / time, seconds: time };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function measure(t: Topology, label: string, queued?: Counter): Promise<{ label: string; mbps: number; pps: number }> {
  await download(t, queued); // warm-up: JIT, ARP, TCP metrics
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await download(t, queued));
  const mbps = median(samples.map((s) => s.mbps));
  const fps = median(samples.map((s) => s.framesPerSec));
  const pps = median(samples.map((s) => s.queuedPerSec));
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  process.stdout.write(
    `${label.padEnd(26)} ${mbps.toFixed(0).padStart(6)} Mbit/s ${n(fps).padStart(8)} frames/s ${queued === undefined ? '' : `${n(pps).padStart(8)} queued packets/s`}  (runs: ${samples.map((s) => s.mbps.toFixed(0)).join(', ')} Mbit/s)\n`,
  );
  return { label, mbps, pps };
}

/** Asks a line-oriented counter (accept-all.js) for its count. */
function lineCounter(proc: ChildProcess): Counter {
  let waiting: ((n: number) => void) | null = null;
  proc.stdout?.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').pop() ?? '';
    if (/^\d+$/.test(last) && waiting !== null) {
      const w = waiting;
      waiting = null;
      w(Number(last));
    }
  });
  return () =>
    new Promise((resolve) => {
      waiting = resolve;
      proc.stdin?.write('count\n');
    });
}

function ctlCounter(socket: string): Counter {
  return () => {
    const out = execFileSync(process.execPath, [bin, 'ctl', 'stats', '--json', '--socket', socket], { encoding: 'utf8' });
    return Promise.resolve((JSON.parse(out) as { result: { total: { packets: number } } }).result.total.packets);
  };
}

function offloads(t: Topology, on: boolean): void {
  const state = on ? 'on' : 'off';
  for (const [ns, dev] of [[t.client, 'eth0'], [t.server, 'eth0'], [t.mid, 'pc'], [t.mid, 'ps']] as const) {
    inNs(ns, 'ethtool', ['-K', dev, 'tso', state, 'gso', state, 'gro', state]);
  }
}

async function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', text: string): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    proc[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    proc.on('exit', () => {
      reject(new Error(`exited before '${text}':\n${seen}`));
    });
  });
}

async function main(): Promise<void> {
  const can = canRun();
  if (!can.ok) throw new Error(`bench/inline.ts ${can.why}`);
  cleanLeftovers();
  const dir = mkdtempSync(join(tmpdir(), 'pal-bench-inline-'));
  const t = createTopology();
  const procs: ChildProcess[] = [];
  try {
    const server = spawnInNs(t.server, process.execPath, [endpoints, 'server']);
    procs.push(server);
    await waitFor(server, 'stdout', 'listening');
    process.stdout.write(`bulk download of ${mib} MiB through br0, median of ${runs} runs (after one warm-up)\n`);

    const results = [await measure(t, 'bridge alone')];

    const spec = ruleSpec('br0', { first: 0, last: 0 }, process.pid);
    const floor = spawn('ip', ['netns', 'exec', t.mid, process.execPath, acceptAll, '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(floor);
    await waitFor(floor, 'stdout', 'ready');
    inNs(t.mid, 'iptables', ['-I', ...spec]);
    const floorCount = lineCounter(floor);
    results.push(await measure(t, 'nfqueue binding floor', floorCount));
    inNs(t.mid, 'iptables', ['-D', ...spec]);
    floor.kill('SIGTERM');

    for (const [label, rules] of [
      ['palisade allow-all', here('./inline/allow-all.ts')],
      ['palisade test rules', here('../test/inline/fixtures/rules.ts')],
    ] as const) {
      const socket = join(dir, 'ctl.sock');
      const pal = spawnInNs(t.mid, process.execPath, [bin, 'run', rules, '--bridge', 'br0', '--socket', socket, '--no-typecheck', '--alerts', join(dir, 'alerts.jsonl')]);
      procs.push(pal);
      await waitFor(pal, 'stderr', 'ready:');
      results.push(await measure(t, label, ctlCounter(socket)));
      spawnSync(process.execPath, [bin, 'ctl', 'stop', '--socket', socket], { stdio: 'ignore' });
      await new Promise((resolve) => pal.once('exit', resolve));
    }

    offloads(t, false);
    results.push(await measure(t, 'bridge alone, no offload'));
    offloads(t, true);

    const base = results[0]?.mbps ?? 1;
    const noOffload = results.find((r) => r.label === 'bridge alone, no offload')?.mbps ?? 1;
    const floorPps = results.find((r) => r.label === 'nfqueue binding floor')?.pps ?? 1;
    process.stdout.write('\nMbit/s relative to the bridge alone (with offloads / without); queued packets/s relative to the binding floor:\n');
    for (const r of results) {
      process.stdout.write(`  ${r.label.padEnd(26)} ${(r.mbps / base).toFixed(3)} / ${(r.mbps / noOffload).toFixed(3)}${r.pps > 0 ? `   ${(r.pps / floorPps).toFixed(3)}` : ''}\n`);
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    destroyTopology(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
