import { captureCorrupt, captureFormatError, captureTruncated, linkTypeUnsupported } from '../errors.ts';
import type { CaptureReader, CaptureRecord } from './capture.ts';
import { type ChunkedFile, MAX_RECORD_BYTES } from './file-source.ts';
import { isSupportedLinkType, normalizeLinkType } from '../link-types.ts';

/** pcap file header and record header sizes (draft-ietf-opsawg-pcap §4, §5). */
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * libpcap's largest snaplen; a record longer than both this and the file's snaplen is not a
 * packet but a broken length field (libpcap's own reader draws the line there too).
 */
const MAX_PLAUSIBLE_RECORD = 262144;

/**
 * Classic pcap, µs or ns, either byte order. The hot loop reads four 32-bit fields at offsets
 * in the chunk buffer and returns a view of the packet bytes; nothing else is allocated.
 */
export class PcapReader implements CaptureReader {
  readonly format = 'pcap';
  readonly linkType: number;
  readonly snaplen: number;
  /** Written on a little-endian host (the magic read back swapped). */
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  private readonly maxIncl: number;
  private records = 0;
  private readonly rec: CaptureRecord;

  constructor(
    readonly path: string,
    readonly source: ChunkedFile,
    littleEndian: boolean,
    nanosecond: boolean,
  ) {
    this.littleEndian = littleEndian;
    this.nanosecond = nanosecond;
    const n = source.fill(FILE_HEADER);
    if (n < FILE_HEADER) throw captureFormatError(path, `the pcap file header is cut short (${n} of ${FILE_HEADER} bytes)`);
    const b = source.buf;
    const p = source.pos;
    const major = littleEndian ? b.readUInt16LE(p + 4) : b.readUInt16BE(p + 4);
    const minor = littleEndian ? b.readUInt16LE(p + 6) : b.readUInt16BE(p + 6);
    if (major !== 2) throw captureFormatError(path, `pcap version ${major}.${minor} is not supported; palisade reads version 2.4`);
    this.snaplen = littleEndian ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16);
    // The upper bits of the link type field carry FCS information (draft-ietf-opsawg-pcap §4).
    const raw = (littleEndian ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20)) & 0xffff;
    if (!isSupportedLinkType(raw)) throw linkTypeUnsupported(path, raw, 'pcap file header');
    this.linkType = normalizeLinkType(raw);
    this.maxIncl = Math.min(Math.max(this.snaplen, MAX_PLAUSIBLE_RECORD), MAX_RECORD_BYTES);
    source.pos = p + FILE_HEADER;
    this.rec = { data: b.subarray(0, 0), secs: 0, nsecs: 0, origLen: 0, linkType: this.linkType, record: 0, offset: 0 };
  }

  next(): CaptureRecord | null {
    const src = this.source;
    let p = src.pos;
    let avail = src.end - p;
    if (avail < RECORD_HEADER) {
      avail = src.fill(RECORD_HEADER);
      if (avail === 0) return null;
      if (avail < RECORD_HEADER) throw captureTruncated(this.path, this.records + 1, src.offset, RECORD_HEADER, avail);
      p = src.pos;
    }
    let b = src.buf;
    const le = this.littleEndian;
    const incl = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    if (incl > this.maxIncl) {
      throw captureCorrupt(
        this.path,
        this.records + 1,
        src.base + p,
        `captured length ${incl} is larger than the snaplen ${this.snaplen} and ${this.maxIncl} bytes`,
      );
    }
    const size = RECORD_HEADER + incl;
    if (avail < size) {
      avail = src.fill(size);
      p = src.pos;
      b = src.buf;
      if (avail < size) throw captureTruncated(this.path, this.records + 1, src.base + p, incl, avail - RECORD_HEADER);
    }
    let secs = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
    let frac = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    // Some writers leave the fraction at or past one second; carry it as libpcap's consumers do.
    if (this.nanosecond) {
      if (frac >= 1e9) {
        secs += Math.floor(frac / 1e9);
        frac %= 1e9;
      }
    } else if (frac >= 1e6) {
      secs += Math.floor(frac / 1e6);
      frac = (frac % 1e6) * 1000;
    } else {
      frac *= 1000;
    }
    const rec = this.rec;
    rec.secs = secs;
    rec.nsecs = frac;
    rec.origLen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
    rec.data = b.subarray(p + RECORD_HEADER, p + size);
    rec.record = ++this.records;
    rec.offset = src.base + p;
    src.pos = p + size;
    return rec;
  }

  close(): void {
    this.source.close();
  }
}
