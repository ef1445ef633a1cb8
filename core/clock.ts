/**
 * The engine clock, in seconds: the packet's timestamp in replay (timeouts fire by capture time,
 * so a replay is deterministic), wall time inline.
 */
export interface Clock {
  readonly now: number;
}

export class PacketClock implements Clock {
  now = 0;
  /** Time never runs backwards: a capture's out-of-order timestamps do not rewind timers. */
  advance(secs: number, nsecs: number): void {
    const t = secs + nsecs / 1e9;
    if (t > this.now) this.now = t;
  }
}
