/**
 * Rule errors reported at a bounded rate. A rule that throws on every packet must not write a
 * stack trace (and raise an alert) per packet: a rule's first few errors are reported in full,
 * the rest are counted, and summarised per rule at most once a minute of engine time (packet
 * time in replay, so a replay's log is the same every time), then once more at the end.
 */
import type { Logger } from 'pino';
import type { Stats } from './stats.ts';

/** Errors of one rule reported in full (log line with the stack, and an alert). */
export const RULE_ERRORS_IN_FULL = 5;
/** Seconds of engine time between two summary lines of one rule. */
export const RULE_ERROR_SUMMARY_S = 60;

interface Tally {
  /** Errors since the last line about this rule. */
  unreported: number;
  last: string;
  /** Engine time of the last line about this rule. */
  at: number;
}

export class RuleErrors {
  readonly #tallies = new Map<string, Tally>();
  readonly #stats: Stats;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(stats: Stats, log: Logger, now: () => number) {
    this.#stats = stats;
    this.#log = log;
    this.#now = now;
  }

  /** Counts an error of `rule`; true when it is to be reported in full (one of the first few). */
  record(rule: string, message: string): boolean {
    const count = this.#stats.ruleError(rule);
    const now = this.#now();
    const tally = this.#tallies.get(rule);
    if (tally === undefined) {
      this.#tallies.set(rule, { unreported: 0, last: message, at: now });
      return true;
    }
    if (count <= RULE_ERRORS_IN_FULL) {
      tally.at = now;
      return true;
    }
    tally.unreported++;
    tally.last = message;
    if (now - tally.at >= RULE_ERROR_SUMMARY_S) this.#summarise(rule, tally, now);
    return false;
  }

  /** The last summary of every rule with errors not reported yet (the engine closes). */
  flush(): void {
    const now = this.#now();
    for (const [rule, tally] of this.#tallies) if (tally.unreported > 0) this.#summarise(rule, tally, now);
  }

  #summarise(rule: string, tally: Tally, now: number): void {
    const total = this.#stats.ruleErrorsByRule.get(rule) ?? 0;
    this.#log.error(
      { rule, count: tally.unreported, total, last: tally.last },
      `rule '${rule}' threw ${tally.unreported} more time${tally.unreported === 1 ? '' : 's'} (${total} in all; last: ${tally.last})`,
    );
    tally.unreported = 0;
    tally.at = now;
  }
}
