/**
 * The writer of alert, log and flow lines (a file, or stdout/stderr): buffered, written with
 * plain write(2) calls, and never throwing into whoever wrote a line (a rule raising an alert
 * must not see a full disk as its own error). The first write error is kept instead, every later
 * line dropped, and the run loop ends the run with it (PAL_ERR_OUTPUT) after flushing the rest.
 * A file it opened alone is cut back to its last whole line then, so that every line in it
 * parses; a shared one (O_APPEND, other writers' lines after ours) cannot be.
 * A closed pipe (EPIPE: `palisade replay … | head`) is not an error: output stops, the run goes on.
 * sonic-boom, which pino would use, retries a failed write forever (a replay into /dev/full hung).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { outputError, type PalisadeError } from '../errors.ts';

/** Buffered bytes (as string length) past which a file writer writes. */
const FILE_BUFFER = 64 * 1024;
/** A non-blocking pipe that is full: wait this long and try again. */
const EAGAIN_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class LineWriter {
  #parts: string[] = [];
  #size = 0;
  #failure: PalisadeError | null = null;
  #stopped = false;
  #closed = false;
  /** Bytes of whole lines in the file: where a failed write cuts it back to. */
  #whole = 0;

  private constructor(
    readonly name: string,
    readonly fd: number,
    /** 0: every line goes out as it is written (stdout, stderr). */
    readonly bufferSize: number,
    readonly owned: boolean,
    /** A regular file of ours alone, written from its start: one a failed write may cut back. */
    readonly truncatable = false,
  ) {}

  /**
   * Opens `path`, truncated; or with `shared`, appended to, each line written as it comes
   * (inline workers share the file: one write(2) per line under O_APPEND never interleaves, and
   * an alert is on disk when its verdict goes out). A path that cannot be opened is
   * PAL_ERR_OUTPUT now.
   */
  static file(path: string, shared = false): LineWriter {
    try {
      const fd = openSync(path, shared ? 'a' : 'w');
      // Not a device (/dev/full) or a FIFO: those hold nothing to cut back.
      return new LineWriter(path, fd, shared ? 0 : FILE_BUFFER, true, !shared && fstatSync(fd).isFile());
    } catch (err) {
      throw outputError(path, `cannot be written: ${(err as Error).message}`, err);
    }
  }

  static stdio(fd: 1 | 2): LineWriter {
    return new LineWriter(fd === 1 ? 'stdout' : 'stderr', fd, 0, false);
  }

  /** The first write error, or null. */
  get failure(): PalisadeError | null {
    return this.#failure;
  }

  /** `line` is one whole line, its newline included: a failed write keeps lines whole, not bytes. */
  write(line: string): boolean {
    if (this.#stopped) return false;
    this.#parts.push(line);
    this.#size += line.length;
    if (this.#size >= this.bufferSize) this.flush();
    return true;
  }

  flush(): void {
    if (this.#size === 0 || this.#stopped) return;
    const parts = this.#parts;
    const bytes = Buffer.from(parts.length === 1 ? (parts[0] as string) : parts.join(''));
    this.#parts = [];
    this.#size = 0;
    for (let off = 0; off < bytes.length; ) {
      try {
        off += writeSync(this.fd, bytes, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
          continue;
        }
        this.#stopped = true;
        if (code !== 'EPIPE') this.#failure = outputError(this.name, `cannot be written: ${(err as Error).message}; ${this.#cutBack(parts, off)}`, err);
        return;
      }
    }
    this.#whole += bytes.length;
  }

  /** After a write of `parts` failed `written` bytes in: the file cut back to its last whole line, as the error says. */
  #cutBack(parts: readonly string[], written: number): string {
    if (!this.truncatable) return 'what was written before is complete';
    let whole = 0;
    for (const part of parts) {
      const n = Buffer.byteLength(part);
      if (whole + n > written) break;
      whole += n;
    }
    try {
      ftruncateSync(this.fd, this.#whole + whole);
      return 'what was written before is complete';
    } catch (err) {
      return `its last line may be cut short (cutting it off failed: ${(err as Error).message})`;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#stopped = true;
    if (this.owned) closeSync(this.fd);
  }
}
