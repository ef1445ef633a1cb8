/**
 * A frame's verdict, declared once: numbers on the packet path (the engine's dissection walk
 * returns one per frame), their names at the API (`engine.push()`, the replay result).
 */
export type Verdict = 'accept' | 'drop' | 'pending';

export const ACCEPT = 0;
export const DROP = 1;
/** Held: an IP fragment waiting for the rest, or a segment waiting for streamed rules. */
export const PENDING = 2;

/** The API's name of each numeric verdict. */
export const verdictNames: readonly Verdict[] = ['accept', 'drop', 'pending'];
