/** `palisade ctl status | stats | reload [rules.ts] | loglevel LEVEL | trace FLOW | stop`: talks to `palisade run`. */
import { resolve } from 'node:path';
import { parse } from './args.ts';
import { configSchema } from '../config.ts';
import { ctlError, PalisadeError, usageError, type ErrorCode } from '../errors.ts';
import { DEFAULT_SOCKET, request, type CtlRequest, type TraceRequest } from '../inline/control.ts';
import type { WorkerStats } from '../inline/queue-worker.ts';
import { DEFAULT_TRACE_PACKETS, DEFAULT_TRACE_SECONDS, MAX_TRACE_PACKETS, type TraceSummary, type TracingLine } from '../inline/trace-requests.ts';
import { parseFlowSelection } from '../trace/flow-selection.ts';
import { renderTrace } from '../trace/render.ts';
import type { FrameTrace } from '../../dissectors/trace.ts';
import { printable } from '../printable.ts';
import { byteSize, count as n } from './figures.ts';

export const ctlHelp = `Usage: palisade ctl <command> [--socket PATH] [--json]

Talks to a running 'palisade run' over its control socket (root only).

Commands:
  status            what runs: pid, rule file, queues, bridge, iptables rule, workers
  stats             packets, verdicts, RSTs, alerts and connections, per queue and in total
  reload [rules.ts] load the rule file again (or another one) without losing the flow table;
                    if it does not type-check or load, the old rules stay and the error is shown
  loglevel LEVEL    set the rule files' log level (${(configSchema.find((l) => l.key === 'logLevel') as { values: readonly string[] }).values.join(', ')})
  trace FLOW        trace the next packets of a flow as they are judged, one trace each (as
                    replay --trace): FLOW is a flow id (12, or a flow record's uid C12) or a
                    5-tuple, tcp|udp A:port B:port in either order ([ip]:port for IPv6)
  stop              stop palisade as SIGTERM does

Options:
  --socket PATH     the control socket given to palisade run (default ${DEFAULT_SOCKET})
  --json            print the reply as JSON (one line), for scripts; trace: one JSON object
                    per trace
  --timeout SECS    how long to wait for the reply (default 60); trace: for the traces
  --packets N       trace: how many traces (default ${DEFAULT_TRACE_PACKETS}, at most ${MAX_TRACE_PACKETS.toLocaleString('en-US')}), from every queue traced
  --queue Q         trace: on queue Q only (default every queue; flow ids are per queue)
  -h, --help        show this help

A trace ends with its N traces, at --timeout, or at Ctrl-C; palisade then stops tracing. One
trace at a time per queue: another gets PAL_ERR_TRACE_BUSY. Tracing never changes a verdict.

Exit status: 0 done, 1 palisade is not reachable or the command failed (trace: fewer than N
traces came), 2 bad usage, 130 trace interrupted.
`;

type Row = Omit<WorkerStats, 'queue' | 'pid'> & { queue?: number };

function table<R>(cols: readonly [string, (r: R) => string][], rows: readonly R[]): string[] {
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  return cells.map((c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i] ?? 0) : v.padStart(widths[i] ?? 0))).join('  '));
}

/** The stats reply as a table for people: palisade's counters, then the kernel's for each queue. */
export function statsTable(result: { uptime: number; queues: WorkerStats[]; total: Row; unjudged?: number | null }): string {
  const cols: [string, (r: Row) => string][] = [
    ['queue', (r) => (r.queue === undefined ? 'total' : String(r.queue))],
    ['packets', (r) => n(r.packets)],
    ['bytes', (r) => byteSize(r.bytes)],
    ['accepted', (r) => n(r.accepted)],
    ['dropped', (r) => n(r.dropped)],
    ['pending', (r) => n(r.pending)],
    ['RSTs', (r) => (r.injectFailed > 0 ? `${n(r.injected)} (${n(r.injectFailed)} failed)` : n(r.injected))],
    ['alerts', (r) => n(r.alerts)],
    ['rule errors', (r) => n(r.ruleErrors)],
    ['anomalies', (r) => n(r.anomalies)],
    ['open flows', (r) => n(r.flows)],
    ['ended', (r) => n(r.connections)],
    ['errors', (r) => n(r.errors)],
    ['restarts', (r) => n(r.restarts)],
  ];
  const rows: Row[] = [...result.queues, ...(result.queues.length > 1 ? [result.total] : [])];
  const lines = table(cols, rows);
  const kernel: [string, (r: Row) => string][] = [
    ['kernel queue', (r) => (r.queue === undefined ? 'total' : String(r.queue))],
    ['queued', (r) => n(r.kernel.queued)],
    ['waiting', (r) => n(r.kernel.waiting)],
    ['dropped: queue full', (r) => n(r.kernel.queueDropped)],
    ['socket full', (r) => n(r.kernel.userDropped)],
    ['undelivered', (r) => n(r.kernel.undelivered)],
    ['batches', (r) => n(r.kernel.batches)],
    ['verdict msgs', (r) => `${n(r.kernel.verdictMessages)} (${n(r.kernel.batchVerdicts)} batch)`],
    ['sendmsg', (r) => n(r.kernel.sends)],
    ['netlink errors', (r) => n(r.kernel.malformed + r.kernel.refused + r.kernel.failures)],
  ];
  lines.push('', ...table(kernel, rows));
  const by = Object.entries(result.total.droppedBy).filter(([, c]) => c > 0);
  if (by.length > 0) lines.push('', `dropped by reason: ${by.map(([k, c]) => `${k} ${n(c)}`).join(', ')}`);
  const protos = Object.entries(result.total.flowsByProto).sort((a, b) => b[1] - a[1]);
  if (protos.length > 0) lines.push(`ended flows by protocol: ${protos.map(([p, c]) => `${printable(p)} ${n(c)}`).join(', ')}`);
  if (result.unjudged !== undefined && result.unjudged !== null) {
    lines.push(`let through unjudged by the kernel (fail-open, queue bypass): ${n(result.unjudged)}`);
  }
  const pps = result.uptime > 0 ? result.total.packets / result.uptime : 0;
  lines.push('', `uptime ${result.uptime.toFixed(1)} s, ${n(Math.round(pps))} packets/s on average, rss ${byteSize(result.total.rss)}`);
  return lines.join('\n');
}

function statusText(s: Record<string, unknown>): string {
  const workers = s.workers as { queue: number; pid: number; alive: boolean; restarts: number }[];
  const iptables = s.iptables as string[];
  return [
    `pid         ${String(s.pid)}`,
    `uptime      ${(s.uptime as number).toFixed(1)} s (since ${String(s.started)})`,
    `rules       ${String(s.rules)}${(s.reloads as number) > 0 ? ` (reloaded ${String(s.reloads)}×)` : ''}`,
    `queues      ${String(s.queues)}`,
    `bridge      ${typeof s.bridge === 'string' ? s.bridge : '(none: your own iptables rule queues the packets)'}`,
    ...(iptables.length === 0 ? [] : iptables.map((l, i) => `${i === 0 ? 'iptables    ' : '            '}${l}`)),
    `policy      ${s.passThrough === true ? 'pass-through (monitor only)' : s.failOpen === true ? 'fail-open' : 'fail-closed'}`,
    `log level   ${String(s.logLevel)}`,
    `socket      ${String(s.socket)}`,
    ...workers.map(
      (w) => `worker      queue ${w.queue}: pid ${w.pid}, ${w.alive ? 'running' : 'not running'}${w.restarts > 0 ? `, restarted ${w.restarts}×` : ''}`,
    ),
  ].join('\n');
}

export async function ctl(argv: string[]): Promise<number> {
  const { values, positionals } = parse('ctl', argv, {
    socket: { type: 'string' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    packets: { type: 'string' },
    queue: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(ctlHelp);
    return 0;
  }
  const [command, ...args] = positionals;
  if (command !== 'trace' && (values.packets !== undefined || values.queue !== undefined)) throw usageError('palisade ctl: --packets and --queue go with trace');
  const timeout = values.timeout === undefined ? 60 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw usageError(`palisade ctl: --timeout takes seconds, not '${values.timeout ?? ''}'`);
  const socket = resolve(values.socket ?? DEFAULT_SOCKET);
  let req: CtlRequest;
  switch (command) {
    case 'status':
    case 'stats':
    case 'stop':
      if (args.length > 0) throw usageError(`palisade ctl ${command}: takes no argument`);
      req = { cmd: command };
      break;
    case 'reload':
      if (args.length > 1) throw usageError('palisade ctl reload: takes at most one rule file');
      // A path is the caller's: resolve it here, where its working directory is.
      req = args[0] === undefined ? { cmd: 'reload' } : { cmd: 'reload', rules: resolve(args[0]) };
      break;
    case 'loglevel': {
      const levels = (configSchema.find((l) => l.key === 'logLevel') as { values: readonly string[] }).values;
      if (args.length !== 1 || !levels.includes(args[0] ?? '')) throw usageError(`palisade ctl loglevel: needs one level (${levels.join(', ')})`);
      req = { cmd: 'loglevel', level: args[0] ?? '' };
      break;
    }
    case 'trace':
      return traceFlow(socket, traceRequest(args, values, timeout), values.json ?? false);
    case undefined:
      throw usageError('palisade ctl: needs a command (status, stats, reload, loglevel, trace, stop)');
    default:
      throw usageError(`palisade ctl: unknown command '${command}' (status, stats, reload, loglevel, trace, stop)`);
  }

  const reply = await request(socket, req, timeout * 1000);
  if (values.json ?? false) {
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    return reply.ok ? 0 : 1;
  }
  if (!reply.ok) {
    const failure = reply.error.code.startsWith('PAL_ERR_') ? new PalisadeError(reply.error.code as ErrorCode, reply.error.message) : ctlError(reply.error.message);
    const prefix = req.cmd === 'reload' ? 'reload failed, the old rules stay: ' : '';
    process.stderr.write(`palisade ctl: ${prefix}${failure.toString()}\n`);
    return 1;
  }
  const result = reply.result as Record<string, unknown>;
  switch (req.cmd) {
    case 'status':
      process.stdout.write(`${statusText(result)}\n`);
      break;
    case 'stats':
      process.stdout.write(`${statsTable(result as unknown as Parameters<typeof statsTable>[0])}\n`);
      break;
    case 'reload':
      process.stdout.write(`reloaded ${String(result.rules)}\n`);
      break;
    case 'loglevel':
      process.stdout.write(`log level ${String(result.logLevel)}\n`);
      break;
    case 'stop':
      process.stdout.write('stopping\n');
      break;
  }
  return 0;
}

/** `ctl trace`'s words and options as a request; a bad tuple, count or queue is a usage error here, before palisade is asked. */
export function traceRequest(words: readonly string[], options: { packets?: string | undefined; queue?: string | undefined }, seconds: number): TraceRequest {
  const select = parseFlowSelection(words);
  const packets = options.packets === undefined ? DEFAULT_TRACE_PACKETS : Number(options.packets);
  if (!Number.isInteger(packets) || packets < 1 || packets > MAX_TRACE_PACKETS) {
    throw usageError(`palisade ctl trace: --packets takes a number of traces, 1 to ${MAX_TRACE_PACKETS}, not '${options.packets ?? ''}'`);
  }
  const queue = options.queue === undefined ? undefined : Number(options.queue);
  if (queue !== undefined && !(/^\d+$/.test(options.queue ?? '') && queue <= 65535)) {
    throw usageError(`palisade ctl trace: --queue takes a queue number (0 to 65535), not '${options.queue ?? ''}'`);
  }
  return { cmd: 'trace', select, packets, seconds, ...(queue === undefined ? {} : { queue }) };
}

/** A trace's stream: each trace printed as it comes (text, or one JSON object a line), the start and the end said on stderr. */
async function traceFlow(socket: string, req: TraceRequest, json: boolean): Promise<number> {
  const interrupt = new AbortController();
  let signal = 0;
  const onSignal = (name: NodeJS.Signals): void => {
    signal = name === 'SIGINT' ? 2 : 15;
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const say = (message: string): void => {
    process.stderr.write(`palisade ctl trace: ${message}\n`);
  };
  let printed = 0;
  let several = false;
  try {
    // palisade ends the trace at its timeout: a little longer here, for its reply to come.
    const reply = await request(socket, req, ((req.seconds ?? DEFAULT_TRACE_SECONDS) + 5) * 1000, {
      signal: interrupt.signal,
      onLine: (line) => {
        if (line.type === 'tracing') {
          const t = line as unknown as TracingLine;
          several = t.queues.length > 1;
          say(`tracing ${t.flow} on queue${several ? 's' : ''} ${t.queues.join(', ')}: the next ${n(t.packets)} packets, for at most ${n(t.seconds)} s (Ctrl-C to stop)`);
          return;
        }
        if (line.type !== 'trace') return;
        printed++;
        if (json) process.stdout.write(`${JSON.stringify(line)}\n`);
        else {
          const { queue, ...t } = line as unknown as FrameTrace & { queue: number };
          process.stdout.write(several ? `queue ${queue}, ${renderTrace(t)}` : renderTrace(t));
        }
      },
    });
    if (!reply.ok) {
      const failure = reply.error.code.startsWith('PAL_ERR_') ? new PalisadeError(reply.error.code as ErrorCode, reply.error.message) : ctlError(reply.error.message);
      process.stderr.write(`palisade ctl: ${failure.toString()}\n`);
      return 1;
    }
    const s = reply.result as TraceSummary;
    if (s.ended === 'packets' && s.missed === 0) return 0;
    const missed = s.missed > 0 ? `${s.missed} were left out, as this client did not read them fast enough` : '';
    const why =
      s.ended === 'packets'
        ? missed
        : `${
            s.ended === 'timeout'
              ? `no more packets of the flow came in ${s.seconds} s (--timeout): is it idle, gone, or on another queue?`
              : s.ended === 'shutdown'
                ? 'palisade stopped'
                : 'the queue worker ended (palisade starts it again)'
          }${missed !== '' ? `; ${missed}` : ''}`;
    process.stderr.write(`palisade ctl: ${ctlError(`trace: ${printed} of ${s.packets} traces came: ${why}`).toString()}\n`);
    return 1;
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    say(`interrupted after ${printed} trace${printed === 1 ? '' : 's'}; palisade stops tracing`);
    // 128 + the signal, as a shell reports it.
    return 128 + signal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
