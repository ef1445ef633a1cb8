/**
 * Reads a small input file (a config) whole, but never more than a bound: the path must name a
 * regular file (through symbolic links), since a device (/dev/zero) never ends and a FIFO never
 * opens until a writer comes.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fileNotFound, notRegularFile } from '../errors.ts';
import { fileKind } from './is-file.ts';

export interface BoundedRead {
  /** At most `maxBytes + 1` bytes: more than `maxBytes` means the file is too large. */
  bytes: Buffer;
  /** The file's size, as far as known (at least `bytes.length`). */
  size: number;
}

export function readBounded(path: string, what: string, maxBytes: number): BoundedRead {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer, before fstat could tell.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw fileNotFound(what, path);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegularFile(what, path, fileKind(stats));
    // To the end, not to the size fstat saw: a file may grow meanwhile.
    const bytes = Buffer.allocUnsafe(maxBytes + 1);
    let used = 0;
    try {
      for (let n = 1; n > 0 && used < bytes.length; used += n) n = readSync(fd, bytes, used, bytes.length - used, null);
    } catch {
      throw fileNotFound(what, path);
    }
    return { bytes: bytes.subarray(0, used), size: Math.max(stats.size, used) };
  } finally {
    closeSync(fd);
  }
}
