/** `palisade replay <rules.ts> <capture>`: the rules over a capture file, as hakapcap. */
import { performance } from 'node:perf_hooks';
import { isFile } from '../io/is-file.ts';
import { parse } from './args.ts';
import { summary } from './summary.ts';
import { lingerThenExit } from './linger.ts';
import { fileNotFound, interrupted, outputError, PalisadeError, ruleErrors, usageError } from '../errors.ts';
import { defaultConfig, loadConfigFile } from '../config.ts';
import { loadRuleFile } from '../rule-loader.ts';
import { createEngine } from '../engine.ts';
import { runCapture } from '../capture-run.ts';
import { openDestination } from '../log.ts';
import type { FlowRecord } from '../../dissectors/flow/record.ts';
import { openCapture } from '../io/capture.ts';
import { openOutputCapture } from '../io/output-capture.ts';
import { sameFile } from '../io/same-file.ts';
import { parseFrames } from '../trace/frames.ts';
import { renderTrace } from '../trace/render.ts';

export const replayHelp = `Usage: palisade replay <rules.ts> <capture.pcap|pcapng> [options]

Runs a rule file over a capture, deterministically (time is the capture's), and reports what
the rules did: alerts as JSON lines, an output capture of what would have gone through, and a
summary on stderr.

Options:
  -o, --output FILE   write the accepted packets to FILE (pcap, nanosecond timestamps)
  --alerts FILE       write alerts (JSON lines) to FILE instead of stdout
  --pretty            alerts on stdout and logs on stderr as coloured, multi-line text for
                      people (colours follow NO_COLOR and FORCE_COLOR); default: JSON lines
  --log FILE          write rule logs (JSON lines) to FILE instead of stderr
  --flows FILE        write one JSON line per finished TCP connection to FILE (Zeek conn.log
                      fields: conn_state, history, bytes and packets each way, community_id)
  --config FILE       limits and policies (JSON; see docs/config.md)
  --pass-through      run every rule and alert, but forward every packet (monitor only)
  --allow-rule-errors exit 0 even when rules threw (by default: PAL_ERR_RULE_ERRORS, exit 1)
  --stats             print anomalies by kind and memory in the summary
  --trace FRAMES      explain frames: for each one (12, 3,7-9, 100- or all), the layers decoded,
                      the flow it joined, every event and rule run, anomalies, stream bytes,
                      holds, and the verdict with its reason, on stdout (see docs/trace.md)
  --json              with --trace: one JSON object per frame instead of text
  --check-views       hand each receiveData rule a copy of the bytes, poisoned once its event
                      is over: a rule that keeps data without copying it then sees
                      PALISADE-STALE-VIEW (as under palisade test); the output is unchanged
  --no-typecheck      run the rule file without type-checking it first (the result of a check
                      is cached, so an unchanged rule set is not compiled again)
  -h, --help          show this help

Exit status: 0 done, 1 capture, rule file or output error, or rules threw (see
--allow-rule-errors), 2 bad usage, 3 a rule was stopped
(rules.timeoutMs) or the heap passed rules.heapLimitMb, 130/143 interrupted (Ctrl-C, SIGTERM:
every output flushed up to that packet; a second signal stops at once).
`;

export async function replay(argv: string[]): Promise<number> {
  const { values, positionals } = parse('replay', argv, {
    output: { type: 'string', short: 'o' },
    alerts: { type: 'string' },
    log: { type: 'string' },
    flows: { type: 'string' },
    config: { type: 'string' },
    'pass-through': { type: 'boolean' },
    'allow-rule-errors': { type: 'boolean' },
    pretty: { type: 'boolean' },
    stats: { type: 'boolean' },
    'check-views': { type: 'boolean' },
    trace: { type: 'string' },
    json: { type: 'boolean' },
    'no-typecheck': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(replayHelp);
    return 0;
  }
  const [rulesPath, capturePath, ...extra] = positionals;
  if (rulesPath === undefined || capturePath === undefined) throw usageError('palisade replay: needs <rules.ts> <capture>');
  if (extra.length > 0) throw usageError(`palisade replay: unexpected argument '${extra[0] ?? ''}'`);
  if (!isFile(rulesPath)) throw fileNotFound('rule file', rulesPath);
  if (!isFile(capturePath)) throw fileNotFound('capture', capturePath);
  const frames = values.trace === undefined ? undefined : parseFrames(values.trace);
  if (values.json === true && frames === undefined) throw usageError('palisade replay: --json goes with --trace FRAMES');
  const traceJson = values.json ?? false;
  const config = values.config === undefined ? defaultConfig() : loadConfigFile(values.config);
  // Before anything is opened: an output truncates what it names.
  const inputs: [string, string][] = [['the input capture', capturePath], ['the rule file', rulesPath], ...(values.config === undefined ? [] : [['the config file', values.config] as [string, string]])];
  for (const [flag, out] of [['-o', values.output], ['--alerts', values.alerts], ['--flows', values.flows], ['--log', values.log]] as const) {
    if (out === undefined) continue;
    const input = inputs.find(([, path]) => sameFile(out, path));
    if (input !== undefined) throw outputError(out, `${flag} names ${input[0]} (${input[1]}); writing it would destroy it: give another path`);
  }

  // As `run` does: a rule file with type errors (a misspelt field that would never match) does not run.
  if (!(values['no-typecheck'] ?? false)) await (await import('../typecheck/index.ts')).requireTypes(rulesPath);
  const rules = await loadRuleFile(rulesPath);
  const reader = openCapture(capturePath);
  const outputPath = values.output;
  const output = outputPath === undefined ? undefined : openOutputCapture(outputPath);
  const passThrough = values['pass-through'] ?? false;
  const pretty = values.pretty ?? false;

  const flows = values.flows === undefined ? undefined : openDestination({ file: values.flows });
  // Ctrl-C or SIGTERM: stop reading, flush every output, print the summary; again: at once.
  const stop: { signal: NodeJS.Signals | null } = { signal: null };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal !== null) process.exit(signal === 'SIGTERM' ? 143 : 130);
    stop.signal = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = performance.now();
  const { engine, error } = await runCapture(reader, config.rules, (heartbeat) =>
    createEngine({
      rules,
      config,
      passThrough,
      checkViews: values['check-views'] ?? false,
      heartbeat,
      ...(frames === undefined ? {} : { trace: { frames, onFrame: (t) => process.stdout.write(traceJson ? `${JSON.stringify(t)}\n` : renderTrace(t)) } }),
      alerts: values.alerts !== undefined ? { file: values.alerts } : pretty ? { pretty: 'stdout' } : 'stdout',
      log: values.log !== undefined ? { file: values.log } : pretty ? { pretty: 'stderr' } : 'stderr',
      ...(flows === undefined ? {} : { onFlow: (record: FlowRecord) => flows.stream.write(`${JSON.stringify(record)}\n`) }),
      output:
        output === undefined
          ? undefined
          : {
              forward(bytes, secs, nsecs, linkType) {
                output.write(bytes, secs, nsecs, linkType);
              },
              // Crafted RSTs go into the output at the time they would have been sent.
              inject(bytes, secs, nsecs, linkType) {
                output.inject(bytes, secs, nsecs, linkType);
              },
            },
    }),
    {
      outputFailure: () => flows?.failure() ?? null,
      interrupted: (frame) => (stop.signal === null ? null : interrupted(stop.signal, frame)),
    },
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  flows?.flush();
  const seconds = (performance.now() - t0) / 1000;
  // The flow log's and the output capture's last bytes go out here, after the run: their errors
  // too, reported after the summary as any other.
  let closing: PalisadeError | undefined;
  try {
    output?.close();
  } catch (err) {
    if (!(err instanceof PalisadeError)) throw err;
    closing = err;
  }
  // Rules that threw decided nothing: their packets got ruleErrorPolicy's verdict. Not a pass.
  const thrown = engine.stats.ruleErrors > 0 && !(values['allow-rule-errors'] ?? false) ? ruleErrors(engine.stats.ruleErrorsByRule) : undefined;
  const failure = error ?? flows?.failure() ?? closing ?? thrown;
  process.stderr.write(`${summary(engine.stats, seconds, { passThrough, detail: values.stats ?? false })}\n`);
  reportLateAlerts(engine.stats);
  if (failure !== undefined) {
    process.stderr.write(`palisade: ${failure.toString()}\n`);
    return lingerThenExit(failure.code === 'PAL_ERR_INTERRUPTED' && stop.signal === 'SIGTERM' ? 143 : failure.exitCode);
  }
  return lingerThenExit(0);
}

/**
 * Alerts a rule raises after the summary (from a timer, or a promise it left running) are
 * written as they come, never waited for: at exit, the count of those is said, so that the
 * summary and this line add up to the alert output's lines.
 */
function reportLateAlerts(stats: { readonly alerts: number }): void {
  const counted = stats.alerts;
  process.once('exit', () => {
    const late = stats.alerts - counted;
    if (late > 0) process.stderr.write(`palisade: ${late} more alert${late === 1 ? '' : 's'} came after the summary (raised from timers or promises the rules left running); each was written\n`);
  });
}
