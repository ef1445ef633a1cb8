/**
 * Errors a rule file throws where no rule is running: in a timer it set, or a promise it left
 * without a handler. Node ends the process on them (an uncaught exception, or an unhandled
 * rejection in Node 15 and later), with a raw stack and nothing flushed. During a run they are
 * trapped instead and reported as a rule error of their own, as a throwing rule is: logged,
 * alerted, counted, and the run goes on.
 */
import { ExitCalled } from './exit-trap.ts';

/** The name such an error is counted under. */
export const STRAY_RULE = '(a timer or promise of the rule file)';

export interface StrayErrorTrap {
  restore(): void;
}

export function trapStrayErrors(report: (err: unknown) => void): StrayErrorTrap {
  const onError = (err: unknown): void => {
    // process.exit() from a rule, recorded by the exit trap: the run stops on it.
    if (err instanceof ExitCalled) return;
    report(err);
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    restore: () => {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}
