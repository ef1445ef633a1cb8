/**
 * A capture file being written: bytes gathered in memory and written with one system call per
 * megabyte, every failure (a full disk, a closed descriptor) surfaced as a coded output error.
 * The pcap and pcapng writers share it, and mark where each record ends: a failed write leaves
 * the file cut back to its last whole record (tshark reads it to its end), and every later
 * record is dropped.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { outputError, type PalisadeError } from '../errors.ts';

const BUFFER_SIZE = 1 << 20;

export class CaptureFile {
  readonly path: string;
  readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  /** Bytes of `buf` in use. */
  used = 0;
  #fd: number;
  /** Bytes the file holds. */
  #written = 0;
  /** The file's length up to its last whole record on disk. */
  #whole = 0;
  /** Where the records in `buf` end, as offsets in the file, in order. */
  readonly #ends: number[] = [];
  #failure: PalisadeError | null = null;
  /** The failure was not thrown yet (it came with the header): close() throws it. */
  #untold = false;
  /** A regular file: a device (/dev/full) or a FIFO holds nothing to cut back. */
  readonly #truncatable: boolean;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, 'w');
      this.#truncatable = fstatSync(this.#fd).isFile();
    } catch (cause) {
      throw outputError(path, `cannot open the output capture for writing (${(cause as Error).message})`, cause);
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Room for `n` more bytes in `buf` (a record's fixed header: far less than it holds), flushing first if needed. */
  reserve(n: number): void {
    if (this.#fd < 0) throw outputError(this.path, 'write after close');
    if (this.used + n > BUFFER_SIZE) this.flush();
  }

  /** Copies `bytes` after what is buffered; bytes bigger than the buffer go straight out. */
  append(bytes: Uint8Array): void {
    if (this.used + bytes.length > BUFFER_SIZE) this.flush();
    if (bytes.length <= BUFFER_SIZE) {
      this.buf.set(bytes, this.used);
      this.used += bytes.length;
    } else {
      this.#writeOut(bytes);
    }
  }

  /** What was appended since the last call is whole (a header, a record, a block). */
  endRecord(): void {
    const end = this.#written + this.used;
    if (this.used === 0) this.#whole = end;
    else this.#ends.push(end);
  }

  /**
   * The file header is in `buf`: it goes out at once, so that a disk that fills up before the
   * first megabyte still leaves a capture (empty). If it cannot, close() says so, as it would
   * have had the header waited in `buf`: the run goes on.
   */
  headerDone(): void {
    this.endRecord();
    try {
      this.flush();
    } catch {
      this.#untold = true;
    }
  }

  flush(): void {
    if (this.used === 0) return;
    if (this.#failure === null) {
      this.#writeOut(this.buf.subarray(0, this.used));
      this.#whole = this.#ends[this.#ends.length - 1] ?? this.#whole;
    }
    this.used = 0;
    this.#ends.length = 0;
  }

  /** Writes `bytes` whole, or fails: after a failure nothing more goes out. */
  #writeOut(bytes: Uint8Array): void {
    if (this.#failure !== null) return;
    try {
      for (let off = 0; off < bytes.length; ) {
        const n = writeSync(this.#fd, bytes, off, bytes.length - off);
        off += n;
        this.#written += n;
      }
    } catch (cause) {
      throw this.#fail(cause);
    }
  }

  /** Cuts the file back to its last whole record; what is buffered, and all that comes later, is dropped. */
  #fail(cause: unknown): PalisadeError {
    for (const end of this.#ends) if (end <= this.#written) this.#whole = end;
    this.#ends.length = 0;
    this.used = 0;
    let after = 'what was written before is complete';
    try {
      if (this.#truncatable) ftruncateSync(this.#fd, this.#whole);
    } catch (err) {
      after = `its last record may be cut short (cutting it off failed: ${(err as Error).message})`;
    }
    this.#failure = outputError(this.path, `cannot write the output capture (${(cause as Error).message}); ${after}`, cause);
    return this.#failure;
  }

  /** Flushes and closes; idempotent. Throws a failure not thrown before (the header's) too. */
  close(): void {
    if (this.#fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
    }
    if (this.#untold && this.#failure !== null) {
      this.#untold = false;
      throw this.#failure;
    }
  }
}

/**
 * The record fields pcap and pcapng hold alike: nanoseconds of a second, and an original length
 * no shorter than the bytes kept, in 32 bits.
 */
export function checkRecordFields(path: string, length: number, nsecs: number, origLen: number): void {
  if (!Number.isInteger(nsecs) || nsecs < 0 || nsecs > 999_999_999) {
    throw outputError(path, `timestamp nanoseconds ${nsecs} are not an integer in 0..999999999`);
  }
  if (!Number.isInteger(origLen) || origLen < length || origLen > 0xffffffff) {
    throw outputError(path, `original length ${origLen} is below the ${length} bytes given or not a 32-bit integer`);
  }
}
