/**
 * One fuzz input through the engine: the replay loop palisade replay runs (core/capture-run.ts,
 * under the rule watchdog), with outputs that keep nothing but what a finding needs, and the
 * engine's caps checked after every packet: the frames held within tcp.hold.memcap, the bytes
 * reassembled within tcp.reassembly.memcap, the fragments within fragments.memcap, the
 * connections within tcp.maxFlows; once the input has ended, nothing held at all.
 */
import { Writable } from 'node:stream';
import { runCapture } from '../../core/capture-run.ts';
import { validateConfig, type Config } from '../../core/config.ts';
import { createEngine, type Engine } from '../../core/engine.ts';
import type { PalisadeError } from '../../core/errors.ts';
import { openCapture, type CaptureReader } from '../../core/io/capture.ts';
import type { RuleSet } from '../../core/rules.ts';
import type { FuzzWatch } from './rules.ts';

/** Breaches kept per input: the first ones say what went wrong. */
const MAX_BREACHES = 8;

export interface InputRun {
  packets: number;
  /** What ended the run early: a capture error, PAL_ERR_RULE_TIMEOUT, PAL_ERR_HEAP_LIMIT… */
  error?: PalisadeError;
  /** Rule errors by the name they were counted under: a rule's, or a dissector's ('http', 'tls', 'dns'). */
  ruleErrors: ReadonlyMap<string, number>;
  /** The log lines of level error, parsed: a rule error's has `rule` and `err` (message, stack). */
  errorLogs: Record<string, unknown>[];
  /** Limits that did not hold: the engine's caps, and what the rules' watch reported. */
  breaches: string[];
  /** Events of each protocol the rules got. */
  events: FuzzWatch['events'];
}

/** The rule set for an input, given the watch its rules report breaches to. */
export type FuzzRuleSet = RuleSet | ((watch: FuzzWatch) => RuleSet);

/** Discards what is written to it. */
function discard(): Writable {
  return new Writable({ write: (_c, _e, done) => { done(); } });
}

/** Keeps the log lines of level error, parsed. */
function errorLines(into: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      if (text.includes('"level":"error"')) for (const line of text.split('\n')) if (line.includes('"level":"error"')) into.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}

function capsHold(engine: Engine, config: Config, breach: (what: string) => void): void {
  if (engine.heldMemory > config.tcp.hold.memcap) breach(`engine: ${engine.heldMemory} bytes of frames held, past tcp.hold.memcap ${config.tcp.hold.memcap}`);
  if (engine.reassemblyMemory > config.tcp.reassembly.memcap) breach(`engine: ${engine.reassemblyMemory} bytes reassembled, past tcp.reassembly.memcap ${config.tcp.reassembly.memcap}`);
  if (engine.fragmentMemory > config.fragments.memcap) breach(`engine: ${engine.fragmentMemory} bytes of fragments, past fragments.memcap ${config.fragments.memcap}`);
  if (engine.flows > config.tcp.maxFlows) breach(`engine: ${engine.flows} connections, past tcp.maxFlows ${config.tcp.maxFlows}`);
}

/** A configuration validated once for every input that runs with it. */
export function fuzzConfig(config: unknown): Config {
  return validateConfig(config);
}

/** The capture at `path` through `rules` with `cfg`; `judge` is handed to the rules' watch. */
export async function runInput(path: string, rules: FuzzRuleSet, cfg: Config, judge: boolean): Promise<InputRun> {
  const breaches: string[] = [];
  const breach = (what: string): void => {
    if (breaches.length < MAX_BREACHES && !breaches.includes(what)) breaches.push(what);
  };
  const watch: FuzzWatch = { http: { ...cfg.http }, tls: { ...cfg.tls }, judge, breach, events: { http: 0, tls: 0, dns: 0 } };
  const ruleSet = typeof rules === 'function' ? rules(watch) : rules;
  const errorLogs: Record<string, unknown>[] = [];
  let engine: Engine | null = null;
  const reader = openCapture(path);
  // The caps are looked at before each packet is read: after the one before it was handled.
  const checked: CaptureReader = {
    path: reader.path,
    format: reader.format,
    next: () => {
      if (engine !== null) capsHold(engine, cfg, breach);
      return reader.next();
    },
    close: () => {
      reader.close();
    },
  };
  const run = await runCapture(checked, cfg.rules, (heartbeat) => {
    engine = createEngine({
      rules: ruleSet,
      config: cfg,
      checkViews: true,
      heartbeat,
      alerts: discard(),
      log: errorLines(errorLogs),
      // RSTs are still built, and frames still settled, as they would be for a real output.
      output: { forward: () => undefined, inject: () => undefined, drop: () => undefined },
    });
    return engine;
  });
  const { error } = run;
  const e = run.engine;
  capsHold(e, cfg, breach);
  // A run the watchdog stopped was cut mid-packet: what it held stays held.
  if (error?.code !== 'PAL_ERR_RULE_TIMEOUT' && error?.code !== 'PAL_ERR_HEAP_LIMIT') {
    if (e.heldMemory !== 0) breach(`engine: ${e.heldMemory} bytes of frames still held after the end of input`);
    if (e.reassemblyMemory !== 0) breach(`engine: ${e.reassemblyMemory} bytes still reassembled after the end of input`);
    if (e.fragmentMemory !== 0) breach(`engine: ${e.fragmentMemory} bytes of fragments still held after the end of input`);
  }
  return { packets: e.stats.packets, ...(error ? { error } : {}), ruleErrors: e.stats.ruleErrorsByRule, errorLogs, breaches, events: watch.events };
}
