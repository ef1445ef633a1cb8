/**
 * `palisade run`'s supervision: the control socket, the bridge and br_netfilter, one worker per
 * queue, the iptables rule, `palisade ctl` requests, signals, and the shutdown that undoes it
 * all. Start-up goes in an order that never leaves the bridge black-holed (the iptables rule
 * last); shutdown goes the other way round (the iptables rule first, so the workers can drain
 * what was queued).
 */
import type { DropKind } from '../../dissectors/verdict.ts';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { configSchema, type Config } from '../config.ts';
import { usageError } from '../errors.ts';
import { injectionWarnings, setUpBridge, type BridgeSetup } from './bridge.ts';
import { installRules, removeStaleRules, type InstalledRules, type QueueRange } from './iptables.ts';
import { listenControl, type ControlServer, type CtlRequest } from './control.ts';
import type { CtlSession } from './control-connection.ts';
import { SpawnedWorker, type WorkerHandle } from './workers.ts';
import { TraceRequests } from './trace-requests.ts';
import type { QueueKernelStats, WorkerOptions, WorkerStats } from './queue-worker.ts';

export interface SuperviseOptions {
  /** The rule file, already vetted. */
  rulesPath: string;
  range: QueueRange;
  kind: 'thread' | 'process';
  /** The bridge whose traffic to queue (palisade's own iptables rule), or none. */
  bridge: string | undefined;
  socketPath: string;
  config: Config;
  failOpen: boolean;
  passThrough: boolean;
  alerts: string | undefined;
  log: string | undefined;
  flows: string | undefined;
  /**
   * Type-checks and trial-loads a rule file for `ctl reload` (throws what is wrong with it), off
   * this thread and under the reload's time bound: the control socket answers meanwhile.
   */
  vet: (path: string) => Promise<void>;
}

const logLevels = (configSchema.find((l) => l.key === 'logLevel') as { values: readonly string[] }).values;

/** Runs until stopped (SIGTERM, SIGINT, `ctl stop`); the exit status. */
export async function supervise(o: SuperviseOptions): Promise<number> {
  const { range, config, socketPath } = o;
  const report = (message: string): void => {
    process.stderr.write(`palisade run: ${message}\n`);
  };
  const state = {
    rulesPath: o.rulesPath,
    reloads: 0,
    started: Date.now(),
    t0: performance.now(),
    logLevel: config.logLevel,
  };
  const workers: WorkerHandle[] = [];
  const traces = new TraceRequests(() => workers);
  /** The reload under way: reloads go one at a time, each vetted before any worker loads it. */
  let reloading: Promise<unknown> = Promise.resolve();
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
    failOpen: o.failOpen,
    passThrough: o.passThrough,
    alerts: o.alerts,
    log: o.log,
    flows: o.flows,
  });

  const handle = async (req: CtlRequest, session: CtlSession): Promise<unknown> => {
    switch (req.cmd) {
      case 'status':
        return {
          pid: process.pid,
          uptime: (performance.now() - state.t0) / 1000,
          started: new Date(state.started).toISOString(),
          rules: state.rulesPath,
          reloads: state.reloads,
          queues: range.first === range.last ? `${range.first}` : `${range.first}-${range.last}`,
          bridge: o.bridge ?? null,
          iptables: rules?.lines ?? [],
          failOpen: o.failOpen,
          passThrough: o.passThrough,
          logLevel: state.logLevel,
          socket: socketPath,
          workers: workers.map((w) => ({ queue: w.queue, pid: w.pid, alive: w.alive, restarts: w.restarts })),
        };
      case 'stats': {
        // The iptables counter before the queues' (the kernel queues a packet as its rule
        // matches): a packet that comes between the two reads is then counted by the queue as
        // well, never as let through unjudged.
        const rulePackets = rules?.packets() ?? null;
        const per = await Promise.all(workers.filter((w) => w.alive).map((w) => w.stats()));
        const sum = total(per);
        return { uptime: (performance.now() - state.t0) / 1000, queues: per, total: sum, unjudged: unjudged(rulePackets, sum.kernel) };
      }
      case 'reload': {
        const path = req.rules === undefined ? state.rulesPath : resolve(req.rules);
        const next = reloading.then(async () => {
          // A file that fails here never reaches a worker: their rules, flows and counters stay.
          await o.vet(path);
          for (const w of workers) await w.reload(path);
          state.rulesPath = path;
          state.reloads++;
          report(`reloaded ${path}`);
          return { rules: path, reloads: state.reloads };
        });
        reloading = next.catch(() => undefined);
        return next;
      }
      case 'loglevel': {
        if (!logLevels.includes(req.level)) throw usageError(`palisade ctl loglevel: '${req.level}' is not a level (${logLevels.join(', ')})`);
        const level = req.level as Config['logLevel'];
        for (const w of workers) await w.setLogLevel(level);
        state.logLevel = level;
        return { logLevel: level };
      }
      case 'trace':
        return traces.run(req, session);
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
    if (o.bridge !== undefined) {
      for (const line of removeStaleRules()) report(`removed a rule left by a palisade that is gone: ${line}`);
      bridge = setUpBridge(o.bridge);
      for (const w of injectionWarnings(o.bridge)) report(`warning: ${w}`);
    }
    const count = range.last - range.first + 1;
    // Even one queue gets a worker of its own: this thread watches it (rules.timeoutMs).
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, i) => SpawnedWorker.start(options(range.first + i), o.kind, report)),
    );
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.allSettled(workers.map((w) => w.stop()));
      throw failed.reason;
    }
    if (o.bridge !== undefined) {
      rules = installRules(o.bridge, range, (m) => {
        report(`warning: ${m}`);
      });
    }
    const where = o.bridge === undefined ? 'your own iptables rule must send packets to it' : `bridge ${o.bridge}`;
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
  const droppedBy: Partial<Record<DropKind, number>> = {};
  const flowsByProto: Record<string, number> = {};
  for (const s of per) {
    for (const [proto, count] of Object.entries(s.flowsByProto)) flowsByProto[proto] = (flowsByProto[proto] ?? 0) + count;
    for (const key of Object.keys(t) as (keyof typeof t)[]) t[key] += s[key];
    for (const key of Object.keys(k) as (keyof QueueKernelStats)[]) k[key] += s.kernel[key];
    for (const [kind, count] of Object.entries(s.droppedBy) as [DropKind, number][]) droppedBy[kind] = (droppedBy[kind] ?? 0) + count;
  }
  return { ...t, droppedBy, flowsByProto, kernel: k };
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
