/**
 * `npm run bench -- --startup`: the CLI's start-up, as a user meets it. Times whole processes
 * of the compiled CLI (bin/palisade.js), 10 runs each (--runs N), and reports the median and
 * the slowest wall time, and the largest peak RSS:
 *   - `palisade --help`;
 *   - `palisade replay` of the firewall sample (43 packets: nearly all of it is start-up) with
 *     its type-check result cached, as every run after the first;
 *   - the same replay's first run, uncached (a fresh cache: the compiler loads), 3 runs.
 * Targets (issue 15): --help ≤ 0.15 s; the cached replay ≤ 0.4 s and ≤ 100 MB.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'palisade-startup-'));
// ru_maxrss of the process itself, written at exit: a CommonJS preload costs nothing measurable.
const preload = join(work, 'maxrss.cjs');
writeFileSync(preload, `process.on('exit', () => require('node:fs').appendFileSync(process.env.PALISADE_BENCH_RSS, process.resourceUsage().maxRSS + '\\n'));\n`);

interface Sample {
  seconds: number;
  rssMb: number;
}

function once(args: string[], cacheDir: string): Sample {
  const rssFile = join(work, 'rss');
  writeFileSync(rssFile, '');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', preload, 'bin/palisade.js', ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PALISADE_CACHE_DIR: cacheDir, PALISADE_BENCH_RSS: rssFile },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`palisade ${args.join(' ')}: exit ${r.status}\n${r.stderr.toString()}`);
  return { seconds, rssMb: Number(readFileSync(rssFile, 'utf8').trim()) / 1024 };
}

function series(label: string, runs: number, args: string[], cacheDir: () => string): void {
  const samples = Array.from({ length: runs }, () => once(args, cacheDir()));
  const secs = samples.map((s) => s.seconds).sort((a, b) => a - b);
  const median = secs[Math.floor(secs.length / 2)] ?? 0;
  const rss = Math.max(...samples.map((s) => s.rssMb));
  console.log(`${label.padEnd(34)} median ${median.toFixed(3)} s  max ${(secs.at(-1) ?? 0).toFixed(3)} s  peak RSS ${rss.toFixed(0)} MB  (${runs} runs)`);
}

export function startupTable(runs: number): void {
  const replay = ['replay', 'samples/firewall/rules.ts', 'samples/firewall/capture.pcap'];
  const cache = join(work, 'cache');
  try {
    once(replay, cache); // fills the cache
    series('palisade --help', runs, ['--help'], () => cache);
    series('replay firewall sample (cached)', runs, replay, () => cache);
    let fresh = 0;
    series('replay firewall sample (uncached)', Math.min(runs, 3), replay, () => join(work, `fresh-${++fresh}`));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
