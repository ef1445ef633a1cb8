/**
 * The scheduler of everything that runs across awaits: streamed rules and flow dissectors (one
 * run per flow and direction, started at the direction's first byte), and async `eval`s of
 * plain rules. Runs resume one at a time, in the order their bytes came, so a replay is
 * deterministic and each run's rule name is known when it alerts or throws.
 */
import type { Logger } from 'pino';
import { ARMED, BEAT } from './watchdog/heartbeat.js';
import { Dispatch } from './dispatch.ts';
import { defaultConfig } from './config.ts';
import type { Turn } from '../dissectors/turn.ts';
import { connectionState, dissectorEmitter, enabledDissectors, type FlowDissector, type FlowDissectorHost, type FlowDissectorImpl } from './flow-dissector.ts';
import { ParserFeed, TcpStream, type Direction, type Hold, type ParserHost, type StreamParser, type StreamScheduler, type TcpFlow } from '../dissectors/tcp-connection/index.ts';

/** How long settle() waits for a streamed rule that awaits something other than its stream. */
const SETTLE_LIMIT_MS = 1000;

export class Scheduler implements StreamScheduler {
  /** Runs running now (not waiting for bytes), async rules included. */
  runnable = 0;
  /** Streams whose waiting run can resume, in the order their bytes came. */
  readonly #ready: TcpStream[] = [];
  #settling: Promise<void> | null = null;
  #settleWarned = false;
  readonly #emitters = new Map<FlowDissector, Record<string, (...args: unknown[]) => void>>();
  readonly #dispatch: Dispatch;
  /** The engine's turn: the scheduler names the run resumed (`running`) and the frame of its bytes. */
  readonly #turn: Turn;
  readonly #log: Logger;
  readonly #beat: Int32Array;
  /**
   * A turn of the engine between packets: what rules did meanwhile to held frames and flows
   * (send, drop, reset) is carried out. Inside a packet it joins the packet's turn.
   */
  readonly #between: () => void;
  readonly #closed: () => boolean;
  /** What push-mode dissectors report their anomalies to (the engine sets it). */
  host: FlowDissectorHost = { anomaly: () => undefined, edit: () => undefined, config: defaultConfig() };

  constructor(dispatch: Dispatch, turn: Turn, log: Logger, beat: Int32Array, between: () => void, closed: () => boolean) {
    this.#dispatch = dispatch;
    this.#turn = turn;
    this.#log = log;
    this.#beat = beat;
    this.#between = between;
    this.#closed = closed;
  }

  /** Runs are running or ready to resume: `await settle()` before the next packet. */
  get busy(): boolean {
    return this.runnable > 0 || this.#ready.length > 0;
  }

  // ---- StreamScheduler ----------------------------------------------------------------------

  blocked(): void {
    this.runnable = Math.max(0, this.runnable - 1);
  }

  ready(stream: TcpStream): void {
    this.#ready.push(stream);
    // Nobody may call settle() (a library user): the runs still go on, after this packet.
    if (this.#settling === null) queueMicrotask(() => void this.settle());
  }

  // ---- runs ---------------------------------------------------------------------------------

  /**
   * An async `eval` on a plain (not streamed) event: the packet's verdict did not wait for it, so
   * a rejection is counted as a rule error when it comes and `ruleErrorPolicy` applies to the
   * flow the event was about (dropped under `drop`), never an unhandled rejection. Replay settles
   * it before the next packet, so the outcome does not depend on timing.
   */
  readonly watch = (name: string, pending: PromiseLike<unknown>, subject: unknown): void => {
    // Counted as running, so that settle() (replay, after each such packet) waits for it.
    this.runnable++;
    const done = (): void => {
      this.runnable = Math.max(0, this.runnable - 1);
      // An action it took after its await (flow.reset()) goes out now, not at the next packet.
      this.#between();
    };
    pending.then(done, (err: unknown) => {
      done();
      if (this.#closed()) return;
      this.#dispatch.ruleError(name, err, Dispatch.flowOf(subject));
    });
  };

  /**
   * A direction's first byte: one stream and one run per streamed rule and enabled dissector.
   * `dissectorsOnly`: the hold is open already (protocol detection decided later), only the
   * dissectors not reading it yet start.
   */
  openStreams(flow: TcpFlow, direction: Direction, hold: Hold, dissectorsOnly = false): void {
    const dispatch = this.#dispatch;
    if (!dissectorsOnly) for (const r of dispatch.streamed) this.#run(r.name, flow, hold, (stream) => r.fn(flow, stream, direction));
    for (const d of enabledDissectors(flow)) {
      if (dissectorsOnly && hold.readers.includes(d)) continue;
      hold.readers.push(d);
      let emit = this.#emitters.get(d);
      if (emit === undefined) {
        emit = dissectorEmitter(d, dispatch);
        this.#emitters.set(d, emit);
      }
      const e = emit;
      if (d.parser !== undefined) this.#parse(d, flow, direction, hold, e);
      else if (d.receiveStreamed !== undefined) this.#run(d.name, flow, hold, (stream) => (d.receiveStreamed as NonNullable<typeof d.receiveStreamed>)(flow, stream, direction, e));
    }
    if (hold.consumers === 0) hold.active = false;
  }

  /** ParserHost: push parsers run under their dissector's name; one that throws is a rule error of that name. */
  readonly #parsers: ParserHost = {
    enter: (name) => {
      const turn = this.#turn;
      const outer = turn.running;
      turn.running = name;
      return outer;
    },
    leave: (outer) => {
      this.#turn.running = outer;
    },
    failed: (name, err, flow) => {
      this.#dispatch.ruleError(name, err, flow);
    },
  };

  /** A push-mode dissector's parser for one direction (stream-parser.ts). */
  #parse(d: FlowDissectorImpl, flow: TcpFlow, direction: Direction, hold: Hold, emit: Record<string, (...args: unknown[]) => void>): void {
    const host = this.#parsers;
    const outer = host.enter(d.name);
    let parser: StreamParser;
    try {
      parser = (d.parser as NonNullable<FlowDissectorImpl['parser']>)(flow, direction, emit, this.host, connectionState(flow, d));
    } catch (err) {
      host.failed(d.name, err, flow);
      return;
    } finally {
      host.leave(outer);
    }
    hold.parsers.push(new ParserFeed(parser, d.name, flow, host, hold.next));
  }

  #run(name: string, flow: TcpFlow, hold: Hold, body: (stream: TcpStream) => Promise<void> | void): void {
    const stream = new TcpStream(hold, this, hold.next);
    stream.runName = name;
    hold.streams.push(stream);
    this.runnable++;
    // The body runs now, inside the packet, up to its first wait.
    const dispatch = this.#dispatch;
    const turn = this.#turn;
    const outer = turn.running;
    turn.running = name;
    void (async () => {
      try {
        await body(stream);
      } catch (err) {
        dispatch.ruleError(name, err, flow);
      } finally {
        this.runnable = Math.max(0, this.runnable - 1);
        stream.finish();
        // Its end released what it held back: out now, not at the next packet (a run that ends
        // on its own, outside a settle() turn, would otherwise leave its frames waiting).
        this.#between();
      }
    })();
    turn.running = outer;
  }

  /** The rule set changed: dissectors' emitters are made again for the new ones. */
  forgetDissectors(): void {
    this.#emitters.clear();
  }

  /**
   * Lets runs go until each waits for bytes that have not arrived (or has ended): runs resume
   * one at a time, in the order their bytes came, so a replay is deterministic and each packet
   * is fully judged before the next is read. Also runs by itself after a push.
   */
  settle(): Promise<void> {
    if (this.#settling === null && this.busy) this.#settling = this.#settleLoop();
    return this.#settling ?? Promise.resolve();
  }

  /**
   * Resumes ready runs one at a time, each until it waits again: microtask turns first (a run
   * resumed by a read), then whole event-loop turns for a rule that awaits something else (a
   * timer, I/O), up to SETTLE_LIMIT_MS: a rule awaiting what never comes must not stop the engine.
   * One loop, no nested async calls: replay settles after every packet that fed a stream.
   */
  async #settleLoop(): Promise<void> {
    let turns = 0;
    let since = 0;
    // Never finishes synchronously: settle() must have stored this promise before it ends.
    await Promise.resolve();
    // Armed while runs resume (inline they resume after the batch that fed them); every turn is progress.
    const beat = this.#beat;
    const turn = this.#turn;
    Atomics.add(beat, ARMED, 1);
    for (;;) {
      Atomics.add(beat, BEAT, 1);
      // What the last resumed run did to held frames and flows (send, drop, reset) goes out now.
      this.#between();
      if (this.runnable > 0) {
        if (turns++ < 64) {
          await Promise.resolve();
          continue;
        }
        if (since === 0) since = performance.now();
        else if (performance.now() - since > SETTLE_LIMIT_MS) {
          if (!this.#settleWarned) {
            this.#settleWarned = true;
            this.#log.warn({ rule: turn.running, limitMs: SETTLE_LIMIT_MS }, 'a rule awaits something other than its stream; going on without waiting for it');
          }
          // Counted as waiting from now on; when it waits on its stream, the count stays at 0.
          this.runnable = 0;
          continue;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const stream = this.#ready.shift();
      if (stream === undefined) break;
      turns = 0;
      since = 0;
      turn.running = stream.runName;
      turn.runningFrame = stream.lastFrame;
      if (stream.resume()) this.runnable++;
    }
    Atomics.sub(beat, ARMED, 1);
    turn.running = '';
    turn.runningFrame = 0;
    this.#settling = null;
  }
}
