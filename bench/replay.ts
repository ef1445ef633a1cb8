/**
 * `npm run bench`: replay of the generated capture (about a million packets, tens of thousands
 * of connections) with a small rule set, timed against a bare header-parsing loop over the same
 * file. The ratio holds across machines of different speed; packets/s and Gbit/s do not.
 *
 *   npm run bench [-- --packets N] [-- --passes N]
 *   npm run bench -- --floods [--packets N]   (bench/floods.ts: hostile traffic against the caps)
 *   npm run bench -- --startup [--runs N]     (bench/startup.ts: the CLI's start-up, whole processes)
 *
 * Ratio: palisade's time over the bare loop's, for the same file in the same run: the median of
 * the ratios of each measured replay pass to a bare pass run just before it, so that a slower
 * or faster phase of a shared machine (they last minutes) weighs on both sides alike.
 */
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createEngine } from '../core/engine.ts';
import { openCapture } from '../core/io/capture.ts';
import { bareLoop, barePass } from './bare-loop.ts';
import { DEFAULT_OUT, DEFAULT_PACKETS, ensureCapture } from './generate.ts';
import rules from './rules.ts';
import connectionRules from './connection-rules.ts';
import streamRules from './stream-rules.ts';
import streamedRules from './streamed-rules.ts';
import httpRules, { counted } from './http-rules.ts';
import httpEditRules from './http-edit-rules.ts';
import type { RuleSet } from '../core/rules.ts';

const { values } = parseArgs({
  options: { packets: { type: 'string' }, passes: { type: 'string' }, floods: { type: 'boolean' }, startup: { type: 'boolean' }, runs: { type: 'string' } },
});
if (values.startup === true) {
  const { startupTable } = await import('./startup.ts');
  startupTable(values.runs === undefined ? 10 : Number(values.runs));
  process.exit(0);
}
if (values.floods === true) {
  const { floodsTable } = await import('./floods.ts');
  floodsTable(values.packets === undefined ? 1_000_000 : Number(values.packets));
  process.exit(0);
}
const packets = values.packets === undefined ? DEFAULT_PACKETS : Number(values.packets);
const passes = values.passes === undefined ? 5 : Number(values.passes);

const capture = ensureCapture(DEFAULT_OUT, { packets });
if (capture.generated) process.stdout.write(`generated ${capture.path} in ${capture.seconds.toFixed(1)} s\n`);

const nowhere = (): Writable => new Writable({ write: (_c, _e, done) => { done(); } });

interface Run {
  packets: number;
  bytes: number;
  seconds: number;
  accepted: number;
  alerts: number;
  rssPeak: number;
}

/** One replay pass, as `palisade replay` does it, minus the output file. */
async function replayPass(path: string, set: RuleSet, config: unknown): Promise<Run> {
  const engine = createEngine({ rules: set, config, alerts: nowhere(), log: nowhere() });
  const reader = openCapture(path);
  let rssPeak = 0;
  const start = performance.now();
  let n = 0;
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    engine.push(rec.data, rec, rec.linkType, false, rec.origLen);
    if (engine.busy) await engine.settle();
    if ((++n & 0xffff) === 0) rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }
  engine.flush();
  await engine.settle();
  const seconds = (performance.now() - start) / 1000;
  reader.close();
  engine.close();
  const s = engine.stats;
  return { packets: s.packets, bytes: s.bytes, seconds, accepted: s.accepted, alerts: s.alerts, rssPeak };
}

const fmt = (r: { packets: number; bytes: number; seconds: number }): string =>
  `${(r.packets / r.seconds / 1e6).toFixed(2)} M packets/s, ${((r.bytes * 8) / r.seconds / 1e9).toFixed(2)} Gbit/s (${r.seconds.toFixed(3)} s)`;

const bare = bareLoop(capture.path, Math.max(3, passes));
process.stdout.write(`capture     ${capture.path}: ${bare.packets.toLocaleString('en-US')} packets, ${(bare.bytes / 1e6).toFixed(0)} MB\n`);
process.stdout.write(`bare loop   ${fmt(bare)}\n`);

/** The first passes warm the JIT; the best of the rest is reported, as for the bare loop, and the median of their ratios. */
async function measure(label: string, set: RuleSet, config: unknown): Promise<Run> {
  let best: Run | undefined;
  const ratios: number[] = [];
  for (let i = 0; i < Math.max(3, passes); i++) {
    const b = barePass(capture.path);
    const r = await replayPass(capture.path, set, config);
    if (i < 2) continue;
    ratios.push(r.seconds / b.seconds);
    if (best === undefined || r.seconds < best.seconds) best = r;
  }
  if (best === undefined) throw new Error('no measured pass');
  ratios.sort((x, y) => x - y);
  const median = ratios[(ratios.length - 1) >> 1] as number;
  process.stdout.write(
    `${label.padEnd(34)} ${fmt(best)}  ratio ${median.toFixed(2)}x  peak rss ${(best.rssPeak / 2 ** 20).toFixed(0)} MiB  [${best.accepted.toLocaleString('en-US')} accepted, ${best.alerts} alerts]\n`,
  );
  return best;
}

// The default: every IPv4, TCP checksum verified (the capture's are all correct).
await measure('small rule set, checksums auto', rules, {});
// What the rules and dissectors cost alone, as the peers measured in the issues do no checksums.
await measure('small rule set, checksums never', rules, { checksumValidation: 'never' });
// tcp_connection tracking alone: a rule on newConnection, so no stream is reassembled.
await measure('connection rule, checksums never', connectionRules, { checksumValidation: 'never' });
// tcp_connection: every connection tracked, every stream reassembled, a receiveData rule.
await measure('receiveData rule, checksums auto', streamRules, {});
const data = await measure('receiveData rule, checksums never', streamRules, { checksumValidation: 'never' });
// HTTP: the same streams parsed as HTTP/1.1, a rule on every request and on every transaction's end.
counted.transactions = 0;
const web = await measure('http rules, checksums never', httpRules, { checksumValidation: 'never' });
const perPass = counted.transactions / Math.max(3, passes);
process.stdout.write(`${''.padEnd(34)} ${(perPass / web.seconds / 1e3).toFixed(1)} k transactions/s (${perPass.toLocaleString('en-US')} a pass), ${(web.seconds / data.seconds).toFixed(2)}x the receiveData line's time\n`);
// HTTP with every head rewritten both ways: every web connection renumbered from its first request on.
counted.transactions = 0;
const edited = await measure('http rules editing every head', httpEditRules, { checksumValidation: 'never' });
const editedPerPass = counted.transactions / Math.max(3, passes);
process.stdout.write(`${''.padEnd(34)} ${(editedPerPass / edited.seconds / 1e3).toFixed(1)} k transactions/s, ${(edited.seconds / web.seconds).toFixed(2)}x the http line's time\n`);
// Streamed: one async rule per flow and direction reading every stream line by line; packets held until read.
await measure('streamed rule, checksums never', streamedRules, { checksumValidation: 'never' });
