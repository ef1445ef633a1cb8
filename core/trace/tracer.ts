/**
 * Which frames are traced and where their traces go. A trace begins with its frame's push and
 * ends with its verdict: at once for most frames; for a held one (an IP fragment, a segment
 * waiting for streamed rules), when it is released or dropped, with a `released` step.
 */
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { FrameSelection } from './frames.ts';
import type { DropReason, Verdict } from '../../dissectors/verdict.ts';

/** The flow a frame joined, as a `ctl trace` selection sees it. */
export interface TracedFlowKey {
  readonly proto: 'tcp' | 'udp';
  readonly flow: number;
  /** `ip:port` (`[ip]:port` for IPv6). */
  readonly client: string;
  readonly server: string;
}

export interface TraceOptions {
  /** The frames to trace, by number (default: every frame). */
  frames?: FrameSelection;
  /** Only the frames of flows this selects (`ctl trace <flow>`); frames of no flow are then not traced. */
  flow?: (flow: TracedFlowKey) => boolean;
  /** Stop after this many traces (`ctl trace --packets N`); then `onDone`. */
  packets?: number;
  /** Each trace, once its frame's verdict is known. */
  onFrame: (trace: FrameTrace) => void;
  /** Called once `packets` traces were given. */
  onDone?: () => void;
}

export class Tracer {
  readonly #frames: FrameSelection | undefined;
  readonly #flow: ((flow: TracedFlowKey) => boolean) | undefined;
  readonly #onFrame: (trace: FrameTrace) => void;
  readonly #stop: () => void;
  #left: number;
  /** Traces of frames held past their push, by frame number. */
  readonly #open = new Map<number, FrameTrace>();

  /** `stop`: the engine stops tracing (after `packets` traces). */
  constructor(options: TraceOptions, stop: () => void) {
    this.#frames = options.frames;
    this.#flow = options.flow;
    this.#onFrame = options.onFrame;
    this.#left = options.packets ?? Infinity;
    const done = options.onDone;
    this.#stop = () => {
      stop();
      done?.();
    };
  }

  /** A trace for frame `frame`, or null when it is not selected. */
  begin(frame: number, time: number): FrameTrace | null {
    if (this.#left <= 0 || (this.#frames !== undefined && !this.#frames(frame))) return null;
    // `reason` before `steps`, so that it comes first in the JSON (undefined is left out).
    return { type: 'trace', frame, time, verdict: 'accept', reason: undefined, steps: [] };
  }

  /** The push is over: the trace goes out, or waits for the held frame's verdict. */
  end(trace: FrameTrace, verdict: Verdict, reason: DropReason | null): void {
    if (!this.#selected(trace)) return;
    if (verdict === 'pending') {
      trace.verdict = 'pending';
      trace.steps.push({ step: 'held' });
      this.#open.set(trace.frame, trace);
      return;
    }
    this.#give(trace, verdict, reason);
  }

  /** A held frame's verdict, given during frame `during` (0: between packets) or a streamed rule's run. */
  settled(frame: number, verdict: 'accept' | 'drop', reason: DropReason | null, during: number, rule: string): void {
    const trace = this.#open.get(frame);
    if (trace === undefined) return;
    this.#open.delete(frame);
    trace.steps.push({ step: 'released', during, ...(rule !== '' ? { rule } : {}) });
    this.#give(trace, verdict, reason);
  }

  #selected(trace: FrameTrace): boolean {
    const select = this.#flow;
    if (select === undefined) return true;
    for (const s of trace.steps) if (s.step === 'flow') return select(s);
    return false;
  }

  #give(trace: FrameTrace, verdict: 'accept' | 'drop', reason: DropReason | null): void {
    trace.verdict = verdict;
    if (verdict === 'drop' && reason !== null) trace.reason = reason;
    this.#onFrame(trace);
    if (--this.#left === 0) this.#stop();
  }
}
