/** The end-of-run summary, for people (stderr), and `--stats` detail. */
import type { Stats } from '../stats.ts';

const n = (x: number): string => x.toLocaleString('en-US');

function bytes(x: number): string {
  if (x < 1024) return `${x} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = x / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i] ?? ''}`;
}

export function summary(stats: Stats, seconds: number, options: { passThrough: boolean; detail: boolean }): string {
  const pps = seconds > 0 ? stats.packets / seconds : 0;
  const gbps = seconds > 0 ? (stats.bytes * 8) / seconds / 1e9 : 0;
  const lines = [
    `packets     ${n(stats.packets)} (${bytes(stats.bytes)}): ${n(stats.accepted)} accepted, ${n(stats.dropped)} dropped${options.passThrough ? ' (pass-through: forwarded anyway)' : ''}, ${n(stats.nonIp)} not IP`,
    `connections ${n(stats.connections)}`,
    `alerts      ${n(stats.alerts)}`,
    `anomalies   ${n(stats.anomalyTotal)}`,
    `rule errors ${n(stats.ruleErrors)}`,
    ...(stats.injected > 0 ? [`injected    ${n(stats.injected)} (RSTs)`] : []),
    `time        ${seconds.toFixed(3)} s, ${n(Math.round(pps))} packets/s, ${gbps.toFixed(3)} Gbit/s`,
  ];
  if (options.detail) {
    for (const [kind, count] of [...stats.anomalies].sort((a, b) => b[1] - a[1])) lines.push(`  ${kind.padEnd(34)} ${n(count)}`);
    const mem = process.memoryUsage();
    lines.push(`memory      rss ${bytes(mem.rss)}, heap ${bytes(mem.heapUsed)}`);
  }
  return lines.join('\n');
}
