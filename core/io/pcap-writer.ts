import { closeSync, openSync, writeSync } from 'node:fs';
import { outputError } from '../errors.ts';

/** pcap file header and record header sizes (draft-ietf-opsawg-pcap §4, §5). */
const FILE_HEADER = 24;
const RECORD_HEADER = 16;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const DEFAULT_SNAPLEN = 262144;
/** Records are gathered in memory and written with one system call per this many bytes. */
const BUFFER_SIZE = 1 << 20;

export interface PcapWriterOptions {
  linkType: number;
  /** Longer packets are cut to this (their origLen kept), as tcpdump -s does. Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (magic a1b23c4d); false writes microseconds. Default true. */
  nanosecond?: boolean;
}

/**
 * Writes a classic pcap in the host's (little-endian) byte order, as libpcap does. Used for
 * replay output (accepted packets plus injected RSTs) and for test fixtures.
 */
export class PcapWriter {
  readonly path: string;
  private readonly snaplen: number;
  private readonly nanosecond: boolean;
  private fd: number;
  private readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private used = 0;

  constructor(path: string, options: PcapWriterOptions) {
    this.path = path;
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = options.nanosecond ?? true;
    checkHeader(path, options.linkType, this.snaplen);
    try {
      this.fd = openSync(path, 'w');
    } catch (cause) {
      throw outputError(path, `cannot open the output capture for writing (${(cause as Error).message})`, cause);
    }
    this.used = writeFileHeader(this.buf, 0, options.linkType, this.snaplen, this.nanosecond);
  }

  /** Copies `data` into the writer's buffer at once, so the caller may reuse it. */
  write(data: Uint8Array, secs: number, nsecs: number, origLen: number = data.length): void {
    if (this.fd < 0) throw outputError(this.path, 'write after close');
    checkRecord(this.path, data.length, secs, nsecs, origLen);
    const incl = Math.min(data.length, this.snaplen);
    if (this.used + RECORD_HEADER + incl > BUFFER_SIZE) this.flush();
    this.used = writeRecordHeader(this.buf, this.used, secs, nsecs, incl, origLen, this.nanosecond);
    if (incl <= BUFFER_SIZE - this.used) {
      this.buf.set(incl === data.length ? data : data.subarray(0, incl), this.used);
      this.used += incl;
    } else {
      // Bigger than the buffer: the header is buffered, the body goes straight out.
      this.flush();
      this.writeOut(data.subarray(0, incl));
    }
  }

  /** Flushes and closes; idempotent. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeOut(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private writeOut(bytes: Uint8Array): void {
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (cause) {
      throw outputError(this.path, `cannot write the output capture (${(cause as Error).message})`, cause);
    }
  }
}

/** In-memory encoding for tests and builders: the same bytes PcapWriter would write. */
export function encodePcap(
  records: Iterable<{ data: Uint8Array; secs: number; nsecs: number; origLen?: number }>,
  options: { linkType: number; nanosecond?: boolean },
): Buffer {
  const nanosecond = options.nanosecond ?? true;
  checkHeader('(memory)', options.linkType, DEFAULT_SNAPLEN);
  const header = Buffer.allocUnsafe(FILE_HEADER);
  writeFileHeader(header, 0, options.linkType, DEFAULT_SNAPLEN, nanosecond);
  const parts: Buffer[] = [header];
  for (const { data, secs, nsecs, origLen = data.length } of records) {
    checkRecord('(memory)', data.length, secs, nsecs, origLen);
    const incl = Math.min(data.length, DEFAULT_SNAPLEN);
    const part = Buffer.allocUnsafe(RECORD_HEADER + incl);
    writeRecordHeader(part, 0, secs, nsecs, incl, origLen, nanosecond);
    part.set(data.subarray(0, incl), RECORD_HEADER);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

function writeFileHeader(b: Buffer, off: number, linkType: number, snaplen: number, nanosecond: boolean): number {
  b.writeUInt32LE(nanosecond ? MAGIC_NSEC : MAGIC_USEC, off);
  b.writeUInt16LE(2, off + 4);
  b.writeUInt16LE(4, off + 6);
  b.writeInt32LE(0, off + 8); // thiszone: always UTC
  b.writeUInt32LE(0, off + 12); // sigfigs: always 0
  b.writeUInt32LE(snaplen, off + 16);
  b.writeUInt32LE(linkType, off + 20);
  return off + FILE_HEADER;
}

function writeRecordHeader(
  b: Buffer,
  off: number,
  secs: number,
  nsecs: number,
  incl: number,
  origLen: number,
  nanosecond: boolean,
): number {
  b.writeUInt32LE(secs, off);
  b.writeUInt32LE(nanosecond ? nsecs : Math.floor(nsecs / 1000), off + 4);
  b.writeUInt32LE(incl, off + 8);
  b.writeUInt32LE(origLen, off + 12);
  return off + RECORD_HEADER;
}

function checkHeader(path: string, linkType: number, snaplen: number): void {
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
    throw outputError(path, `link type ${linkType} is not a 16-bit LINKTYPE_ value`);
  }
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0xffffffff) {
    throw outputError(path, `snaplen ${snaplen} must be a positive 32-bit integer`);
  }
}

function checkRecord(path: string, length: number, secs: number, nsecs: number, origLen: number): void {
  if (!Number.isInteger(secs) || secs < 0 || secs > 0xffffffff) {
    throw outputError(path, `timestamp seconds ${secs} do not fit pcap's unsigned 32 bits`);
  }
  if (!Number.isInteger(nsecs) || nsecs < 0 || nsecs > 999_999_999) {
    throw outputError(path, `timestamp nanoseconds ${nsecs} are not an integer in 0..999999999`);
  }
  if (!Number.isInteger(origLen) || origLen < length || origLen > 0xffffffff) {
    throw outputError(path, `original length ${origLen} is below the ${length} bytes given or not a 32-bit integer`);
  }
}
