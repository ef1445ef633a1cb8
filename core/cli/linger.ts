/**
 * The end of a command that ran rule files (replay, test): its outputs are written and its status
 * known, but a timer a rule left running (a setInterval) would keep the process alive for ever.
 * Timers already due still run for a moment (their alerts are written), then the process exits
 * with the command's status; an error one throws meanwhile is said in a line and fails the
 * command.
 */
import { describeThrown } from '../describe-thrown.ts';
import { trapStrayErrors } from '../stray-errors.ts';

/** How long rule timers may still run once the command is done. */
export const LINGER_MS = 1000;

export function lingerThenExit(status: number): number {
  // Not restored: the process ends with this command.
  trapStrayErrors((err) => {
    process.stderr.write(`palisade: after the run, a timer or promise of the rule file threw: ${describeThrown(err).message}\n`);
    if (!process.exitCode) process.exitCode = 1;
  });
  // Unreferenced: with nothing of the rules pending, the process ends at once, as it would have.
  setTimeout(() => process.exit(), LINGER_MS).unref();
  return status;
}
