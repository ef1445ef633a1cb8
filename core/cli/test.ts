/** `palisade test [dir…]`: replay cases (rules, capture, expect.json), one line each, and a verdict. */
import { relative, resolve } from 'node:path';
import { parse } from './args.ts';
import { existsSync } from 'node:fs';
import { noCases, usageError, type PalisadeError } from '../errors.ts';
import { parseFrames, type FrameSelection } from '../trace/frames.ts';
import { renderTrace } from '../trace/render.ts';
import { readCase } from '../cases/case-file.ts';
import { findCases } from '../cases/find-cases.ts';
import { lingerThenExit } from './linger.ts';
import { runCase, type CaseResult } from '../cases/run-case.ts';

export const testHelp = `Usage: palisade test [dir…] [options]

Runs rule test cases. A case is a directory holding expect.json, the rule file (rules.ts) and a
capture (input.pcap or input.pcapng); each dir given is a case, or is searched for cases (not
node_modules or dot-directories). Default: the current directory. expect.json says what must come
out: alerts, dropped frames, injected RSTs, flows, logs, anomaly counts (see docs/testing.md).

Prints one line per case, a diff (- expected, + actual) under each failing case, and
'N passed, M failed'. receiveData rules get copies of the bytes, filled with
PALISADE-STALE-VIEW once their event is over: a rule that keeps data without copying it fails.

Options:
  --update          rewrite the expect.json of each failing case (or one that expects nothing
                    yet) from the actual result; review the change as you would a snapshot
  --trace [FRAMES]  explain each case's frames (all of them, or FRAMES: 12, 3,7-9, 100-):
                    under its line, the layers decoded, the flow, every event and rule run,
                    anomalies, holds and the verdict with its reason (see docs/trace.md)
  --json            with --trace: each frame's trace as one JSON object (with its case)
  --no-typecheck    run the rule files without type-checking them first (by default all the
                    cases' rule files are checked together, the result cached by content)
  -h, --help        show this help

Exit status: 0 every case passed, 1 a case failed, 2 bad usage or a case that is not valid.
`;

export async function test(argv: string[]): Promise<number> {
  const { values, positionals } = parse('test', argv, {
    update: { type: 'boolean' },
    trace: { type: 'boolean' },
    json: { type: 'boolean' },
    'no-typecheck': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(testHelp);
    return 0;
  }
  const update = values.update ?? false;
  // `--trace FRAMES`: a positional that reads as frames (and names no case dir) is the selection.
  let args = positionals;
  let trace: FrameSelection | undefined;
  if (values.trace === true) {
    const frames = args.filter((a) => /^(all|\d[\d,-]*)$/.test(a) && !existsSync(a));
    if (frames.length > 1) throw usageError(`palisade test: --trace takes one selection of frames, not ${frames.join(' and ')}`);
    trace = frames[0] === undefined ? () => true : parseFrames(frames[0], '--trace');
    args = args.filter((a) => a !== frames[0]);
  }
  if (values.json === true && trace === undefined) throw usageError('palisade test: --json goes with --trace');
  const dirs = args.length > 0 ? args : ['.'];
  const found = findCases(dirs);
  if (found.length === 0) throw noCases(dirs);
  // Every case file is checked before the first case runs: a typo stops the run at once.
  const cases = found.map((dir) => readCase(dir, { update }));
  // One compiler program for every rule file (paid once), before any case runs.
  const types = new Map<string, PalisadeError>();
  if (!(values['no-typecheck'] ?? false)) {
    const { typecheckRuleFiles, typeErrors } = await import('../typecheck/index.ts');
    for (const [path, diagnostics] of await typecheckRuleFiles([...new Set(cases.map((c) => c.rules))])) {
      if (diagnostics.length > 0) types.set(path, typeErrors(path, diagnostics));
    }
  }

  let passed = 0;
  let failed = 0;
  let updated = 0;
  for (const c of cases) {
    const typeError = types.get(c.rules);
    const r = typeError === undefined ? await runCase(c, { update, ...(trace === undefined ? {} : { trace }) }) : { status: 'failed' as const, packets: 0, ms: 0, error: typeError, mismatches: [] };
    const name = relative(process.cwd(), resolve(c.dir)) || '.';
    process.stdout.write(report(name, r));
    for (const t of r.traces ?? []) process.stdout.write(values.json === true ? `${JSON.stringify({ case: name, ...t })}\n` : indent(renderTrace(t)));
    if (r.status === 'ok') passed++;
    else if (r.status === 'updated') updated++;
    else failed++;
  }
  process.stdout.write(`${passed} passed, ${failed} failed${update ? `, ${updated} updated` : ''}\n`);
  return lingerThenExit(failed > 0 ? 1 : 0);
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '    ');
}

function report(name: string, r: CaseResult): string {
  const timing = `(${r.packets} packet${r.packets === 1 ? '' : 's'}, ${r.ms} ms)`;
  if (r.status === 'ok') return `ok   ${name}  ${timing}\n`;
  if (r.status === 'updated') return `upd  ${name}  ${timing}  expect.json rewritten\n`;
  const lines = [`FAIL ${name}`];
  if (r.error) lines.push(...r.error.toString().split('\n').map((l) => `  ${l}`));
  for (const m of r.mismatches) {
    lines.push(`  ${m.key} (- expected, + actual):`);
    for (const l of m.lines) lines.push(`    ${l}`);
  }
  return `${lines.join('\n')}\n`;
}
