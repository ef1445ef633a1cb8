/**
 * Writes pcapng (draft-ietf-opsawg-pcapng) in the host's (little-endian) byte order: one
 * section, one interface description per link type as it first appears, nanosecond timestamps
 * (if_tsresol 9) in 64 bits. Replay writes it when the output is named .pcapng: packets of
 * several link types (a multi-interface capture) and times past 2106, which pcap cannot hold.
 */
import { outputError } from '../errors.ts';
import { CaptureFile, checkRecordFields } from './capture-file.ts';

const SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const EPB = 6;
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const DEFAULT_SNAPLEN = 262144;
/** Type, length, then the EPB's fixed fields: interface, time high and low, lengths (§4.3). */
const EPB_HEADER = 28;
const TWO_32 = 2 ** 32;
/** The largest time in 64 bits of nanoseconds: 2^64 - 1 ns is 18,446,744,073.7 s. */
const MAX_SECS = 18_446_744_072;
/** Below this, secs × 1953125 (1e9 / 2^9) stays under 2^53: the exact fast path (until 2116). */
const FAST_SECS = 4_500_000_000;
const halves: [number, number] = [0, 0];

/**
 * secs × 1e9 + nsecs as high and low 32-bit words, exactly (a double holds integers to 2^53
 * only, and a time of today in nanoseconds is past 2^60). One array, reused.
 */
function nanoseconds(secs: number, nsecs: number): [number, number] {
  if (secs < FAST_SECS) {
    // 1e9 = 2^9 × 1953125: ns = a × 2^9 + nsecs, a = secs × 1953125 exact; a = ah × 2^23 + al.
    const a = secs * 1953125;
    const ah = Math.floor(a / 2 ** 23);
    let low = (a - ah * 2 ** 23) * 512 + nsecs;
    let high = ah;
    if (low >= TWO_32) {
      low -= TWO_32;
      high++;
    }
    halves[0] = high;
    halves[1] = low;
    return halves;
  }
  const ns = BigInt(secs) * 1_000_000_000n + BigInt(nsecs);
  halves[0] = Number(ns >> 32n);
  halves[1] = Number(ns & 0xffffffffn);
  return halves;
}

export class PcapngWriter {
  readonly path: string;
  readonly #file: CaptureFile;
  /** Interface id per link type. */
  readonly #interfaces = new Map<number, number>();
  readonly #snaplen: number;

  constructor(path: string, options: { snaplen?: number } = {}) {
    this.path = path;
    this.#snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    this.#file = new CaptureFile(path);
    const b = this.#file.buf;
    // SHB (§4.1): version 1.0, section length unknown (-1), no options.
    b.writeUInt32LE(SHB, 0);
    b.writeUInt32LE(28, 4);
    b.writeUInt32LE(BYTE_ORDER_MAGIC, 8);
    b.writeUInt16LE(1, 12);
    b.writeUInt16LE(0, 14);
    b.writeInt32LE(-1, 16);
    b.writeInt32LE(-1, 20);
    b.writeUInt32LE(28, 24);
    this.#file.used = 28;
    this.#file.headerDone();
  }

  /** Copies `data` into the writer's buffer at once, so the caller may reuse it. */
  write(data: Uint8Array, secs: number, nsecs: number, linkType: number, origLen: number = data.length): void {
    const file = this.#file;
    if (file.closed) throw outputError(this.path, 'write after close');
    if (!Number.isSafeInteger(secs) || secs < 0 || secs > MAX_SECS) throw outputError(this.path, `timestamp seconds ${secs} cannot be written as 64-bit nanoseconds`);
    checkRecordFields(this.path, data.length, nsecs, origLen);
    const iface = this.#interface(linkType);
    const incl = Math.min(data.length, this.#snaplen);
    const padded = (incl + 3) & ~3;
    const total = EPB_HEADER + padded + 4;
    file.reserve(EPB_HEADER);
    const b = file.buf;
    const o = file.used;
    const [high, low] = nanoseconds(secs, nsecs);
    b.writeUInt32LE(EPB, o);
    b.writeUInt32LE(total, o + 4);
    b.writeUInt32LE(iface, o + 8);
    b.writeUInt32LE(high, o + 12);
    b.writeUInt32LE(low, o + 16);
    b.writeUInt32LE(incl, o + 20);
    b.writeUInt32LE(origLen, o + 24);
    file.used = o + EPB_HEADER;
    file.append(incl === data.length ? data : data.subarray(0, incl));
    // Padding to 4 bytes, then the block's length again.
    const tail = padded - incl + 4;
    file.reserve(tail);
    b.fill(0, file.used, file.used + padded - incl);
    b.writeUInt32LE(total, file.used + padded - incl);
    file.used += tail;
    // The interface block written first, if any, ends here too: it is whole once the packet is.
    file.endRecord();
  }

  /** Flushes and closes; idempotent. */
  close(): void {
    this.#file.close();
  }

  /** The interface of `linkType`, its IDB (§4.2) written the first time. */
  #interface(linkType: number): number {
    const known = this.#interfaces.get(linkType);
    if (known !== undefined) return known;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw outputError(this.path, `link type ${linkType} is not a 16-bit LINKTYPE_ value`);
    }
    const id = this.#interfaces.size;
    this.#interfaces.set(linkType, id);
    const file = this.#file;
    const len = 32; // 16 fixed, if_tsresol (4 + 1 padded to 8), opt_endofopt (4), trailing length
    file.reserve(len);
    const b = file.buf;
    const o = file.used;
    b.writeUInt32LE(IDB, o);
    b.writeUInt32LE(len, o + 4);
    b.writeUInt16LE(linkType, o + 8);
    b.writeUInt16LE(0, o + 10);
    b.writeUInt32LE(this.#snaplen, o + 12);
    b.writeUInt16LE(IF_TSRESOL, o + 16);
    b.writeUInt16LE(1, o + 18);
    b.writeUInt32LE(9, o + 20); // 10^-9 s, then three bytes of padding
    b.writeUInt16LE(OPT_ENDOFOPT, o + 24);
    b.writeUInt16LE(0, o + 26);
    b.writeUInt32LE(len, o + 28);
    file.used = o + len;
    return id;
  }
}
