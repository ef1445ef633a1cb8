/**
 * A frame's trace (`replay --trace`, `palisade test --trace`, `ctl trace`): what the engine did
 * with one frame, in order, and its verdict with the reason. One JSON object per frame under
 * `--json`; docs/trace.md shows both forms. Declared here, as the verdicts are: the trackers
 * add their steps (the flow a frame joined, stream bytes), the engine the rest.
 */
import type { DropReason, Verdict } from './verdict.ts';

export type TraceStep =
  /** A layer decoded: `ipv4 10.0.0.1 > 10.0.0.2 proto 6 len 60`. */
  | { step: 'layer'; layer: string; summary: string }
  /** IP fragment handling: held for the rest, completed (the datagram is walked), or dropped. */
  | { step: 'fragment'; status: 'held' | 'complete' | 'dropped'; frames?: number[]; anomaly?: string }
  /** The flow the frame joined, with its state before (a new flow: none), and after the rules. */
  | { step: 'flow'; proto: 'tcp' | 'udp'; flow: number; client: string; server: string; new: boolean; state?: string }
  | { step: 'flow-after'; flow: number; state: string; ended?: string }
  /** An event raised, with its arguments in short. */
  | { step: 'event'; event: string; args: string }
  /** A rule run: what it returned, how long it took, whether it dropped the packet or threw. */
  | { step: 'rule'; rule: string; result: string; micros: number; dropped?: true; threw?: string }
  | { step: 'anomaly'; anomaly: string }
  /** Stream bytes handed to streamed rules: [offset, offset + length) of a direction. */
  | { step: 'stream'; direction: string; offset: number; length: number }
  /** The frame waits for streamed rules (its verdict comes with a later step). */
  | { step: 'held' }
  /** A held frame's verdict, given while another frame (or none) was being judged. */
  | { step: 'released'; during: number; rule?: string }
  /** Frames this frame's turn released or dropped from holding. */
  | { step: 'settled'; frame: number; verdict: 'accept' | 'drop' }
  /** A frame palisade crafted (a RST) and sent. */
  | { step: 'injected'; length: number };

export interface FrameTrace {
  type: 'trace';
  frame: number;
  /** Capture time, seconds. */
  time: number;
  verdict: Verdict;
  /** Why it was dropped (verdict `drop`). */
  reason?: DropReason;
  steps: TraceStep[];
}
