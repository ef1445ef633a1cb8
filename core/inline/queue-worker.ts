/**
 * One NFQUEUE queue judged by one engine: packets from the queue go through the engine with the
 * wall clock as their time, and each settled frame becomes a verdict for its queued packet.
 * Crafted RSTs leave through raw sockets. Packets come in batches (core/io/nfqueue/index.ts):
 * every verdict given while a batch is judged leaves with the batch's others when it ends.
 */
import { performance } from 'node:perf_hooks';
import { createEngine, type Engine } from '../engine.ts';
import type { Config } from '../config.ts';
import { LineWriter } from '../io/line-writer.ts';
import type { FlowRecord } from '../../dissectors/flow/record.ts';
import { LINKTYPE_RAW } from '../link-types.ts';
import { Injector, type InjectStats } from '../io/inject.ts';
import { NfQueue, SKB_CSUMNOTREADY } from '../io/nfqueue/index.ts';
import type { FinalVerdict } from '../io/nfqueue/verdicts.ts';
import { readKernelQueue } from './kernel-queue.ts';
import { reloadError } from '../errors.ts';
import { loadRuleFile } from '../rule-loader.ts';
import { ARMED, BEAT } from '../watchdog/heartbeat.js';
import { RELOAD_LOAD_MS } from './reload-bounds.ts';
import { ACCEPT, DROP, type DropKind } from '../../dissectors/verdict.ts';
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { FlowSelection } from '../trace/flow-selection.ts';
import { QueueTrace, type QueueTraceEnd } from './queue-trace.ts';

export interface WorkerOptions {
  queue: number;
  rulesPath: string;
  config: Config;
  /** Accept when palisade cannot judge a packet (an internal error), instead of dropping it. */
  failOpen: boolean;
  passThrough: boolean;
  /** Files, appended to (several workers share them); stdout/stderr when absent. */
  alerts?: string | undefined;
  log?: string | undefined;
  flows?: string | undefined;
}

/** One queue's counters, as `palisade ctl stats` shows them. */
export interface WorkerStats {
  queue: number;
  pid: number;
  packets: number;
  bytes: number;
  accepted: number;
  dropped: number;
  /** Dropped frames by the kind of their reason (dissectors/verdict.ts). */
  droppedBy: Partial<Record<DropKind, number>>;
  /** Packets waiting for a verdict (held for streamed rules, IP fragments). */
  pending: number;
  injected: number;
  injectFailed: number;
  alerts: number;
  ruleErrors: number;
  anomalies: number;
  /** Connections that ended, and those open now. */
  connections: number;
  /** Ended flows by the protocol recognised in them (`none` when none was). */
  flowsByProto: Record<string, number>;
  flows: number;
  /** Packets palisade failed on (a bug): given the fail-open or fail-closed verdict. */
  errors: number;
  /** Times this queue's worker was replaced (it died, hung in a rule or filled its heap); the other counters are the current worker's. */
  restarts: number;
  rss: number;
  /** The kernel's side of the queue (/proc/net/netfilter/nfnetlink_queue), and what palisade saw of it. */
  kernel: QueueKernelStats;
}

export interface QueueKernelStats {
  /** Packets waiting for a verdict in the kernel (in palisade's socket or held by it). */
  waiting: number;
  /** The kernel dropped them: queue full, fail-open off. */
  queueDropped: number;
  /** The kernel dropped them: socket buffer full, fail-open off. */
  userDropped: number;
  /** Packets the kernel queued since palisade bound the queue. */
  queued: number;
  /** Queued packets that never reached palisade (socket buffer full): accepted unjudged with fail-open, else dropped. */
  undelivered: number;
  /** Batches read, and verdict messages (of which batch verdicts) and sendmsg calls. */
  batches: number;
  verdictMessages: number;
  batchVerdicts: number;
  sends: number;
  /** Netlink messages palisade could not parse, or whose verdict the kernel refused. */
  malformed: number;
  refused: number;
  /** Receive or send errors on the netlink socket, and exceptions out of a batch (the batch got the fail verdict). */
  failures: number;
}

/**
 * The heartbeat's idle beat: the engine beats for every packet, this timer between them, so a
 * quiet queue is not a stuck one. It cannot fire while a rule holds the thread.
 */
const IDLE_BEAT_MS = 50;
/** A reload's heartbeat, between the asynchronous steps of its loading. */
const LOAD_BEAT_MS = 10;

/** How long the queue must stay quiet before a stopping worker closes its engine, and the cap. */
const DRAIN_QUIET_MS = 200;
const DRAIN_MAX_MS = 3000;

/** What a RST that could not be sent is reported as. */
export function injectFailure(queue: number, err: Error, dst: string): string {
  return `queue ${queue}: a RST to ${dst || '?'} was not sent: ${err.message} (does the host have a route to it through the bridge? see docs/inline.md)`;
}

/** Wall time as { secs, nsecs }, into one reused object (the engine reads it during push only). */
function wallTime(into: { secs: number; nsecs: number }, now = performance.now()): { secs: number; nsecs: number } {
  const ms = performance.timeOrigin + now;
  const secs = Math.floor(ms / 1000);
  into.secs = secs;
  into.nsecs = Math.floor((ms - secs * 1000) * 1e6);
  return into;
}


/** `promise`, or `late()` thrown after `ms`; what it settles to later is dropped. */
function within<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(late());
    }, ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** Where crafted packets go: raw sockets here, or (in a worker thread) the main thread's. */
export interface PacketSender {
  send(datagram: Buffer): void;
  readonly stats: InjectStats;
  close(): void;
}

export class QueueWorker {
  readonly queue: number;
  readonly #engine: Engine;
  readonly #nfq: NfQueue;
  readonly #injector: PacketSender;
  readonly #failOpen: boolean;
  readonly #report: (message: string) => void;
  readonly #flows: LineWriter | undefined;
  readonly #streams: LineWriter[] = [];
  /** Outputs whose write error was reported (once each: judging goes on without them). */
  readonly #reported = new Set<LineWriter>();
  readonly #ts = { secs: 0, nsecs: 0 };
  readonly #tick: NodeJS.Timeout;
  readonly #beat: Int32Array | undefined;
  readonly #idleBeat: NodeJS.Timeout | undefined;
  /** `ctl trace` on this queue: one at a time. */
  readonly #tracing: QueueTrace;

  /** The engine's frame number of the packet being pushed (0 between pushes), and its queue id. */
  #current = 0;
  #currentId = 0;
  #settled = false;
  /** Frames the engine holds (pending): engine frame number → queue packet id. */
  readonly #pending = new Map<number, number>();
  #errors = 0;
  #lastError = 0;
  #closed = false;
  #lastPacket = 0;

  private constructor(
    options: WorkerOptions,
    rules: Awaited<ReturnType<typeof loadRuleFile>>,
    report: (message: string) => void,
    sender: PacketSender | undefined,
    heartbeat: Int32Array | undefined,
  ) {
    this.queue = options.queue;
    this.#failOpen = options.failOpen;
    this.#report = report;
    const alerts = options.alerts === undefined ? undefined : LineWriter.file(options.alerts, true);
    const log = options.log === undefined ? undefined : LineWriter.file(options.log, true);
    this.#flows = options.flows === undefined ? undefined : LineWriter.file(options.flows, true);
    for (const s of [alerts, log, this.#flows]) if (s !== undefined) this.#streams.push(s);
    const flows = this.#flows;

    this.#injector =
      sender ??
      new Injector((err, dst) => {
        this.#throttled(injectFailure(this.queue, err, dst));
      });
    this.#engine = createEngine({
      rules,
      config: options.config,
      live: true,
      passThrough: options.passThrough,
      ...(heartbeat === undefined ? {} : { heartbeat }),
      alerts: alerts ?? 'stdout',
      log: log ?? 'stderr',
      ...(flows === undefined ? {} : { onFlow: (record: FlowRecord) => flows.write(`${JSON.stringify(record)}\n`) }),
      output: {
        forward: (bytes, _secs, _nsecs, _linkType, id, rewritten) => {
          this.#verdict(id, ACCEPT, rewritten === true ? bytes : null);
        },
        // The reason is counted by the engine (stats.dropsByReason): the queue needs the drop only.
        drop: (id) => {
          this.#verdict(id, DROP);
        },
        hold: (id) => {
          this.#hold(id);
        },
        inject: (bytes) => {
          // After the verdicts of the packets judged before it: a RST must not overtake the data it follows.
          this.#nfq.afterVerdicts(() => this.#injector.send(bytes));
        },
      },
    });
    this.#tracing = new QueueTrace(options.queue, this.#engine);
    // Alerts raised before the first packet carry the right time too.
    this.#engine.tick(wallTime(this.#ts));
    this.#engine.start();
    // Bound last: from here on packets arrive.
    this.#nfq = new NfQueue(
      options.queue,
      { queueLength: options.config.inline.queueLength, failOpen: options.config.inline.failOpen, gso: options.config.inline.gso },
      this.#onPacket,
    );
    // Timeouts fire on the wall clock even when no packet comes.
    this.#tick = setInterval(() => {
      if (this.#closed) return;
      this.#engine.tick(wallTime(this.#ts));
      this.#checkOutputs();
    }, 1000);
    // Watched from now on, for as long as the queue is bound (the engine's own arming nests in it).
    this.#beat = heartbeat;
    if (heartbeat !== undefined) {
      Atomics.add(heartbeat, ARMED, 1);
      this.#idleBeat = setInterval(() => Atomics.add(heartbeat, BEAT, 1), IDLE_BEAT_MS);
    }
  }

  /**
   * Loads the rule file, builds the engine and binds the queue. `heartbeat`: the watchdog's
   * (rules.timeoutMs), armed while the queue is bound; loading the rules is not watched.
   */
  static async start(options: WorkerOptions, report: (message: string) => void, sender?: PacketSender, heartbeat?: Int32Array): Promise<QueueWorker> {
    const rules = await loadRuleFile(options.rulesPath);
    return new QueueWorker(options, rules, report, sender, heartbeat);
  }

  readonly #onPacket = (payload: Buffer, id: number, skbInfo: number): void => {
    // Nothing may escape: the queue gives the packet the fail verdict if it does.
    if (this.#closed) {
      this.#nfq.accept(id);
      return;
    }
    const now = performance.now();
    this.#lastPacket = now;
    this.#expect(this.#engine.nextFrame, id);
    try {
      this.#engine.push(payload, wallTime(this.#ts, now), LINKTYPE_RAW, (skbInfo & SKB_CSUMNOTREADY) !== 0);
    } catch (err) {
      this.#errors++;
      this.#throttled(`queue ${this.queue}: packet ${this.#current} could not be judged (${err instanceof Error ? err.message : String(err)}); ${this.#failOpen ? 'accepted (--fail-open)' : 'dropped'}`);
      if (!this.#settled) {
        this.#settled = true;
        try {
          if (this.#failOpen) this.#nfq.accept(id);
          else this.#nfq.drop(id);
        } catch {
          // The verdict socket failed too: the kernel applies its own when palisade exits.
        }
      }
    }
    this.#current = 0;
  };

  /**
   * Frame `frame` is packet `id`, pushed now: the engine numbers frames, and its output (forward,
   * drop, hold) names them so; one of them settles it during the push, or the fail verdict does.
   */
  #expect(frame: number, id: number): void {
    this.#current = frame;
    this.#currentId = id;
    this.#settled = false;
  }

  /**
   * The packet being pushed waits for its verdict, which names the frame when it comes. Only the
   * frame being pushed is ever held (core/egress.ts, holdCurrent).
   */
  #hold(frame: number): void {
    if (frame !== this.#current) return;
    this.#pending.set(frame, this.#currentId);
    this.#settled = true;
  }

  /** A settled frame: the packet being pushed, or one the engine held; `rewritten`: the bytes to send instead of it. */
  #verdict(frame: number, verdict: FinalVerdict, rewritten: Buffer | null = null): void {
    let id: number;
    if (frame === this.#current) {
      id = this.#currentId;
      this.#settled = true;
    } else {
      const held = this.#pending.get(frame);
      if (held === undefined) return;
      this.#pending.delete(frame);
      id = held;
    }
    if (rewritten !== null) this.#nfq.acceptRewritten(id, rewritten);
    else this.#nfq.give(id, verdict);
  }

  /** An output that failed (a full disk) is said once; packets are judged on without it. */
  #checkOutputs(): void {
    for (const s of this.#streams) {
      const failure = s.failure;
      if (failure === null || this.#reported.has(s)) continue;
      this.#reported.add(s);
      this.#report(`queue ${this.queue}: ${failure.toString()}; its lines are lost from now on, packets are still judged`);
    }
  }

  /** At most one message a second, with how many were left out. */
  #suppressed = 0;
  #throttled(message: string): void {
    const now = performance.now();
    if (now - this.#lastError < 1000) {
      this.#suppressed++;
      return;
    }
    this.#lastError = now;
    this.#report(this.#suppressed > 0 ? `${message} (and ${this.#suppressed} more)` : message);
    this.#suppressed = 0;
  }

  stats(): WorkerStats {
    const s = this.#engine.stats;
    const q = this.#nfq.stats();
    const k = readKernelQueue(this.queue, this.#nfq.portId);
    return {
      queue: this.queue,
      pid: process.pid,
      packets: s.packets,
      bytes: s.bytes,
      accepted: s.accepted,
      dropped: s.dropped,
      droppedBy: Object.fromEntries(s.dropsByReason),
      pending: this.#pending.size,
      injected: this.#injector.stats.sent,
      injectFailed: this.#injector.stats.failed,
      alerts: s.alerts,
      ruleErrors: s.ruleErrors,
      anomalies: s.anomalyTotal,
      connections: s.connections,
      flowsByProto: Object.fromEntries(s.flowsByProto),
      flows: this.#engine.flows,
      errors: this.#errors,
      restarts: 0,
      rss: process.memoryUsage.rss(),
      kernel: {
        waiting: k?.waiting ?? 0,
        queueDropped: k?.queueDropped ?? 0,
        userDropped: k?.userDropped ?? 0,
        queued: k?.queued ?? 0,
        undelivered: q.undelivered,
        batches: q.batches,
        verdictMessages: q.verdictMessages,
        batchVerdicts: q.batchVerdicts,
        sends: q.sends,
        malformed: q.malformed + q.malformedMessages,
        refused: q.refused,
        failures: q.recvErrors + q.sendErrors + q.enobufs + q.overflow + q.callbackErrors,
      },
    };
  }

  /**
   * Loads `path` and swaps it in, keeping the flow table and the counters; on failure the old
   * rules stay (and it throws). Packets are judged by the old rules while the file is read and
   * transformed; its top-level code and its rules' set-up hold this thread between two packets.
   * `loadBeat`: armed instead of the packets' heartbeat meanwhile, so that the watchdog gives the
   * loading the reload's bound (its vet held to it already), not rules.timeoutMs.
   */
  async reload(path: string, loadBeat?: Int32Array): Promise<void> {
    const beat = this.#beat;
    const watched = beat !== undefined && loadBeat !== undefined;
    let beating: NodeJS.Timeout | undefined;
    if (watched) {
      Atomics.add(loadBeat, ARMED, 1);
      beating = setInterval(() => Atomics.add(loadBeat, BEAT, 1), LOAD_BEAT_MS);
      Atomics.sub(beat, ARMED, 1);
    }
    try {
      const rules = await within(loadRuleFile(path), RELOAD_LOAD_MS, () => reloadError(path, `did not finish loading in ${RELOAD_LOAD_MS / 1000} s; the old rules stay`));
      this.#engine.replaceRules(rules);
    } finally {
      if (watched) {
        Atomics.add(beat, ARMED, 1);
        clearInterval(beating);
        Atomics.sub(loadBeat, ARMED, 1);
      }
    }
  }

  setLogLevel(level: Config['logLevel']): void {
    this.#engine.setLogLevel(level);
  }

  /** `ctl trace`: the next `packets` frames of the selected flow (core/inline/queue-trace.ts); PAL_ERR_TRACE_BUSY while another runs. */
  trace(id: number, select: FlowSelection, packets: number, onTrace: (trace: FrameTrace) => void, onEnd: (ended: QueueTraceEnd) => void): void {
    this.#tracing.start(id, select, packets, onTrace, onEnd);
  }

  untrace(id: number): void {
    this.#tracing.stop(id);
  }

  /**
   * Drains: once the queue has been quiet for a moment (the iptables rule is gone by then), open
   * connections end with reason `shutdown`, held frames get their verdicts, alerts and logs are
   * flushed. Later packets are accepted without rules until the process exits.
   */
  async stop(): Promise<WorkerStats> {
    this.#tracing.close();
    const start = performance.now();
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    while (performance.now() - Math.max(this.#lastPacket, start) < DRAIN_QUIET_MS && performance.now() - start < DRAIN_MAX_MS) {
      await sleep(50);
    }
    clearInterval(this.#tick);
    this.#engine.tick(wallTime(this.#ts));
    this.#engine.flush();
    await this.#engine.settle();
    this.#engine.close();
    this.#closed = true;
    clearInterval(this.#idleBeat);
    if (this.#beat !== undefined) Atomics.sub(this.#beat, ARMED, 1);
    // Anything the engine still held: let it through rather than leave it to the kernel's drop.
    for (const id of this.#pending.values()) this.#nfq.accept(id);
    this.#pending.clear();
    const final = this.stats();
    this.#nfq.close();
    this.#checkOutputs();
    for (const s of this.#streams) s.close();
    this.#injector.close();
    return final;
  }
}
