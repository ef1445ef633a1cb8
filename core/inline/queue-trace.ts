/**
 * One queue's `ctl trace`, on the worker's side, over its engine: at most one trace at a time (a
 * second is refused with PAL_ERR_TRACE_BUSY: one client's trace is never taken over by another's).
 * A trace ends after its N traces (the engine stops by itself), when the main thread stops it
 * (the client went away, Ctrl-C, the timeout, enough traces from other queues), or when the
 * worker stops; whichever comes first, the engine is left tracing nothing. The callbacks run
 * inside the engine's push(): nothing they throw may reach it (the packet would get the fail
 * verdict), so that tracing never changes a verdict.
 */
import type { FrameTrace } from '../../dissectors/trace.ts';
import { traceBusy } from '../errors.ts';
import { flowMatcher, type FlowSelection } from '../trace/flow-selection.ts';
import type { TraceOptions } from '../trace/tracer.ts';

/** Why a queue's trace ended: its N traces, the main thread's stop, or the worker stopping. */
export type QueueTraceEnd = 'packets' | 'stopped' | 'shutdown';

interface Tracing {
  readonly id: number;
  readonly onEnd: (ended: QueueTraceEnd) => void;
}

export class QueueTrace {
  readonly #queue: number;
  readonly #engine: { trace(options: TraceOptions | null): void };
  #active: Tracing | null = null;

  constructor(queue: number, engine: { trace(options: TraceOptions | null): void }) {
    this.#queue = queue;
    this.#engine = engine;
  }

  get active(): boolean {
    return this.#active !== null;
  }

  /**
   * Traces the next `packets` frames of the selected flow, from the next packet on; `id` names
   * the trace for stop(). Throws PAL_ERR_TRACE_BUSY while another trace runs.
   */
  start(id: number, select: FlowSelection, packets: number, onTrace: (trace: FrameTrace) => void, onEnd: (ended: QueueTraceEnd) => void): void {
    if (this.#active !== null) throw traceBusy([this.#queue]);
    const tracing: Tracing = { id, onEnd };
    this.#active = tracing;
    this.#engine.trace({
      flow: flowMatcher(select),
      packets,
      onFrame: (trace) => {
        guarded(() => {
          onTrace(trace);
        });
      },
      // The engine has stopped tracing by now.
      onDone: () => {
        this.#end(tracing, 'packets');
      },
    });
  }

  /** Ends trace `id`, and no other: a late stop must not end the trace that came after it. */
  stop(id: number, ended: QueueTraceEnd = 'stopped'): void {
    const tracing = this.#active;
    if (tracing === null || tracing.id !== id) return;
    this.#engine.trace(null);
    this.#end(tracing, ended);
  }

  /** The worker is stopping: whatever traces ends. */
  close(): void {
    if (this.#active !== null) this.stop(this.#active.id, 'shutdown');
  }

  #end(tracing: Tracing, ended: QueueTraceEnd): void {
    if (this.#active !== tracing) return;
    this.#active = null;
    guarded(() => {
      tracing.onEnd(ended);
    });
  }
}

/** A trace's way out (the channel to the main thread) failing is no reason to fail a packet. */
function guarded(f: () => void): void {
  try {
    f();
  } catch {
    // The main thread sees the trace end when the channel goes.
  }
}
