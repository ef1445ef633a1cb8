/** argv parsing for every command: node's parseArgs, with its errors turned into usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from '../errors.ts';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>['values']; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (err) {
    // parseArgs' messages are already precise ("Unknown option '--foo'"); keep them to one line.
    const message = (err as Error).message.split('\n')[0] ?? 'bad arguments';
    throw usageError(`palisade ${command}: ${message.replace(/\. To specify a positional.*$/, '')}`);
  }
}
