import { outputError } from '../errors.ts';
import { CaptureFile, checkRecordFields } from './capture-file.ts';

/** pcap file header and record header sizes (draft-ietf-opsawg-pcap §4, §5). */
const FILE_HEADER = 24;
const RECORD_HEADER = 16;
const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const DEFAULT_SNAPLEN = 262144;

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
  private readonly file: CaptureFile;

  constructor(path: string, options: PcapWriterOptions) {
    this.path = path;
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = options.nanosecond ?? true;
    checkHeader(path, options.linkType, this.snaplen);
    this.file = new CaptureFile(path);
    this.file.used = writeFileHeader(this.file.buf, 0, options.linkType, this.snaplen, this.nanosecond);
    this.file.headerDone();
  }

  /** Copies `data` into the writer's buffer at once, so the caller may reuse it. */
  write(data: Uint8Array, secs: number, nsecs: number, origLen: number = data.length): void {
    const file = this.file;
    if (file.closed) throw outputError(this.path, 'write after close');
    checkRecord(this.path, data.length, secs, nsecs, origLen);
    const incl = Math.min(data.length, this.snaplen);
    file.reserve(RECORD_HEADER);
    file.used = writeRecordHeader(file.buf, file.used, secs, nsecs, incl, origLen, this.nanosecond);
    file.append(incl === data.length ? data : data.subarray(0, incl));
    file.endRecord();
  }

  /** Flushes and closes; idempotent. */
  close(): void {
    this.file.close();
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
    throw outputError(path, `timestamp seconds ${secs} do not fit pcap's unsigned 32 bits (write pcapng instead: an output file named .pcapng)`);
  }
  checkRecordFields(path, length, nsecs, origLen);
}
