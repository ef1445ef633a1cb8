import { captureCorrupt, captureFormatError, captureTruncated, linkTypeUnsupported, type PalisadeError } from '../errors.ts';
import type { CaptureReader, CaptureRecord } from './capture.ts';
import { type ChunkedFile, MAX_RECORD_BYTES } from './file-source.ts';
import { isSupportedLinkType, normalizeLinkType } from '../link-types.ts';

/** Block types (draft-ietf-opsawg-pcapng §4, §11.1); every other type is skipped by its length. */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const PB = 0x00000002; // obsolete Packet Block (appendix A)
const SPB = 0x00000003;
const EPB = 0x00000006;

/** The SHB byte-order magic as read little-endian: written by a little- or big-endian host. */
const BYTE_ORDER_LE = 0x1a2b3c4d;
const BYTE_ORDER_BE = 0x4d3c2b1a;
/** type, total length ... total length */
const BLOCK_MIN = 12;
const SHB_MIN = 28;
const IDB_MIN = 20;
const EPB_MIN = 32;
const PB_MIN = 32;
const SPB_MIN = 16;

/** IDB options (§4.2): if_tsresol and if_tsoffset change how timestamps are read. */
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

const TWO_32 = 4294967296;
/** Below this high word a 64-bit timestamp fits a double exactly (2^53). */
const EXACT_HIGH = 0x200000;

/** One IDB of the current section, with its timestamp conversion worked out once. */
interface Interface {
  /** As stored in the IDB; `linkType` is normalised. */
  readonly rawLinkType: number;
  readonly linkType: number;
  readonly supported: boolean;
  readonly snaplen: number;
  /**
   * Timestamp units per second when it is 10^n (n <= 9) or 2^n (n <= 32): the number path.
   * 0 for the rest (picoseconds, 2^-40 ...), which take the BigInt path.
   */
  readonly units: number;
  /** nsecs = floor(rem * nsMul / nsDiv), exact in doubles for every `units` above. */
  readonly nsMul: number;
  readonly nsDiv: number;
  readonly unitsBig: bigint;
  /** if_tsoffset: seconds added to every timestamp. */
  readonly tsOffset: number;
}

/**
 * pcapng: several sections (each with its own byte order), several interfaces with their own
 * link types and timestamp resolutions. EPB is the hot path; the other blocks are rare.
 */
export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng';
  private le = true;
  private section = 0;
  private interfaces: Interface[] = [];
  private records = 0;
  private readonly rec: CaptureRecord;

  constructor(
    readonly path: string,
    readonly source: ChunkedFile,
  ) {
    this.rec = { data: source.buf.subarray(0, 0), secs: 0, nsecs: 0, origLen: 0, linkType: 0, record: 0, offset: 0 };
    // The first block must be a whole SHB, else this is not a capture we can read at all.
    const avail = source.fill(SHB_MIN);
    if (avail < SHB_MIN) throw captureFormatError(path, `the pcapng section header is cut short (${avail} of ${SHB_MIN} bytes at least)`);
    const magic = source.buf.readUInt32LE(source.pos + 8);
    if (magic !== BYTE_ORDER_LE && magic !== BYTE_ORDER_BE) {
      throw captureFormatError(path, `the pcapng section header has byte-order magic ${magic.toString(16).padStart(8, '0')}, not 1a2b3c4d`);
    }
  }

  next(): CaptureRecord | null {
    const src = this.source;
    for (;;) {
      let p = src.pos;
      let avail = src.end - p;
      if (avail < BLOCK_MIN) {
        avail = src.fill(BLOCK_MIN);
        if (avail === 0) return null;
        p = src.pos;
        if (avail < BLOCK_MIN) throw this.cutShort(p, avail);
      }
      let b = src.buf;
      const type = this.le ? b.readUInt32LE(p) : b.readUInt32BE(p);
      // A new section may switch byte order: read its magic before trusting its length.
      if (type === SHB) this.le = this.sectionByteOrder(b, p);
      const le = this.le;
      const len = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
      if ((len & 3) !== 0 || len < BLOCK_MIN || len > MAX_RECORD_BYTES) {
        throw this.corrupt(p, `block type 0x${type.toString(16)} has total length ${len}; it must be a multiple of 4, at least ${BLOCK_MIN} and at most ${MAX_RECORD_BYTES}`);
      }
      if (avail < len) {
        avail = src.fill(len);
        p = src.pos;
        b = src.buf;
        if (avail < len) throw captureTruncated(this.path, this.records + 1, src.base + p, len, avail);
      }
      const trailer = le ? b.readUInt32LE(p + len - 4) : b.readUInt32BE(p + len - 4);
      if (trailer !== len) throw this.corrupt(p, `block total length ${len} does not match its trailing copy ${trailer}`);

      if (type === EPB) {
        if (len < EPB_MIN) throw this.corrupt(p, `enhanced packet block of ${len} bytes is shorter than ${EPB_MIN}`);
        return this.packet(b, p, len, this.interfaceFor(le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8), p));
      }
      switch (type) {
        case SHB:
          this.startSection(b, p, len);
          break;
        case IDB:
          this.addInterface(b, p, len);
          break;
        case SPB:
          return this.simplePacket(b, p, len);
        case PB: {
          if (len < PB_MIN) throw this.corrupt(p, `packet block of ${len} bytes is shorter than ${PB_MIN}`);
          // A 16-bit interface id and a 16-bit drops count where the EPB has a 32-bit id.
          return this.packet(b, p, len, this.interfaceFor(le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8), p));
        }
        default:
          // NRB, ISB, DSB, custom and future blocks: nothing a packet needs (§4: skip unknown).
          break;
      }
      src.pos = p + len;
    }
  }

  close(): void {
    this.source.close();
  }

  /** EPB (§4.3) and PB share their layout from byte 12: ts high, ts low, caplen, origlen, data. */
  private packet(b: Buffer, p: number, len: number, iface: Interface): CaptureRecord {
    const le = this.le;
    const cap = le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20);
    // 28 bytes of fields before the data, 4 of trailing length after it.
    if (cap > len - EPB_MIN) throw this.corrupt(p, `captured length ${cap} does not fit in a block of ${len} bytes`);
    const rec = this.rec;
    this.setTime(iface, le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12), le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16));
    rec.origLen = le ? b.readUInt32LE(p + 24) : b.readUInt32BE(p + 24);
    rec.data = b.subarray(p + 28, p + 28 + cap);
    rec.linkType = iface.linkType;
    rec.record = ++this.records;
    rec.offset = this.source.base + p;
    this.source.pos = p + len;
    return rec;
  }

  /**
   * SPB (§4.4): interface 0, no timestamp (the previous record's is kept, 0 before any), and
   * the captured length is the original length cut to interface 0's snaplen.
   */
  private simplePacket(b: Buffer, p: number, len: number): CaptureRecord {
    if (len < SPB_MIN) throw this.corrupt(p, `simple packet block of ${len} bytes is shorter than ${SPB_MIN}`);
    const iface = this.interfaceFor(0, p);
    const orig = this.le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    const cap = iface.snaplen > 0 && orig > iface.snaplen ? iface.snaplen : orig;
    if (cap > len - SPB_MIN) throw this.corrupt(p, `simple packet block of ${len} bytes cannot hold its ${cap} bytes of packet data`);
    const rec = this.rec;
    rec.origLen = orig;
    rec.data = b.subarray(p + 12, p + 12 + cap);
    rec.linkType = iface.linkType;
    rec.record = ++this.records;
    rec.offset = this.source.base + p;
    this.source.pos = p + len;
    return rec;
  }

  /** Converts a 64-bit count of interface time units to secs + nsecs without losing precision. */
  private setTime(iface: Interface, high: number, low: number): void {
    const rec = this.rec;
    const units = iface.units;
    let secs: number;
    let rem: number;
    if (units === 0) {
      const ts = (BigInt(high) << 32n) | BigInt(low);
      rec.secs = Number(ts / iface.unitsBig) + iface.tsOffset;
      rec.nsecs = Number(((ts % iface.unitsBig) * 1_000_000_000n) / iface.unitsBig);
      return;
    }
    // Division, not %: V8 computes a double remainder with a C call, several times slower.
    if (high < EXACT_HIGH) {
      const ts = high * TWO_32 + low;
      secs = Math.floor(ts / units);
      rem = ts - secs * units;
    } else {
      // Long division by 16-bit digits keeps every intermediate below 2^53 (units <= 2^32).
      const q1 = Math.floor(high / units);
      const x = (high - q1 * units) * 65536 + (low >>> 16);
      const q2 = Math.floor(x / units);
      const y = (x - q2 * units) * 65536 + (low & 0xffff);
      const q3 = Math.floor(y / units);
      secs = q1 * TWO_32 + q2 * 65536 + q3;
      rem = y - q3 * units;
    }
    // A quotient within one rounding of an integer can floor to the wrong side; put it back.
    if (rem < 0) {
      secs--;
      rem += units;
    } else if (rem >= units) {
      secs++;
      rem -= units;
    }
    rec.secs = secs + iface.tsOffset;
    rec.nsecs = iface.nsDiv === 1 ? rem * iface.nsMul : Math.floor((rem * iface.nsMul) / iface.nsDiv);
  }

  private interfaceFor(id: number, p: number): Interface {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      throw this.corrupt(p, `packet refers to interface ${id}, but section ${this.section} describes ${this.interfaces.length}`);
    }
    if (!iface.supported) throw linkTypeUnsupported(this.path, iface.rawLinkType, `interface ${id} of pcapng section ${this.section}`);
    return iface;
  }

  private sectionByteOrder(b: Buffer, p: number): boolean {
    const magic = b.readUInt32LE(p + 8);
    if (magic === BYTE_ORDER_LE) return true;
    if (magic === BYTE_ORDER_BE) return false;
    throw this.corrupt(p, `section header byte-order magic is ${magic.toString(16).padStart(8, '0')}, not 1a2b3c4d`);
  }

  /** SHB (§4.1): interfaces are numbered per section, so a new section forgets the old ones. */
  private startSection(b: Buffer, p: number, len: number): void {
    if (len < SHB_MIN) throw this.corrupt(p, `section header block of ${len} bytes is shorter than ${SHB_MIN}`);
    const major = this.le ? b.readUInt16LE(p + 12) : b.readUInt16BE(p + 12);
    const minor = this.le ? b.readUInt16LE(p + 14) : b.readUInt16BE(p + 14);
    if (major !== 1) {
      throw captureFormatError(this.path, `the pcapng section at byte ${this.source.base + p} has version ${major}.${minor}; palisade reads version 1.x`);
    }
    this.section++;
    this.interfaces = [];
  }

  /** IDB (§4.2): link type, snaplen, and the options that shape timestamps. */
  private addInterface(b: Buffer, p: number, len: number): void {
    if (len < IDB_MIN) throw this.corrupt(p, `interface description block of ${len} bytes is shorter than ${IDB_MIN}`);
    const le = this.le;
    const rawLinkType = le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8);
    const snaplen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
    let tsresol = 6;
    let tsOffset = 0;
    const optEnd = p + len - 4;
    for (let o = p + 16; o + 4 <= optEnd; ) {
      const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
      const olen = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + olen > optEnd) throw this.corrupt(p, `interface option ${code} of ${olen} bytes runs past its block`);
      if (code === IF_TSRESOL && olen >= 1) tsresol = b[o + 4] ?? 6;
      if (code === IF_TSOFFSET && olen >= 8) tsOffset = Number(le ? b.readBigInt64LE(o + 4) : b.readBigInt64BE(o + 4));
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push({
      rawLinkType,
      linkType: normalizeLinkType(rawLinkType),
      supported: isSupportedLinkType(rawLinkType),
      snaplen,
      tsOffset,
      ...timeUnits(tsresol),
    });
  }

  /** Before a block's length is known (or can be believed), say what was left of it. */
  private cutShort(p: number, avail: number): PalisadeError {
    let needed = BLOCK_MIN;
    const b = this.source.buf;
    if (avail >= 8 && b.readUInt32LE(p) !== SHB) {
      needed = Math.max(BLOCK_MIN, this.le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4));
    }
    return captureTruncated(this.path, this.records + 1, this.source.base + p, needed, avail);
  }

  private corrupt(p: number, detail: string): PalisadeError {
    return captureCorrupt(this.path, this.records + 1, this.source.base + p, detail);
  }
}

/**
 * if_tsresol (§4.2): high bit clear, 10^-n seconds; set, 2^-n. Work out once per interface
 * how to turn a remainder of units into nanoseconds exactly.
 */
function timeUnits(tsresol: number): Pick<Interface, 'units' | 'nsMul' | 'nsDiv' | 'unitsBig'> {
  const n = tsresol & 0x7f;
  if ((tsresol & 0x80) === 0) {
    const unitsBig = 10n ** BigInt(n);
    if (n <= 9) return { units: 10 ** n, nsMul: 10 ** (9 - n), nsDiv: 1, unitsBig };
    return { units: 0, nsMul: 0, nsDiv: 1, unitsBig };
  }
  const unitsBig = 1n << BigInt(n);
  if (n > 32) return { units: 0, nsMul: 0, nsDiv: 1, unitsBig };
  // rem < 2^n; 1e9 = 2^9 * 1953125, so rem * 1953125 / 2^(n-9) stays below 2^53.
  if (n >= 9) return { units: 2 ** n, nsMul: 1953125, nsDiv: 2 ** (n - 9), unitsBig };
  return { units: 2 ** n, nsMul: 1e9, nsDiv: 2 ** n, unitsBig };
}
