/** The end-of-run summary, for people (stderr), and `--stats` detail. */
import type { Stats } from '../stats.ts';
import { printable } from '../printable.ts';
import { DROP_KINDS } from '../../dissectors/verdict.ts';
import { byteSize, count as n } from './figures.ts';

export function summary(stats: Stats, seconds: number, options: { passThrough: boolean; detail: boolean }): string {
  const pps = seconds > 0 ? stats.packets / seconds : 0;
  const gbps = seconds > 0 ? (stats.bytes * 8) / seconds / 1e9 : 0;
  const lines = [
    `packets     ${n(stats.packets)} (${byteSize(stats.bytes)}): ${n(stats.accepted)} accepted, ${n(stats.dropped)} dropped${options.passThrough ? ' (pass-through: forwarded anyway)' : ''}, ${n(stats.nonIp)} not IP`,
    ...(stats.dropsByReason.size > 0 ? [`drops by    ${dropDetail(stats)}`] : []),
    `connections ${n(stats.connections)}${protoDetail(stats)}`,
    `alerts      ${n(stats.alerts)}`,
    `anomalies   ${n(stats.anomalyTotal)}`,
    `rule errors ${n(stats.ruleErrors)}${ruleErrorDetail(stats)}`,
    ...(stats.injected > 0 ? [`injected    ${n(stats.injected)} (RSTs)`] : []),
    `time        ${seconds.toFixed(3)} s, ${n(Math.round(pps))} packets/s, ${gbps.toFixed(3)} Gbit/s`,
  ];
  if (options.detail) {
    for (const [kind, count] of [...stats.anomalies].sort((a, b) => b[1] - a[1])) lines.push(`  ${kind.padEnd(34)} ${n(count)}`);
    const mem = process.memoryUsage();
    lines.push(`memory      rss ${byteSize(mem.rss)}, heap ${byteSize(mem.heapUsed)}`);
  }
  return lines.join('\n');
}

/** `rule 12, policy 3, memcap 1`: frames dropped by the kind of their reason, in design order. */
export function dropDetail(stats: Stats): string {
  return DROP_KINDS.filter((k) => stats.dropsByReason.has(k)).map((k) => `${k} ${n(stats.dropsByReason.get(k) ?? 0)}`).join(', ');
}

/** ` (http 1,200, tls 80, none 3)`: ended flows by the protocol recognised in them, most first; nothing when none was. */
export function protoDetail(stats: Stats): string {
  const by = [...stats.flowsByProto].sort((a, b) => b[1] - a[1]);
  if (by.length === 0 || (by.length === 1 && by[0]?.[0] === 'none')) return '';
  return ` (${by.map(([p, c]) => `${printable(p)} ${n(c)}`).join(', ')})`;
}

/** ` (bad-rule 1,230, other 4; 1 stopped by rules.timeoutMs)`: the rules that threw, most first. */
function ruleErrorDetail(stats: Stats): string {
  const rules = [...stats.ruleErrorsByRule].sort((a, b) => b[1] - a[1]);
  if (rules.length === 0) return '';
  const shown = rules.slice(0, 3).map(([rule, count]) => `${printable(rule)} ${n(count)}`).join(', ') + (rules.length > 3 ? ', …' : '');
  return ` (${shown}${stats.ruleTimeouts > 0 ? `; ${n(stats.ruleTimeouts)} stopped by rules.timeoutMs` : ''})`;
}
