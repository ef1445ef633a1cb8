/**
 * `replay()`: a rule set over a capture (a file, or pcap bytes built in a test), returning what
 * the engine did, in memory. `palisade/testing` exports it for vitest; `palisade test` runs its
 * cases through it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createEngine, type Engine, type TraceOptions, type Verdict } from './engine.ts';
import { runCapture, type CaptureRun } from './capture-run.ts';
import { validateConfig } from './config.ts';
import { openCapture } from './io/capture.ts';
import { encodePcap } from './io/pcap-writer.ts';
import { loadRuleFile } from './rule-loader.ts';
import { isRuleSet, type RuleSet } from './rules.ts';
import type { AlertRecord } from './alert.ts';
import type { Stats } from './stats.ts';
import type { FlowRecord } from '../dissectors/flow/record.ts';
import type { PalisadeError } from './errors.ts';
import type { DropReason } from '../dissectors/verdict.ts';

export interface OutputPacket {
  /** Frame number of the input frame; 0 for a frame palisade crafted (a RST). */
  id: number;
  injected: boolean;
  /** For a crafted frame: the input frame palisade was handling when it sent it (the trigger). */
  after?: number;
  bytes: Buffer;
  secs: number;
  nsecs: number;
  linkType: number;
}

export interface ReplayResult {
  alerts: AlertRecord[];
  /** Rule file log lines, parsed. */
  logs: Record<string, unknown>[];
  /** Verdict per frame number (1-based), as settled (held fragments settle later). */
  verdicts: Map<number, 'accept' | 'drop'>;
  /** Frame numbers that were dropped, ascending. */
  dropped: number[];
  /** Why each dropped frame was dropped, by frame number (design §11: `kind`, and `rule`, `policy`, `anomaly`… where they apply). */
  reasons: Map<number, DropReason>;
  /** What went out, in order: the output capture (forwarded frames and crafted RSTs). */
  output: OutputPacket[];
  /** The frames palisade crafted, in order (also in `output`). */
  injected: OutputPacket[];
  /** One record per finished connection (as `--flows` writes them). */
  flows: FlowRecord[];
  stats: Stats;
  /** The capture error that ended the replay early, if any. */
  error?: PalisadeError;
}

export interface ReplayOptions {
  /** A rule set, or a rule file's path. */
  rules: RuleSet | string;
  /** A capture file's path… */
  capture?: string;
  /** …or frames built in the test (Ethernet unless `linkType` says otherwise)… */
  packets?: readonly Uint8Array[];
  /** …or a whole pcap file's bytes. */
  pcap?: Uint8Array;
  linkType?: number;
  config?: unknown;
  passThrough?: boolean;
  /**
   * Check-views mode, on unless false: each receiveData listener gets a copy of the bytes, filled
   * with `PALISADE-STALE-VIEW ` once the event is over, so that a rule keeping `data` past its
   * event (valid only during it) fails its test every run; the output is unchanged.
   */
  checkViews?: boolean;
  /** Traces frames (`--trace`): each selected frame's trace goes to `trace.onFrame` once its verdict is known. */
  trace?: TraceOptions;
}

function jsonLines(into: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') into.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const rules = isRuleSet(options.rules) ? options.rules : await loadRuleFile(options.rules);
  const alerts: AlertRecord[] = [];
  const logs: Record<string, unknown>[] = [];
  const verdicts = new Map<number, 'accept' | 'drop'>();
  const reasons = new Map<number, DropReason>();
  const output: OutputPacket[] = [];
  const injected: OutputPacket[] = [];
  const flows: FlowRecord[] = [];
  let dir: string | undefined;
  let path = options.capture;
  if (path === undefined) {
    const pcap =
      options.pcap ??
      encodePcap(
        (options.packets ?? []).map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })),
        { linkType: options.linkType ?? 1 },
      );
    dir = mkdtempSync(join(tmpdir(), 'palisade-replay-'));
    path = join(dir, 'input.pcap');
    writeFileSync(path, pcap);
  }
  const config = validateConfig(options.config ?? {});
  const sink = new Writable({ write: (_c, _e, done) => { done(); } });
  let run: CaptureRun;
  try {
    const reader = openCapture(path);
    run = await runCapture(reader, config.rules, (heartbeat) => {
      const engine: Engine = createEngine({
        rules,
        config,
        passThrough: options.passThrough,
        checkViews: options.checkViews ?? true,
        ...(options.trace === undefined ? {} : { trace: options.trace }),
        heartbeat,
        alerts: sink,
        log: jsonLines(logs),
        onAlert: (a) => alerts.push(structuredClone(a)),
        onFlow: (f) => flows.push(f),
        output: {
          forward(bytes, secs, nsecs, linkType, id) {
            verdicts.set(id, 'accept');
            output.push({ id, injected: false, bytes: Buffer.from(bytes), secs, nsecs, linkType });
          },
          inject(bytes, secs, nsecs, linkType) {
            // The engine counts a frame as it takes it: the count is the frame being judged.
            const p = { id: 0, injected: true, after: engine.stats.packets, bytes, secs, nsecs, linkType };
            output.push(p);
            injected.push(p);
          },
          drop(id, reason) {
            verdicts.set(id, 'drop');
            reasons.set(id, reason);
          },
        },
      });
      return engine;
    });
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  const { engine, error } = run;
  const dropped = [...verdicts].filter(([, v]) => v === 'drop').map(([id]) => id).sort((a, b) => a - b);
  return { alerts, logs, verdicts, dropped, reasons, output, injected, flows, stats: engine.stats, ...(error ? { error } : {}) };
}

export type { Verdict };
