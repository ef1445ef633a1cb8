import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileNotFound } from '../errors.ts';

/** Bytes read per system call; the buffer stays this size unless one record is bigger. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;

/**
 * No pcap record or pcapng block may be longer: a length past it is corruption, not a packet
 * (the largest snaplen libpcap uses is 256 KiB; this leaves room for odd writers).
 */
export const MAX_RECORD_BYTES = 256 << 20;

/** Room for a record header on top of the largest record. */
const MAX_BUFFER = MAX_RECORD_BYTES + 64;

const EMPTY = Buffer.alloc(0);

/**
 * A file read forward through one reusable buffer, so memory does not grow with file size.
 * The readers parse straight from `buf` between `pos` and `end` and call `fill()` only when a
 * record is not wholly buffered; `fill()` moves the unread bytes to the front, so any view taken
 * into `buf` before it is stale afterwards (hence CaptureRecord.data is valid until next()).
 */
export class ChunkedFile {
  /** The bytes read so far that are not yet consumed sit in buf[pos, end). */
  buf: Buffer;
  pos = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  private fd: number;
  private eof = false;

  private constructor(fd: number, chunkSize: number) {
    this.fd = fd;
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  /** Opens `path` for reading; anything that is not a readable file is fileNotFound. */
  static open(path: string, chunkSize = DEFAULT_CHUNK_SIZE): ChunkedFile {
    if (!Number.isInteger(chunkSize) || chunkSize < 16) throw new RangeError(`chunk size ${chunkSize} is below 16 bytes`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw Object.assign(fileNotFound('capture', path), { cause });
    }
    // A directory opens fine on Linux and fails only at the first read.
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw fileNotFound('capture', path);
    }
    return new ChunkedFile(fd, chunkSize);
  }

  /** File offset of the next unconsumed byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Current buffer size: the chunk size, or the largest record seen if that was bigger. */
  get bufferSize(): number {
    return this.buf.length;
  }

  /**
   * Makes at least `need` unconsumed bytes available in buf[pos, end) unless the file ends
   * first, and returns how many are available. Callers check record lengths against
   * MAX_RECORD_BYTES first, so a corrupt length is reported as such, not as a huge allocation.
   */
  fill(need: number): number {
    let avail = this.end - this.pos;
    if (avail >= need || this.eof) return avail;
    if (need > this.buf.length) {
      if (need > MAX_BUFFER) throw new RangeError(`a record of ${need} bytes is past the ${MAX_BUFFER}-byte buffer limit`);
      // Doubling keeps the copies amortised when records grow a little at a time.
      const grown = Buffer.allocUnsafe(Math.min(Math.max(need, this.buf.length * 2), MAX_BUFFER));
      this.buf.copy(grown, 0, this.pos, this.end);
      this.buf = grown;
    } else if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = avail;
    // Fill the whole buffer, not just `need`: fewer system calls on the hot path.
    while (avail < need) {
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.end += n;
      avail += n;
    }
    return avail;
  }

  /** Idempotent; afterwards fill() reports end of file. */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.eof = true;
    this.buf = EMPTY;
    this.base += this.pos;
    this.pos = 0;
    this.end = 0;
  }
}
