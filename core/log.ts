/**
 * pino loggers for alerts and rule logs: JSON lines stamped with the engine clock (packet time
 * in replay, so output is deterministic), at a terminal too; human-friendly (pino-pretty) only
 * when asked for (`replay --pretty`).
 */
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { PalisadeError } from './errors.ts';
import { LineWriter } from './io/line-writer.ts';

export type LogTarget = 'stdout' | 'stderr' | { pretty: 'stdout' | 'stderr' } | { file: string } | DestinationStream;

export interface Destination {
  stream: DestinationStream;
  /**
   * Writes out what is buffered, and from then on each line as it comes. The engine flushes
   * when it closes: a line after that comes from a timer or a promise a rule left running, and
   * nothing would flush it again (an alert counted in the summary and missing from the file).
   */
  flush(): void;
  /** The first write error (the run ends with it), or null. */
  failure(): PalisadeError | null;
}

const none = (): null => null;

/** A destination for alerts or logs: a file, stdout or stderr (JSON lines, or pretty), or a caller's stream. */
export function openDestination(target: LogTarget): Destination {
  if (target === 'stdout' || target === 'stderr') return writerDestination(LineWriter.stdio(target === 'stdout' ? 1 : 2));
  // No mkdir -p: like -o, the directory must exist.
  if ('file' in target) return writerDestination(LineWriter.file(target.file));
  if ('pretty' in target) {
    const fd = target.pretty === 'stdout' ? 1 : 2;
    // pino-pretty (and its colour library) loads only for a run that asked for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = pretty({ destination: fd, sync: true, colorize: colors(fd) });
    return { stream, flush: () => undefined, failure: none };
  }
  return { stream: target, flush: () => undefined, failure: none };
}

/** https://no-color.org and FORCE_COLOR, as most CLIs read them; else colours at a terminal. */
export function colors(fd: 1 | 2, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (force === '0' || force === 'false') return false;
  // Typed boolean, but undefined off a terminal.
  const tty = (fd === 1 ? process.stdout : process.stderr).isTTY as boolean | undefined;
  return tty ?? false;
}

function writerDestination(w: LineWriter): Destination {
  let flushed = false;
  return {
    stream: {
      write: (line: string) => {
        const ok = w.write(line);
        if (flushed) w.flush();
        return ok;
      },
    },
    flush: () => {
      flushed = true;
      w.flush();
    },
    failure: () => w.failure,
  };
}

/** The last instant a JavaScript Date holds (ECMA-262 §21.4.1.1): 10^8 days past 1970. */
const MAX_DATE_MS = 8.64e15;

function isoTime(clock: Clock): string {
  // A capture's timestamps may lie far outside the Date range (a pcapng if_tsresol of 0 read
  // against microsecond counts): clamp, rather than let toISOString throw on every line.
  const ms = clock.now * 1000;
  return `"time":"${new Date(Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_DATE_MS) : 0).toISOString()}"`;
}

export function alertLogger(dest: Destination, clock: Clock): Logger {
  return pino(
    {
      base: null,
      // pino appends this right after '{' here: the level formatter below leaves nothing before it.
      timestamp: () => isoTime(clock),
      // An alert line is the alert itself: no pino level field.
      formatters: { level: () => ({}) },
    },
    dest.stream,
  );
}

export function ruleLogger(dest: Destination, clock: Clock, level: Config['logLevel']): Logger {
  return pino({ base: null, level, timestamp: () => `,${isoTime(clock)}`, formatters: { level: (label) => ({ level: label }) } }, dest.stream);
}
