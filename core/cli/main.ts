/** Command dispatch, help, and the one place errors become exit codes. */
import { PalisadeError, usageError } from '../errors.ts';
import { version } from '../package.ts';

export const mainHelp = `Usage: palisade <command> [options]

Commands:
  replay <rules.ts> <capture>   run a rule file over a pcap/pcapng capture
  check <rules.ts>              type-check and load a rule file
  test [dir…]                   run rule test cases (rules, capture, expect.json)
  run <rules.ts> --queue N      run a rule file inline on NFQUEUE (e.g. on a bridge)
  ctl <command>                 control a running palisade run: status, stats, reload, loglevel, trace, stop

Run 'palisade <command> --help' for a command's options.
Options: -h, --help   -v, --version
`;

type Command = (argv: string[]) => Promise<number>;

/** Each command loads what it uses, when it is the one asked for: help and version load nothing. */
const commands: Record<string, () => Promise<Command>> = {
  replay: async () => (await import('./replay.ts')).replay,
  check: async () => (await import('./check.ts')).check,
  test: async () => (await import('./test.ts')).test,
  run: async () => (await import('./run.ts')).run,
  ctl: async () => (await import('./ctl.ts')).ctl,
};

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
    const load = commands[command];
    if (load === undefined) throw usageError(`unknown command '${command}'; commands: ${Object.keys(commands).join(', ')}`);
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof PalisadeError) {
      process.stderr.write(`palisade: ${err.toString()}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
