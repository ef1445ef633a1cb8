/**
 * A packet's verdict as the dissectors and the engine compute it, declared once: the trackers'
 * receive() return one, the engine's walk returns one per frame. The API's names for them
 * ('accept', 'drop', 'pending') are core/verdict.ts's.
 */
export const ACCEPT = 0;
export const DROP = 1;
/** Held: an IP fragment waiting for the rest, or a segment waiting for streamed rules. */
export const PENDING = 2;
