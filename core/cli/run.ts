/**
 * `palisade run <rules.ts> --queue N | --queues A-B [--bridge IFACE]`: the rules inline, on
 * packets the kernel queues through NFQUEUE, with a control socket for `palisade ctl`.
 *
 * Start-up, in an order that never leaves the bridge black-holed: the rule file (type-checked,
 * loaded), the control socket, the bridge and br_netfilter, the workers bound to their queues,
 * and only then the iptables rule. Shutdown (SIGTERM, SIGINT, `ctl stop`) undoes it the other
 * way round: the iptables rule goes first, so the workers can drain what was queued.
 */
import { performance } from 'node:perf_hooks';
import { isFile } from '../io/is-file.ts';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from './args.ts';
import { configSchema, defaultConfig, loadConfigFile, type Config } from '../config.ts';
import { fileNotFound, usageError } from '../errors.ts';
import { createEngine } from '../engine.ts';
import { loadRuleFile } from '../rule-loader.ts';
import { injectionWarnings, setUpBridge, type BridgeSetup } from '../inline/bridge.ts';
import { installRules, removeStaleRules, type InstalledRules, type QueueRange } from '../inline/iptables.ts';
import { DEFAULT_SOCKET, listenControl, type ControlServer, type CtlRequest } from '../inline/control.ts';
import { SpawnedWorker, type WorkerHandle } from '../inline/workers.ts';
import type { QueueKernelStats, WorkerOptions, WorkerStats } from '../inline/queue-worker.ts';

export const runHelp = `Usage: palisade run <rules.ts> [--queue N | --queues A-B] [options]

Runs a rule file inline: the kernel queues packets to palisade (NFQUEUE), palisade judges each
one (accept or drop) and sends RSTs for flow.reset(). Needs root. See docs/inline.md.

Options:
  --queue N           the NFQUEUE queue to read (default 0), in one worker
  --queues A-B        queues A to B, one worker each (iptables --queue-balance A:B)
  --workers KIND      'thread' (default) or 'process' (one process per queue); a worker that
                      dies, hangs in a rule (rules.timeoutMs) or fills its heap
                      (rules.heapLimitMb) is replaced, its queue bypassing meanwhile
  --bridge IFACE      queue the bridged traffic of IFACE: palisade turns on br_netfilter's
                      bridge-nf-call-iptables and inserts an iptables FORWARD rule with
                      --queue-bypass, and removes it on exit. Without it, add your own rule.
  --fail-open         when palisade cannot judge a packet (a rule error, a malformed packet, a
                      full table, an internal error), let it through instead of dropping it;
                      a full queue lets packets through too (inline.failOpen, on by default)
  --pass-through      run every rule and alert, but accept every packet (monitor only)
  --config FILE       limits and policies (JSON; see docs/config.md)
  --alerts FILE       append alerts (JSON lines) to FILE instead of stdout
  --log FILE          append rule logs (JSON lines) to FILE instead of stderr
  --flows FILE        append one JSON line per finished connection to FILE
  --socket PATH       control socket for palisade ctl (default ${DEFAULT_SOCKET})
  --no-typecheck      load the rule file (and later reloads) without type-checking it
  -h, --help          show this help

Stop it with SIGTERM, SIGINT or 'palisade ctl stop': it removes its iptables rule, gives a
verdict to every queued packet, ends open connections (reason shutdown) and flushes alerts.
Exit status: 0 stopped cleanly, 1 set-up or rule file error, 2 bad usage.
`;

const MAX_QUEUES = 64;

/** Limits that fail closed by default and that --fail-open turns to accept. */
function failOpen(config: Config): Config {
  return {
    ...config,
    ruleErrorPolicy: 'accept',
    malformedPolicy: 'accept',
    inline: { ...config.inline, failOpen: true },
    tcp: {
      ...config.tcp,
      policies: { ...config.tcp.policies, 'reassembly-memcap': 'accept', 'flow-table-full': 'accept', 'hold-cap': 'accept' },
    },
  };
}

function parseQueue(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw usageError(`palisade run: ${flag} takes a queue number from 0 to 65535, not '${text}'`);
  return Number(text);
}

function parseQueues(queue: string | undefined, queues: string | undefined): QueueRange {
  if (queue !== undefined && queues !== undefined) throw usageError('palisade run: give --queue or --queues, not both');
  if (queues !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(queues);
    if (m === null) throw usageError(`palisade run: --queues takes a range A-B (e.g. 0-3), not '${queues}'`);
    const first = parseQueue(m[1] ?? '', '--queues');
    const last = parseQueue(m[2] ?? '', '--queues');
    if (last < first) throw usageError(`palisade run: --queues ${queues}: the range is empty (${last} < ${first})`);
    if (last - first + 1 > MAX_QUEUES) throw usageError(`palisade run: --queues ${queues}: at most ${MAX_QUEUES} queues`);
    return { first, last };
  }
  const n = parseQueue(queue ?? '0', '--queue');
  return { first: n, last: n };
}

/** Type-checks (unless told not to) and trial-loads a rule file: nothing of a broken file goes inline. */
async function vet(path: string, typecheck: boolean): Promise<void> {
  if (!isFile(path)) throw fileNotFound('rule file', path);
  if (typecheck) {
    // Loaded only here: a command that does not type-check never pays for it.
    await (await import('../typecheck/index.ts')).requireTypes(path);
  }
  const rules = await loadRuleFile(path);
  const sink = new Writable({
    write: (_chunk, _enc, done) => {
      done();
    },
  });
  createEngine({ rules, alerts: sink, log: sink }).close();
}

const logLevels = (configSchema.find((l) => l.key === 'logLevel') as { values: readonly string[] }).values;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('run', argv, {
    queue: { type: 'string' },
    queues: { type: 'string' },
    workers: { type: 'string' },
    bridge: { type: 'string' },
    'fail-open': { type: 'boolean' },
    'pass-through': { type: 'boolean' },
    config: { type: 'string' },
    alerts: { type: 'string' },
    log: { type: 'string' },
    flows: { type: 'string' },
    socket: { type: 'string' },
    'no-typecheck': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(runHelp);
    return 0;
  }
  const [rulesArg, ...extra] = positionals;
  if (rulesArg === undefined) throw usageError('palisade run: needs <rules.ts>');
  if (extra.length > 0) throw usageError(`palisade run: unexpected argument '${extra[0] ?? ''}'`);
  const range = parseQueues(values.queue, values.queues);
  const kind = values.workers ?? 'thread';
  if (kind !== 'thread' && kind !== 'process') throw usageError(`palisade run: --workers takes 'thread' or 'process', not '${kind}'`);
  if (!isFile(rulesArg)) throw fileNotFound('rule file', rulesArg);
  if (values.bridge === '') throw usageError('palisade run: --bridge needs an interface name');
  const socketPath = resolve(values.socket ?? DEFAULT_SOCKET);
  const typecheck = !(values['no-typecheck'] ?? false);
  let config = values.config === undefined ? defaultConfig('inline') : loadConfigFile(values.config, 'inline');
  if (values['fail-open'] ?? false) config = failOpen(config);
  const rulesPath = resolve(rulesArg);
  const report = (message: string): void => {
    process.stderr.write(`palisade run: ${message}\n`);
  };

  await vet(rulesPath, typecheck);

  const state = {
    rulesPath,
    reloads: 0,
    started: Date.now(),
    t0: performance.now(),
    logLevel: config.logLevel,
  };
  const workers: WorkerHandle[] = [];
  let control: ControlServer | undefined;
  let bridge: BridgeSetup | undefined;
  let rules: InstalledRules | undefined;
  let stopping = false;
  let requestStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolveStop) => {
    requestStop = resolveStop;
  });

  /** Synchronous: runs from the exit handler too, so an unexpected exit leaves nothing behind. */
  const undoSystem = (): void => {
    for (const e of rules?.remove() ?? []) report(`could not remove the iptables rule: ${e}`);
    bridge?.restore();
  };
  const onExit = (): void => {
    undoSystem();
    control?.close();
  };
  process.on('exit', onExit);

  const options = (queue: number): WorkerOptions => ({
    queue,
    rulesPath: state.rulesPath,
    config,
    failOpen: values['fail-open'] ?? false,
    passThrough: values['pass-through'] ?? false,
    alerts: values.alerts === undefined ? undefined : resolve(values.alerts),
    log: values.log === undefined ? undefined : resolve(values.log),
    flows: values.flows === undefined ? undefined : resolve(values.flows),
  });

  const handle = async (req: CtlRequest): Promise<unknown> => {
    switch (req.cmd) {
      case 'status':
        return {
          pid: process.pid,
          uptime: (performance.now() - state.t0) / 1000,
          started: new Date(state.started).toISOString(),
          rules: state.rulesPath,
          reloads: state.reloads,
          queues: range.first === range.last ? `${range.first}` : `${range.first}-${range.last}`,
          bridge: values.bridge ?? null,
          iptables: rules?.lines ?? [],
          failOpen: values['fail-open'] ?? false,
          passThrough: values['pass-through'] ?? false,
          logLevel: state.logLevel,
          socket: socketPath,
          workers: workers.map((w) => ({ queue: w.queue, pid: w.pid, alive: w.alive, restarts: w.restarts })),
        };
      case 'stats': {
        const per = await Promise.all(workers.filter((w) => w.alive).map((w) => w.stats()));
        const sum = total(per);
        return { uptime: (performance.now() - state.t0) / 1000, queues: per, total: sum, unjudged: unjudged(rules?.packets() ?? null, sum.kernel) };
      }
      case 'reload': {
        const path = req.rules === undefined ? state.rulesPath : resolve(req.rules);
        await vet(path, typecheck);
        for (const w of workers) await w.reload(path);
        state.rulesPath = path;
        state.reloads++;
        report(`reloaded ${path}`);
        return { rules: path, reloads: state.reloads };
      }
      case 'loglevel': {
        if (!logLevels.includes(req.level)) throw usageError(`palisade ctl loglevel: '${req.level}' is not a level (${logLevels.join(', ')})`);
        const level = req.level as Config['logLevel'];
        for (const w of workers) await w.setLogLevel(level);
        state.logLevel = level;
        return { logLevel: level };
      }
      case 'stop':
        requestStop();
        return { stopping: true };
    }
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stopping) {
      report(`${signal}: stopping (again to stop at once)`);
      requestStop();
      return;
    }
    report(`${signal} again: stopping at once`);
    process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    control = await listenControl(socketPath, handle);
    if (values.bridge !== undefined) {
      for (const line of removeStaleRules()) report(`removed a rule left by a palisade that is gone: ${line}`);
      bridge = setUpBridge(values.bridge);
      for (const w of injectionWarnings(values.bridge)) report(`warning: ${w}`);
    }
    const count = range.last - range.first + 1;
    // Even one queue gets a worker of its own: this thread watches it (rules.timeoutMs).
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => SpawnedWorker.start(options(range.first + i), kind, report)),
    );
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(workers.map((w) => w.stop()));
      throw failed.reason;
    }
    if (values.bridge !== undefined) {
      rules = installRules(values.bridge, range, (m) => {
        report(`warning: ${m}`);
      });
    }
    const where = values.bridge === undefined ? 'your own iptables rule must send packets to it' : `bridge ${values.bridge}`;
    report(`ready: ${state.rulesPath} on queue${count === 1 ? ` ${range.first}` : `s ${range.first}-${range.last}`} (${where}); control socket ${socketPath}`);

    await stopped;
    stopping = true;
    // The iptables rule first: nothing new is queued, and the workers drain what was.
    undoSystem();
    const final = await Promise.all(workers.map((w) => w.stop().catch(() => null)));
    control.close();
    process.off('exit', onExit);
    const t = total(final.filter((s): s is WorkerStats => s !== null));
    const seconds = (performance.now() - state.t0) / 1000;
    report(
      `stopped after ${seconds.toFixed(1)} s: ${t.packets.toLocaleString('en-US')} packets, ${t.accepted.toLocaleString('en-US')} accepted, ${t.dropped.toLocaleString('en-US')} dropped, ${t.injected} RSTs sent${t.injectFailed > 0 ? ` (${t.injectFailed} failed)` : ''}, ${t.alerts} alerts, ${t.connections} connections`,
    );
    return 0;
  } catch (err) {
    stopping = true;
    await Promise.allSettled(workers.map((w) => w.stop()));
    undoSystem();
    control?.close();
    process.off('exit', onExit);
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // Raw sockets and anything a rule file left open keep the event loop alive: once main()
    // has set the exit status and printed any error, end the process.
    setTimeout(() => process.exit(), 20).unref();
  }
}

export function total(per: readonly WorkerStats[]): Omit<WorkerStats, 'queue' | 'pid'> {
  const t = { packets: 0, bytes: 0, accepted: 0, dropped: 0, pending: 0, injected: 0, injectFailed: 0, alerts: 0, ruleErrors: 0, anomalies: 0, connections: 0, flows: 0, errors: 0, restarts: 0, rss: 0 };
  const k: QueueKernelStats = { waiting: 0, queueDropped: 0, userDropped: 0, queued: 0, undelivered: 0, batches: 0, verdictMessages: 0, batchVerdicts: 0, sends: 0, malformed: 0, refused: 0, failures: 0 };
  for (const s of per) {
    for (const key of Object.keys(t) as (keyof typeof t)[]) t[key] += s[key];
    for (const key of Object.keys(k) as (keyof QueueKernelStats)[]) k[key] += s.kernel[key];
  }
  return { ...t, kernel: k };
}

/**
 * Packets the kernel let through without palisade judging them (`--queue-bypass` while no
 * worker listened, NFQA_CFG_F_FAIL_OPEN with a full queue or socket buffer). The kernel counts
 * none of these itself: they are the packets palisade's iptables rules sent to the queues that
 * got no queue id and were not counted as dropped, plus ids given out that never reached
 * palisade and were not counted as dropped. Null without --bridge (no rule of palisade's to count).
 */
export function unjudged(rulePackets: number | null, t: QueueKernelStats): number | null {
  if (rulePackets === null) return null;
  return Math.max(0, rulePackets - t.queued - t.queueDropped) + Math.max(0, t.undelivered - t.userDropped);
}
