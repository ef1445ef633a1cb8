/**
 * The fuzz loop: mutated captures (mutate.ts) replayed in this process through the engine with a
 * rule on every event (rules.ts), under the replay watchdog. A finding is anything but a clean
 * run or a coded capture error: an exception palisade let through (crash), a rule timeout with
 * rules that never loop (hang: palisade's own code did not return), the heap limit (memory), a
 * rule error with rules that never throw (palisade handed a rule something broken, or alert
 * formatting failed), an uncaught exception or unhandled rejection.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PalisadeError } from '../../core/errors.ts';
import { replay } from '../../core/replay.ts';
import type { RuleSet } from '../../core/rules.ts';
import { loadSeeds, type Seed } from './corpus.ts';
import { makeInput, strategies, type FuzzInput, type Strategy } from './mutate.ts';
import fuzzRules from './rules.ts';

/** What a capture may fail with: the reader's coded errors. */
const CAPTURE_ERRORS = new Set(['PAL_ERR_CAPTURE_FORMAT', 'PAL_ERR_LINKTYPE_UNSUPPORTED', 'PAL_ERR_PCAP_TRUNCATED', 'PAL_ERR_PCAP_CORRUPT']);

export type FindingKind = 'crash' | 'hang' | 'memory' | 'rule-error' | 'uncaught';

export interface Finding {
  kind: FindingKind;
  /** Seed capture, strategy and `seed:n`: `makeInput(seeds, seed, n)` makes the same input. */
  input: string;
  message: string;
  /** Where the input was saved, when an output directory was given. */
  saved?: string;
}

export interface FuzzOptions {
  /** Repository root (the seeds are its captures). */
  root: string;
  seed: number;
  /** Stop after this many inputs… */
  inputs?: number;
  /** …or this many seconds, whichever comes first. */
  seconds?: number;
  /** Findings' inputs are written here. */
  outDir?: string;
  /** Heap in use after an input past this is a finding (a leak across runs). */
  heapLimitMb?: number;
  /** For the harness's own test: another rule set. */
  rules?: RuleSet;
  /** rules.timeoutMs for each replay. */
  timeoutMs?: number;
  onProgress?: (done: number, findings: number) => void;
}

export interface FuzzReport {
  seeds: number;
  inputs: number;
  byStrategy: Record<Strategy, number>;
  /** Inputs that ended in a coded capture error (expected for many bytes mutations). */
  captureErrors: number;
  packets: number;
  seconds: number;
  peakRssMb: number;
  findings: Finding[];
}

/** Small caps, so that runs reach the memcap and table-full paths too. */
const CONFIGS = [
  { checksumValidation: 'never' },
  { checksumValidation: 'auto' },
  { checksumValidation: 'never', tcp: { maxFlows: 16, maxEmbryonic: 16, reassembly: { memcap: 65_536, maxSegments: 8 }, hold: { maxBytes: 4096 } }, fragments: { memcap: 65_536, maxDatagrams: 2 } },
];

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const seeds: Seed[] = loadSeeds(options.root);
  if (seeds.length === 0) throw new Error(`no captures under ${options.root}/samples or ${options.root}/test`);
  const limitBytes = (options.heapLimitMb ?? 1024) * 1024 * 1024;
  const deadline = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;
  const maxInputs = options.inputs ?? Infinity;
  const report: FuzzReport = {
    seeds: seeds.length,
    inputs: 0,
    byStrategy: Object.fromEntries(strategies.map((s) => [s, 0])) as Record<Strategy, number>,
    captureErrors: 0,
    packets: 0,
    seconds: 0,
    peakRssMb: 0,
    findings: [],
  };
  const t0 = performance.now();
  let current: FuzzInput | null = null;
  const record = (kind: FindingKind, message: string): void => {
    const input = current;
    const finding: Finding = { kind, input: input?.seed ?? '(between inputs)', message };
    if (input !== null && options.outDir !== undefined) {
      mkdirSync(options.outDir, { recursive: true });
      finding.saved = join(options.outDir, `${kind}-${report.findings.length + 1}.pcap`);
      writeFileSync(finding.saved, input.pcap);
    }
    report.findings.push(finding);
  };
  const uncaught = (err: unknown): void => {
    record('uncaught', err instanceof Error ? (err.stack ?? err.message) : String(err));
  };
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  try {
    for (let n = 0; n < maxInputs && performance.now() < deadline; n++) {
      const input = makeInput(seeds, options.seed, n);
      current = input;
      report.inputs++;
      report.byStrategy[input.strategy]++;
      try {
        const r = await replay({
          rules: options.rules ?? fuzzRules,
          pcap: input.pcap,
          config: { ...CONFIGS[n % CONFIGS.length], rules: { timeoutMs: options.timeoutMs ?? 2000 } },
        });
        report.packets += r.stats.packets;
        const code = r.error?.code;
        if (code === 'PAL_ERR_RULE_TIMEOUT') record('hang', r.error?.message ?? '');
        else if (code === 'PAL_ERR_HEAP_LIMIT') record('memory', r.error?.message ?? '');
        else if (code !== undefined && !CAPTURE_ERRORS.has(code)) record('crash', `${code}: ${r.error?.message ?? ''}`);
        else if (code !== undefined) report.captureErrors++;
        if (r.stats.ruleErrors > 0) {
          const why = r.logs.find((l) => typeof l.msg === 'string' && /rule/i.test(l.msg));
          record('rule-error', `${r.stats.ruleErrors} rule errors; first: ${JSON.stringify(why ?? r.logs[0] ?? null)}`);
        }
      } catch (err) {
        if (err instanceof PalisadeError && CAPTURE_ERRORS.has(err.code)) report.captureErrors++;
        else record('crash', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
      // Let an unhandled rejection of this input be reported as this input's.
      await new Promise<void>((resolve) => setImmediate(resolve));
      current = null;
      const mem = process.memoryUsage();
      report.peakRssMb = Math.max(report.peakRssMb, Math.round(mem.rss / 1048576));
      if (mem.heapUsed > limitBytes) {
        record('memory', `heap in use ${Math.round(mem.heapUsed / 1048576)} MiB after input ${n}, past ${options.heapLimitMb ?? 1024} MiB`);
        break;
      }
      options.onProgress?.(report.inputs, report.findings.length);
    }
  } finally {
    process.off('uncaughtException', uncaught);
    process.off('unhandledRejection', uncaught);
    report.seconds = (performance.now() - t0) / 1000;
  }
  return report;
}
