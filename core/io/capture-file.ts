/**
 * A capture file being written: bytes gathered in memory and written with one system call per
 * megabyte, every failure (a full disk, a closed descriptor) surfaced as a coded output error.
 * The pcap and pcapng writers share it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { outputError } from '../errors.ts';

const BUFFER_SIZE = 1 << 20;

export class CaptureFile {
  readonly path: string;
  readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  /** Bytes of `buf` in use. */
  used = 0;
  #fd: number;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, 'w');
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

  flush(): void {
    if (this.used === 0) return;
    this.#writeOut(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  #writeOut(bytes: Uint8Array): void {
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.#fd, bytes, off, bytes.length - off);
    } catch (cause) {
      throw outputError(this.path, `cannot write the output capture (${(cause as Error).message})`, cause);
    }
  }

  /** Flushes and closes; idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
      this.#fd = -1;
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
