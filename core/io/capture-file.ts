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

  /** Room for `n` more bytes in `buf`, flushing first if needed; false if `n` is more than it holds. */
  reserve(n: number): boolean {
    if (this.#fd < 0) throw outputError(this.path, 'write after close');
    if (this.used + n > BUFFER_SIZE) this.flush();
    return n <= BUFFER_SIZE;
  }

  flush(): void {
    if (this.used === 0) return;
    this.writeOut(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Writes `bytes` now, past the buffer (flush it first). */
  writeOut(bytes: Uint8Array): void {
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
