/**
 * `npm run bench -- --floods [--packets N]`: each flood of bench/flood-traffic.ts (a million
 * packets by default) through an engine with the default caps and a rule on every connection
 * and every stream's data, each in a fresh process so that its peak RSS is its own. Prints
 * packets/s, peak RSS and heap, and the peak of what each cap bounds next to the cap.
 */
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../core/engine.ts';
import { defaultConfig } from '../core/config.ts';
import { defineRules, tcpConnection } from '../index.ts';
import { flood, floodDoc, floodNames, type FloodName } from './flood-traffic.ts';

const MIB = 1024 * 1024;

interface FloodResult {
  name: FloodName;
  packets: number;
  seconds: number;
  peakRssMb: number;
  peakHeapMb: number;
  peakFlows: number;
  peakReassemblyMb: number;
  peakFragmentsMb: number;
  /** The peak of what the engine's memcap counts (engine.memory). */
  peakMemoryMb: number;
  /** Connections refused for the caps (anomaly tcp-flow-table-full). */
  refused: number;
  /** Stream bytes the data rule got. */
  delivered: number;
}

/** One flood in this process. */
export async function runFlood(name: FloodName, count: number, config: Record<string, unknown> = {}): Promise<FloodResult> {
  const nowhere = new Writable({ write: (_c, _e, done) => { done(); } });
  let bytes = 0;
  const rules = defineRules(({ rule }) => {
    rule({ name: 'connections', on: tcpConnection.events.newConnection, eval: () => undefined });
    rule({ name: 'data', on: tcpConnection.events.receiveData, eval: (_f, data) => {
        bytes += data.length;
      },
    });
  });
  const engine = createEngine({ rules, config: { ...config, checksumValidation: 'never' }, alerts: nowhere, log: nowhere });
  const r = { name, packets: 0, seconds: 0, peakRssMb: 0, peakHeapMb: 0, peakFlows: 0, peakReassemblyMb: 0, peakFragmentsMb: 0, peakMemoryMb: 0, refused: 0, delivered: 0 };
  const ts = { secs: 1_700_000_000, nsecs: 0 };
  const look = (): void => {
    r.peakHeapMb = Math.max(r.peakHeapMb, process.memoryUsage().heapUsed / MIB);
    r.peakFlows = Math.max(r.peakFlows, engine.flows);
    r.peakReassemblyMb = Math.max(r.peakReassemblyMb, engine.reassemblyMemory / MIB);
    r.peakFragmentsMb = Math.max(r.peakFragmentsMb, engine.fragmentMemory / MIB);
    r.peakMemoryMb = Math.max(r.peakMemoryMb, engine.memory / MIB);
  };
  const start = performance.now();
  flood(name, count, (frame) => {
    // A microsecond apart: a million packets in a second, as a flood comes.
    ts.nsecs += 1000;
    if (ts.nsecs >= 1e9) {
      ts.secs++;
      ts.nsecs = 0;
    }
    engine.push(frame, ts, 1);
    if ((++r.packets & 0x3fff) === 0) look();
  });
  look();
  engine.flush();
  await engine.settle();
  engine.close();
  r.seconds = (performance.now() - start) / 1000;
  r.peakRssMb = process.resourceUsage().maxRSS / 1024;
  r.delivered = bytes;
  r.refused = engine.stats.anomalies.get('tcp-flow-table-full') ?? 0;
  return r;
}

const self = fileURLToPath(import.meta.url);

/** Every flood, each in a child process; prints the table. */
export function floodsTable(count: number): void {
  const c = defaultConfig();
  process.stdout.write(
    `floods of ${count.toLocaleString('en-US')} packets, default caps: tcp.maxFlows ${c.tcp.maxFlows.toLocaleString('en-US')}, tcp.maxEmbryonic ${c.tcp.maxEmbryonic.toLocaleString('en-US')}, ` +
      `tcp.reassembly.memcap ${c.tcp.reassembly.memcap / MIB} MiB, fragments.memcap ${c.fragments.memcap / MIB} MiB\n`,
  );
  process.stdout.write(`${'flood'.padEnd(18)} ${'packets/s'.padStart(10)} ${'peak rss'.padStart(9)} ${'peak heap'.padStart(9)} ${'flows'.padStart(8)} ${'reasm MiB'.padStart(9)} ${'frag MiB'.padStart(8)} ${'memcap\'d'.padStart(9)}\n`);
  for (const name of floodNames) {
    const child = spawnSync(process.execPath, [...process.execArgv, self, '--one', name, '--packets', String(count)], { encoding: 'utf8' });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !line.startsWith('{')) {
      process.stdout.write(`${name.padEnd(18)} failed (${child.signal ?? child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}\n`);
      continue;
    }
    const r = JSON.parse(line) as FloodResult;
    const mb = (v: number): string => v.toFixed(1);
    process.stdout.write(
      `${name.padEnd(18)} ${Math.round(r.packets / r.seconds).toLocaleString('en-US').padStart(10)} ${`${mb(r.peakRssMb)}M`.padStart(9)} ${`${mb(r.peakHeapMb)}M`.padStart(9)} ` +
        `${r.peakFlows.toLocaleString('en-US').padStart(8)} ${mb(r.peakReassemblyMb).padStart(9)} ${mb(r.peakFragmentsMb).padStart(8)} ${mb(r.peakMemoryMb).padStart(9)}   ${floodDoc[name]}\n`,
    );
  }
}

const args = process.argv.slice(2);
const one = args.indexOf('--one');
if (one >= 0) {
  const name = args[one + 1] as FloodName;
  const p = args.indexOf('--packets');
  const c = args.indexOf('--config');
  const result = await runFlood(name, p >= 0 ? Number(args[p + 1]) : 1_000_000, c >= 0 ? (JSON.parse(args[c + 1] ?? '{}') as Record<string, unknown>) : {});
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
