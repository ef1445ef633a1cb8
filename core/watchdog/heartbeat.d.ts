/** Index of the progress counter: bumped by the engine for every packet and resumed streamed run. */
export declare const BEAT: 0;
/** Index of the armed flag: 1 while the engine's driver has work for it. */
export declare const ARMED: 1;

/** A heartbeat in shared memory, readable from any thread. */
export declare function createHeartbeat(): Int32Array;

/** Read on the watching side: how long the heartbeat has been armed without progress. */
export declare class Stall {
  readonly beat: Int32Array;
  constructor(beat: Int32Array);
  /** Milliseconds stuck as of `now` (0 while idle or moving). */
  check(now: number): number;
  /** After the stuck thread was stopped or replaced: measure afresh. */
  reset(now: number): void;
}
