/** Command dispatch, help, and the one place errors become exit codes. */
import { readFileSync } from 'node:fs';
import { PalisadeError, usageError } from '../errors.ts';
import { replay } from './replay.ts';
import { check } from './check.ts';
import { test } from './test.ts';
import { run } from './run.ts';
import { ctl } from './ctl.ts';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const mainHelp = `Usage: palisade <command> [options]

Commands:
  replay <rules.ts> <capture>   run a rule file over a pcap/pcapng capture
  check <rules.ts>              type-check and load a rule file
  test [dir…]                   run rule test cases (rules, capture, expect.json)
  run <rules.ts> --queue N      run a rule file inline on NFQUEUE (e.g. on a bridge)
  ctl <command>                 control a running palisade run: status, stats, reload, loglevel, stop

Run 'palisade <command> --help' for a command's options.
Options: -h, --help   -v, --version
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = { replay, check, test, run, ctl };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(mainHelp);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      process.stdout.write(`palisade ${version}\n`);
      return 0;
    }
    const run = commands[command];
    if (run === undefined) throw usageError(`unknown command '${command}'; commands: ${Object.keys(commands).join(', ')}`);
    return await run(rest);
  } catch (err) {
    if (err instanceof PalisadeError) {
      process.stderr.write(`palisade: ${err.toString()}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
