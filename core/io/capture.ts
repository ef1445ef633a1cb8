import { captureFormatError, type PalisadeError } from '../errors.ts';
import { ChunkedFile, DEFAULT_CHUNK_SIZE } from './file-source.ts';
import { PcapReader } from './pcap-reader.ts';
import { PcapngReader } from './pcapng-reader.ts';

/** One packet from a capture file. Readers reuse a single object: copy what must outlive next(). */
export interface CaptureRecord {
  /** Captured bytes: a view into the reader's chunk buffer (no copy), valid until the next next() call. */
  data: Buffer;
  /** Timestamp seconds (UTC). */
  secs: number;
  /** Nanoseconds 0..999999999, whatever the file's resolution. */
  nsecs: number;
  /** Length on the wire (data.length is less when the capture was snaplen-truncated). */
  origLen: number;
  /** Normalised link type of this record (pcapng: of its interface). */
  linkType: number;
  /** 1-based packet record number (pcapng: counts packet blocks only, as Wireshark's frame numbers). */
  record: number;
  /** Byte offset of the record (pcap record header, pcapng block) in the file. */
  offset: number;
}

export interface CaptureReader {
  readonly path: string;
  readonly format: 'pcap' | 'pcapng';
  /**
   * The next packet, or null at a clean end of file. Throws PalisadeError
   * (PAL_ERR_PCAP_TRUNCATED / PAL_ERR_PCAP_CORRUPT) when it reaches a cut-short or corrupt
   * record, only after every earlier record was returned.
   */
  next(): CaptureRecord | null;
  close(): void;
}

export interface OpenCaptureOptions {
  /** Read buffer size in bytes (default 1 MiB); tests use tiny ones to split records anywhere. */
  chunkSize?: number;
}

/** File magic numbers as the first four bytes read big-endian. */
const PCAP_USEC = 0xa1b2c3d4;
const PCAP_USEC_SWAPPED = 0xd4c3b2a1;
const PCAP_NSEC = 0xa1b23c4d;
const PCAP_NSEC_SWAPPED = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;

/** Magics people feed us by mistake, named so the error says what the file is. */
const knownOthers = new Map<number, string>([
  [0xa1b2cd34, 'a modified (Kuznetzov) pcap, which palisade does not read; convert it with `editcap -F pcap`'],
  [0x34cdb2a1, 'a modified (Kuznetzov) pcap, which palisade does not read; convert it with `editcap -F pcap`'],
]);

/**
 * Opens by magic number (not by extension). Missing file -> fileNotFound('capture', path);
 * unknown magic -> captureFormatError naming the 4 bytes seen; unsupported link type (pcap
 * header, or a pcapng IDB when first used) -> linkTypeUnsupported.
 */
export function openCapture(path: string, options: OpenCaptureOptions = {}): CaptureReader {
  const source = ChunkedFile.open(path, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  try {
    const n = source.fill(4);
    if (n < 4) throw captureFormatError(path, `the file is ${n} bytes long, too short for a pcap or pcapng header`);
    const magic = source.buf.readUInt32BE(source.pos);
    switch (magic) {
      case PCAP_USEC:
        return new PcapReader(path, source, false, false);
      case PCAP_USEC_SWAPPED:
        return new PcapReader(path, source, true, false);
      case PCAP_NSEC:
        return new PcapReader(path, source, false, true);
      case PCAP_NSEC_SWAPPED:
        return new PcapReader(path, source, true, true);
      case PCAPNG_SHB:
        return new PcapngReader(path, source);
      default:
        throw unknownMagic(path, source.buf.subarray(source.pos, source.pos + 4), magic);
    }
  } catch (err) {
    source.close();
    throw err;
  }
}

function unknownMagic(path: string, bytes: Buffer, magic: number): PalisadeError {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const known = knownOthers.get(magic);
  if (known !== undefined) return captureFormatError(path, `magic number ${hex} is ${known}`);
  const hint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it is gzip-compressed: gunzip it first)' : '';
  return captureFormatError(
    path,
    `unknown magic number ${hex}${hint}; palisade reads pcap (a1 b2 c3 d4, a1 b2 3c 4d, either byte order) and pcapng (0a 0d 0d 0a)`,
  );
}
