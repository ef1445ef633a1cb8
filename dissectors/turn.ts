/**
 * The engine's turn: what "now" is while the engine runs, owned by the engine (core/engine.ts)
 * alone; declared here, beside the packet view, because the trackers read it. Every entry into
 * the engine opens one turn (a frame pushed, a timer or idle tick, the end of input, a rule
 * reload, a streamed rule resumed, an async rule settling) and closes it before returning:
 * docs/architecture.md gives the order. Dispatch, the trackers, holding and the scheduler read
 * the turn instead of keeping copies, and write only the fields named for them below.
 */
import type { Packet } from './packet.ts';
import type { KeptFrame } from './tcp-connection/hold.ts';
import type { FrameTrace } from './trace.ts';
import type { DropReason } from './verdict.ts';

export class Turn {
  /** The frame being judged (the engine's view), or null: a turn between packets. */
  frame: Packet | null = null;
  /** A held frame going out, whose `packet.sendPacket` runs now (settle.ts sets it): its rules alert about it, and its drop stops them. */
  releasing: Packet | null = null;
  /** The listener running now, '' between rules (dispatch.ts). */
  rule = '';
  /** The streamed rule (or flow dissector) resumed last, and the frame that brought the bytes it reads (the scheduler's). */
  running = '';
  runningFrame = 0;
  /** The fragments of the IP datagram being walked, when it was reassembled (the engine's): a held segment keeps them all. */
  datagramFrames: readonly KeptFrame[] | null = null;
  /** The trace of the frame being judged, or null (not traced: nothing is recorded). */
  trace: FrameTrace | null = null;
  /** The first flow action (drop, reset) a rule took since the last turn ended, for its alerts' `action` (dispatch.ts). */
  blocked: DropReason | null = null;
}
