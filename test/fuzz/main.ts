/**
 * `npm run fuzz -- [--seconds N] [--inputs N] [--seed S] [--only RE] [--out DIR]`: the fuzz
 * loop of harness.ts from the command line (`--only tls`: only the seed captures whose path
 * matches). Prints one line per finding and a summary; exits 1 when
 * anything was found. The seed defaults to the clock; every finding names its `seed:n`, and
 * the same seed replays the same inputs. Inputs that found something are saved to --out
 * (default /tmp/palisade-fuzz); each one fixed becomes a capture under test/captures/fuzz/.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fuzz } from './harness.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, inputs: { type: 'string' }, seed: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' } },
});
const number = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`palisade fuzz: --${name} takes a whole number, not '${v}'\n`);
    process.exit(2);
  }
  return n;
};
const seconds = number('seconds', values.seconds);
const inputs = number('inputs', values.inputs);
const seed = number('seed', values.seed) ?? Date.now() % 0x1_0000_0000;
const outDir = values.out ?? '/tmp/palisade-fuzz';
const root = fileURLToPath(new URL('../..', import.meta.url));

process.stdout.write(`fuzz: seed ${seed}, ${inputs !== undefined ? `${inputs} inputs` : `${seconds ?? 60} s`}\n`);
const only = values.only === undefined ? undefined : new RegExp(values.only);
const report = await fuzz({ root, seed, outDir, ...(only === undefined ? {} : { only }), ...(inputs !== undefined ? { inputs } : { seconds: seconds ?? 60 }) });
for (const f of report.findings) process.stdout.write(`${f.kind}: ${f.input}${f.saved !== undefined ? ` (saved to ${f.saved})` : ''}\n  ${f.message.split('\n').join('\n  ')}\n`);
const by = Object.entries(report.byStrategy).map(([s, n]) => `${s} ${n}`).join(', ');
process.stdout.write(
  `fuzz: ${report.inputs} inputs from ${report.seeds} seed captures in ${report.seconds.toFixed(1)} s (${by}); ` +
    `${report.packets} packets, ${report.captureErrors} coded capture errors, ` +
    `${report.protocolEvents.http} HTTP, ${report.protocolEvents.tls} TLS and ${report.protocolEvents.dns} DNS events, peak rss ${report.peakRssMb} MiB, ` +
    `slowest input ${report.slowest.ms} ms (${report.slowest.input}): ${report.findings.length} findings\n`,
);
process.exit(report.findings.length === 0 ? 0 : 1);
