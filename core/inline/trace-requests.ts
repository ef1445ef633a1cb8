/**
 * `palisade ctl trace` on the main thread: checks the request, starts a trace on each queue it
 * names (every queue by default), and streams the traces to the client as they come, each with
 * its queue, after one `{"type":"tracing"}` line once every queue traces. It ends at the first
 * of: N traces in all (the queues are told to stop; a trace past N is not sent), its time is up,
 * the client went away (Ctrl-C: the connection's signal), or every queue traced stopped tracing
 * (palisade is stopping, a worker died). Whichever it is, every queue it started is told to stop,
 * so no tracer is left behind. One trace at a time per queue: a request naming a queue that
 * traces for another client is refused at once (PAL_ERR_TRACE_BUSY), before any queue starts.
 */
import type { FrameTrace } from '../../dissectors/trace.ts';
import { ctlError, traceBusy, usageError } from '../errors.ts';
import { checkFlowSelection, describeFlowSelection, type FlowSelection } from '../trace/flow-selection.ts';
import type { CtlSession } from './control-connection.ts';
import type { TraceRequest } from './control.ts';
import type { WorkerHandle, WorkerTraceEnd } from './workers.ts';

export const DEFAULT_TRACE_PACKETS = 10;
/** A trace is a few KiB, and each stays in memory from the worker to the client: a bound on what one request holds. */
export const MAX_TRACE_PACKETS = 10_000;
export const DEFAULT_TRACE_SECONDS = 60;
/** A day: a trace left waiting longer is one forgotten. */
export const MAX_TRACE_SECONDS = 86_400;

/** How a trace request ended: its N traces, its time, the client gone, palisade stopping, the workers gone. */
export type TraceEnded = 'packets' | 'timeout' | 'client' | 'shutdown' | 'exited';

export interface TraceSummary {
  /** Traces taken, and those of them left out because the client read too slowly. */
  traces: number;
  missed: number;
  packets: number;
  seconds: number;
  queues: number[];
  ended: TraceEnded;
}

/** The first line of a trace's stream: what is traced, once every queue does. */
export interface TracingLine {
  type: 'tracing';
  flow: string;
  queues: number[];
  packets: number;
  seconds: number;
}

export type TraceTarget = Pick<WorkerHandle, 'queue' | 'alive' | 'trace'>;

export class TraceRequests {
  readonly #workers: () => readonly TraceTarget[];
  /** Queues tracing now: one trace at a time each. */
  readonly #busy = new Set<number>();

  constructor(workers: () => readonly TraceTarget[]) {
    this.#workers = workers;
  }

  async run(req: TraceRequest, session: CtlSession): Promise<TraceSummary> {
    const select = checkFlowSelection(req.select);
    if (select === null) throw usageError(`palisade ctl trace: ${JSON.stringify(req.select)} is not a flow id ({"flow":12}) or a 5-tuple ({"proto":"tcp","a":"10.0.0.1:40000","b":"10.0.0.2:80"})`);
    const packets = whole(req.packets ?? DEFAULT_TRACE_PACKETS, MAX_TRACE_PACKETS, '--packets', 'traces');
    const seconds = req.seconds ?? DEFAULT_TRACE_SECONDS;
    if (!(seconds > 0 && seconds <= MAX_TRACE_SECONDS)) throw usageError(`palisade ctl trace: --timeout takes seconds, more than 0 and at most ${MAX_TRACE_SECONDS}, not ${seconds}`);
    const targets = this.#targets(req.queue);
    const busy = targets.filter((w) => this.#busy.has(w.queue)).map((w) => w.queue);
    if (busy.length > 0) throw traceBusy(busy);
    for (const w of targets) this.#busy.add(w.queue);
    try {
      return await trace(select, targets, packets, seconds, session);
    } finally {
      for (const w of targets) this.#busy.delete(w.queue);
    }
  }

  #targets(queue: number | undefined): TraceTarget[] {
    const all = this.#workers();
    if (queue === undefined) {
      const alive = all.filter((w) => w.alive);
      if (alive.length === 0) throw ctlError('no queue worker is running (they are being started again); try again in a second');
      return alive;
    }
    const w = all.find((x) => x.queue === queue);
    if (w === undefined) {
      const queues = all.map((x) => x.queue);
      const runs = queues.length === 1 ? `queue ${queues[0] ?? ''} only` : `queues ${queues.join(', ')}`;
      throw usageError(`palisade ctl trace: --queue ${queue}: palisade runs ${runs}; name one of them, or leave --queue out to trace on every queue`);
    }
    if (!w.alive) throw ctlError(`the worker for queue ${queue} is not running (it is being started again); try again in a second`);
    return [w];
  }
}

function whole(n: number, max: number, flag: string, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw usageError(`palisade ctl trace: ${flag} takes a number of ${what}, 1 to ${max}, not ${n}`);
  return n;
}

async function trace(select: FlowSelection, targets: readonly TraceTarget[], packets: number, seconds: number, session: CtlSession): Promise<TraceSummary> {
  const queues = targets.map((w) => w.queue);
  let taken = 0;
  let missed = 0;
  /** Read in the callbacks and after the starts: a field, not a local that the compiler narrows. */
  const state: { ended: TraceEnded | null } = { ended: null };
  /** Until every queue traces, traces wait here (N at most), so that the `tracing` line comes first. */
  let held: object[] | null = [];
  const stops: (() => void)[] = [];
  let tracing = targets.length;
  let resolveEnd: (ended: TraceEnded) => void = () => undefined;
  const over = new Promise<TraceEnded>((resolve) => {
    resolveEnd = resolve;
  });

  const out = (line: object): void => {
    if (held !== null) held.push(line);
    else if (!session.stream(line)) missed++;
  };
  const end = (why: TraceEnded): void => {
    if (state.ended !== null) return;
    state.ended = why;
    clearTimeout(timer);
    session.signal.removeEventListener('abort', onGone);
    for (const stop of stops) stop();
    resolveEnd(why);
  };
  const onGone = (): void => {
    end('client');
  };
  const give = (queue: number, t: FrameTrace): void => {
    if (state.ended !== null) return;
    taken++;
    out({ queue, ...t });
    if (taken === packets) end('packets');
  };
  const queueEnded = (why: WorkerTraceEnd): void => {
    // One queue's end is the request's only once every queue's trace has ended.
    if (--tracing > 0 || state.ended !== null) return;
    end(why === 'exited' ? 'exited' : 'shutdown');
  };
  const timer = setTimeout(() => {
    end('timeout');
  }, seconds * 1000);
  session.signal.addEventListener('abort', onGone);
  if (session.signal.aborted) end('client');

  const started = await Promise.allSettled(
    targets.map((w) =>
      w.trace(
        select,
        packets,
        (t) => {
          give(w.queue, t);
        },
        queueEnded,
      ),
    ),
  );
  for (const s of started) {
    if (s.status !== 'fulfilled') continue;
    // Ended while the others started: stop this one at once.
    if (state.ended !== null) s.value();
    else stops.push(s.value);
  }
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    end('exited');
    throw failed.reason;
  }
  const first: TracingLine = { type: 'tracing', flow: describeFlowSelection(select), queues, packets, seconds };
  const waiting = held;
  held = null;
  out(first);
  for (const line of waiting) out(line);
  const why = await over;
  return { traces: taken, missed, packets, seconds, queues, ended: why };
}
