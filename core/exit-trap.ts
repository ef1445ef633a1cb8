/**
 * process.exit() from a rule during a run. Left alone, it ends the process at once: exit 0, no
 * summary, the output capture and the alert and flow files empty though alerts were raised.
 * During a run it is trapped instead: the call is recorded, and inside a rule it throws (exit
 * never returns, so the rest of the rule must not run; the engine catches it as any rule
 * error); the run loop then stops as for a signal, flushes everything, and ends with
 * PAL_ERR_RULE_EXIT. Outside a rule (a timer, a late promise) it only records, as a throw there
 * would reach no one and end the process after all.
 */

/** What a rule throws when it calls process.exit() during a run. */
export class ExitCalled extends Error {
  constructor(readonly code: unknown) {
    super(`process.exit(${String(code)}) called by a rule`);
    this.name = 'ExitCalled';
  }
}

export interface ExitRequest {
  code: unknown;
  /** The rule that called it, or '' outside any rule. */
  rule: string;
  frame: number;
}

export interface ExitTrap {
  /** The first process.exit() call since the trap was set, or null. */
  readonly request: ExitRequest | null;
  /** Puts process.exit back as it was. */
  restore(): void;
}

/** `running`: the rule running now ('' between rules) and the frame being handled. */
export function trapExit(running: () => { rule: string; frame: number }): ExitTrap {
  // Put back as it was found (itself a bound function or a test runner's own).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const real = process.exit;
  const trap: { request: ExitRequest | null; restore(): void } = {
    request: null,
    restore: () => {
      process.exit = real;
    },
  };
  process.exit = ((code?: unknown) => {
    const { rule, frame } = running();
    trap.request ??= { code, rule, frame };
    if (rule !== '') throw new ExitCalled(code);
  }) as typeof process.exit;
  return trap;
}
