/**
 * The fuzz loop: mutated captures (mutate.ts) run in this process through the engine with a rule
 * on every event (rules.ts), the HTTP, TLS and DNS dissectors on, under the replay watchdog
 * (run-input.ts). A finding is anything but a clean run or a coded capture error: an exception
 * palisade let through (crash), a rule timeout with rules that never loop (hang: palisade's own
 * code did not return), an input that took longer than slowMs though every packet returned
 * (slow: work that grows faster than the input), the heap limit (memory), a dissector that threw (dissector-error: the
 * engine counts it as a rule error named after the dissector, 'http', 'tls' or 'dns'), a rule
 * error with rules that never throw (palisade handed a rule something broken, a getter threw, or
 * alert formatting failed), a limit that did not hold (limit: an engine cap, or a dissector's
 * output past its configured bound), an uncaught exception or unhandled rejection.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PalisadeError } from '../../core/errors.ts';
import { detectingDissectors } from '../../core/flow-dissector.ts';
import { watchThisThread } from '../../core/watchdog/this-thread.ts';
import { loadSeeds, type Seed } from './corpus.ts';
import { httpAnomalies } from '../../dissectors/http/index.ts';
import { tlsAnomalies } from '../../dissectors/tls/index.ts';
import { dnsAnomalies } from '../../dissectors/dns/index.ts';
import { makeInput, strategies, type FuzzInput, type Strategy } from './mutate.ts';
import { fuzzRules } from './rules.ts';
import { fuzzConfig, runInput, type FuzzRuleSet } from './run-input.ts';

/** What a capture may fail with: the reader's coded errors. */
const CAPTURE_ERRORS = new Set(['PAL_ERR_CAPTURE_FORMAT', 'PAL_ERR_LINKTYPE_UNSUPPORTED', 'PAL_ERR_PCAP_TRUNCATED', 'PAL_ERR_PCAP_CORRUPT']);

export type FindingKind = 'crash' | 'hang' | 'slow' | 'memory' | 'dissector-error' | 'rule-error' | 'limit' | 'uncaught';

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
  /** Only the seed captures whose path matches (`--only tls`). */
  only?: RegExp;
  /** For the harness's own test: another rule set (or one made from the limits' watch). */
  rules?: FuzzRuleSet;
  /** rules.timeoutMs for each replay. */
  timeoutMs?: number;
  /** An input that takes longer than this is a finding (default 10 s; inputs take milliseconds). */
  slowMs?: number;
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
  /** The input that took longest, and its milliseconds. */
  slowest: { input: string; ms: number };
  /** HTTP, TLS and DNS events the rules got, over every input. */
  protocolEvents: { http: number; tls: number; dns: number };
  findings: Finding[];
}

const smallCaps = {
  tcp: { maxFlows: 16, maxEmbryonic: 16, reassembly: { memcap: 65_536, maxSegments: 8 }, hold: { maxBytes: 4096 } },
  fragments: { memcap: 65_536, maxDatagrams: 2 },
  http: { maxStartLine: 64, maxHeaderBytes: 512 },
  tls: { maxHandshakeBytes: 1024 },
};

/** Every anomaly of the three protocols resets its flow (over UDP: drops it). */
const resetOnAnomaly = {
  http: { policies: Object.fromEntries(Object.keys(httpAnomalies).map((k) => [k, 'reset-flow'])) },
  tls: { policies: Object.fromEntries(Object.keys(tlsAnomalies).map((k) => [k, 'reset-flow'])) },
  dns: { policies: Object.fromEntries(Object.keys(dnsAnomalies).map((k) => [k, 'reset-flow'])) },
};

/**
 * The configurations inputs take in turn: the defaults; checksums checked, the protocols'
 * anomalies resetting flows and the rules acting on flows from the protocols' events; small caps,
 * so that runs reach the memcap, table-full and protocol limit paths too.
 */
const CONFIGS: readonly { config: Record<string, unknown>; judge: boolean }[] = [
  { config: { checksumValidation: 'never' }, judge: false },
  { config: { checksumValidation: 'auto', ...resetOnAnomaly }, judge: true },
  { config: { checksumValidation: 'never', ...smallCaps }, judge: false },
];

/** Rule errors counted under a protocol dissector's name are that dissector's: its parser threw. */
function isDissector(name: string): boolean {
  return detectingDissectors.some((d) => d.name === name);
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const only = options.only;
  const seeds: Seed[] = loadSeeds(options.root).filter((s) => only === undefined || only.test(s.name));
  if (seeds.length === 0) throw new Error(`no captures under ${options.root}/samples or ${options.root}/test${only === undefined ? '' : ` match ${String(only)}`}`);
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
    slowest: { input: '', ms: 0 },
    protocolEvents: { http: 0, tls: 0, dns: 0 },
    findings: [],
  };
  const dir = mkdtempSync(join(tmpdir(), 'palisade-fuzz-'));
  const path = join(dir, 'input.pcap');
  const rules = options.rules ?? fuzzRules;
  const configs = CONFIGS.map(({ config, judge }) => ({ config: fuzzConfig({ ...config, rules: { timeoutMs: options.timeoutMs ?? 2000 } }), judge }));
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
  // A watch that is never armed keeps the watcher thread up for the whole run: each input's watch
  // joins it, where alone it would start a thread and end it (half of an input's time).
  const watcher = watchThisThread(0, () => undefined);
  try {
    for (let n = 0; n < maxInputs && performance.now() < deadline; n++) {
      const input = makeInput(seeds, options.seed, n);
      current = input;
      report.inputs++;
      report.byStrategy[input.strategy]++;
      const started = performance.now();
      try {
        writeFileSync(path, input.pcap);
        const { config, judge } = configs[n % configs.length] as (typeof configs)[number];
        const r = await runInput(path, rules, config, judge);
        report.packets += r.packets;
        for (const p of ['http', 'tls', 'dns'] as const) report.protocolEvents[p] += r.events[p];
        const code = r.error?.code;
        if (code === 'PAL_ERR_RULE_TIMEOUT') record('hang', r.error?.message ?? '');
        else if (code === 'PAL_ERR_HEAP_LIMIT') record('memory', r.error?.message ?? '');
        else if (code !== undefined && !CAPTURE_ERRORS.has(code)) record('crash', `${code}: ${r.error?.message ?? ''}`);
        else if (code !== undefined) report.captureErrors++;
        for (const [name, count] of r.ruleErrors) {
          // The watchdog's stop is counted as a rule error too: the hang above says it.
          if (code === 'PAL_ERR_RULE_TIMEOUT' || code === 'PAL_ERR_HEAP_LIMIT') break;
          const line = r.errorLogs.find((l) => l.rule === name);
          const err = line?.err as { message?: string; stack?: string } | undefined;
          const first = err?.stack ?? err?.message ?? JSON.stringify(line ?? r.errorLogs[0] ?? null);
          if (isDissector(name)) record('dissector-error', `dissector '${name}' threw ${count} time${count === 1 ? '' : 's'}; first: ${first}`);
          else record('rule-error', `rule '${name}' threw ${count} time${count === 1 ? '' : 's'}; first: ${first}`);
        }
        if (r.breaches.length > 0) record('limit', r.breaches.join('\n'));
      } catch (err) {
        if (err instanceof PalisadeError && CAPTURE_ERRORS.has(err.code)) report.captureErrors++;
        else record('crash', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
      const ms = performance.now() - started;
      if (ms > report.slowest.ms) report.slowest = { input: input.seed, ms: Math.round(ms) };
      if (ms > (options.slowMs ?? 10_000)) record('slow', `${Math.round(ms)} ms for one input, past ${options.slowMs ?? 10_000} ms`);
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
    await watcher?.close();
    rmSync(dir, { recursive: true, force: true });
    report.seconds = (performance.now() - t0) / 1000;
  }
  return report;
}
