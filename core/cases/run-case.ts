/**
 * Runs one case: its rules over its capture, then its expectations checked against what came
 * out; with `update`, a case that fails (or expects nothing yet) gets its expect.json rewritten
 * from the actual result.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { replay } from '../replay.ts';
import { PalisadeError } from '../errors.ts';
import { EXPECTATION_KEYS, formatCaseFile, type Case } from './case-file.ts';
import { compare, type Mismatch } from './compare.ts';
import { observe } from './observed.ts';
import { snapshot } from './snapshot.ts';
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { FrameSelection } from '../trace/frames.ts';

export interface CaseResult {
  status: 'ok' | 'failed' | 'updated';
  packets: number;
  ms: number;
  /** The error that stopped the case: a rule file that does not load, a damaged capture. */
  error?: PalisadeError;
  mismatches: Mismatch[];
  /** With `trace`: every frame's trace, in the order the verdicts came. */
  traces?: FrameTrace[];
}

export async function runCase(c: Case, options: { update: boolean; trace?: FrameSelection }): Promise<CaseResult> {
  const t0 = performance.now();
  const elapsed = (): number => Math.round(performance.now() - t0);
  let result;
  const traces: FrameTrace[] | undefined = options.trace === undefined ? undefined : [];
  try {
    // Check-views always: a rule that keeps a receiveData view fails here, not in production.
    result = await replay({
      rules: c.rules,
      capture: c.capture,
      config: c.spec.config,
      checkViews: true,
      ...(options.trace === undefined || traces === undefined ? {} : { trace: { frames: options.trace, onFrame: (t) => traces.push(t) } }),
    });
  } catch (err) {
    if (!(err instanceof PalisadeError)) throw err;
    return { status: 'failed', packets: 0, ms: elapsed(), error: err, mismatches: [], ...(traces ? { traces } : {}) };
  }
  const observed = observe(result);
  const mismatches = compare(c.spec, observed);
  const ms = elapsed();
  // Half a capture is no result to record: the case fails and expect.json stays as it is.
  const traced = traces ? { traces } : {};
  if (result.error) return { status: 'failed', packets: observed.packets, ms, error: result.error, mismatches, ...traced };
  const expectsNothing = !EXPECTATION_KEYS.some((k) => c.spec[k] !== undefined);
  if (options.update && (mismatches.length > 0 || expectsNothing)) {
    const { description, rules, capture, config } = c.spec;
    writeFileSync(c.file, formatCaseFile({ description, rules, capture, config, ...snapshot(observed) }));
    return { status: 'updated', packets: observed.packets, ms, mismatches, ...traced };
  }
  return { status: mismatches.length > 0 ? 'failed' : 'ok', packets: observed.packets, ms, mismatches, ...traced };
}
