/**
 * Builds pcapng blocks byte by byte (draft-ietf-opsawg-pcapng §3-§4), in either byte order, for
 * what no installed tool writes: power-of-2 and millisecond if_tsresol, if_tsoffset, Simple and
 * obsolete Packet Blocks, custom and unknown block types, and deliberately broken blocks.
 * Used by make-pcapng-features.ts (a checked-in fixture) and by the tests.
 */

export const SHB = 0x0a0d0d0a;
export const IDB = 1;
export const PB = 2;
export const SPB = 3;
export const ISB = 5;
export const EPB = 6;
export const CUSTOM = 0x00000bad;

const pad4 = (n: number): number => (n + 3) & ~3;

function u16(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}

function u32(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

function i64(le: boolean, v: bigint): Buffer {
  const b = Buffer.alloc(8);
  if (le) b.writeBigInt64LE(v);
  else b.writeBigInt64BE(v);
  return b;
}

/** One option (§3.5): code, length, value padded to 32 bits. */
export function option(le: boolean, code: number, value: Uint8Array): Buffer {
  const padded = Buffer.alloc(pad4(value.length));
  padded.set(value);
  return Buffer.concat([u16(le, code), u16(le, value.length), padded]);
}

/** An options list ending with opt_endofopt, or nothing when there are none. */
function options(le: boolean, opts: Buffer[]): Buffer {
  return opts.length === 0 ? Buffer.alloc(0) : Buffer.concat([...opts, option(le, 0, new Uint8Array(0))]);
}

/** Any block (§3.1): type, total length, body padded to 32 bits, total length again. */
export function block(le: boolean, type: number, body: Uint8Array): Buffer {
  const padded = Buffer.alloc(pad4(body.length));
  padded.set(body);
  const len = 12 + padded.length;
  return Buffer.concat([u32(le, type), u32(le, len), padded, u32(le, len)]);
}

export function sectionHeader(le: boolean, userAppl = 'palisade test fixture'): Buffer {
  const body = Buffer.concat([
    u32(le, 0x1a2b3c4d),
    u16(le, 1),
    u16(le, 0),
    i64(le, -1n), // section length not given
    options(le, [option(le, 4, Buffer.from(userAppl))]),
  ]);
  return block(le, SHB, body);
}

export interface InterfaceOptions {
  snaplen?: number;
  /** if_tsresol byte: n for 10^-n, 0x80 | n for 2^-n (default: absent, meaning 6). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: bigint;
  name?: string;
}

export function interfaceDescription(le: boolean, linkType: number, opts: InterfaceOptions = {}): Buffer {
  const list: Buffer[] = [];
  if (opts.name !== undefined) list.push(option(le, 2, Buffer.from(opts.name)));
  if (opts.tsresol !== undefined) list.push(option(le, 9, Uint8Array.of(opts.tsresol)));
  if (opts.tsoffset !== undefined) list.push(option(le, 14, i64(le, opts.tsoffset)));
  const body = Buffer.concat([u16(le, linkType), u16(le, 0), u32(le, opts.snaplen ?? 0), options(le, list)]);
  return block(le, IDB, body);
}

/** A 64-bit count of time units as its high and low 32-bit words. */
function timestamp(le: boolean, ts: bigint): Buffer {
  if (ts < 0n || ts >= 1n << 64n) throw new RangeError(`timestamp ${ts} does not fit 64 bits`);
  return Buffer.concat([u32(le, Number(ts >> 32n)), u32(le, Number(ts & 0xffffffffn))]);
}

/** `ts` counts the interface's time units (if_tsresol). */
export function enhancedPacket(le: boolean, iface: number, ts: bigint, data: Uint8Array, origLen = data.length): Buffer {
  const body = Buffer.concat([
    u32(le, iface),
    timestamp(le, ts),
    u32(le, data.length),
    u32(le, origLen),
    Buffer.from(pad(data)),
  ]);
  return block(le, EPB, body);
}

/** The obsolete Packet Block (appendix A): 16-bit interface id and drops count. */
export function obsoletePacket(le: boolean, iface: number, ts: bigint, data: Uint8Array, origLen = data.length): Buffer {
  const body = Buffer.concat([
    u16(le, iface),
    u16(le, 0),
    timestamp(le, ts),
    u32(le, data.length),
    u32(le, origLen),
    Buffer.from(pad(data)),
  ]);
  return block(le, PB, body);
}

/** SPB (§4.4): original length and data, nothing else. */
export function simplePacket(le: boolean, data: Uint8Array, origLen = data.length): Buffer {
  return block(le, SPB, Buffer.concat([u32(le, origLen), Buffer.from(pad(data))]));
}

/** A Custom Block (§4.8) with a private enterprise number. */
export function customBlock(le: boolean, pen: number, payload: Uint8Array): Buffer {
  return block(le, CUSTOM, Buffer.concat([u32(le, pen), Buffer.from(payload)]));
}

function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(pad4(data.length));
  out.set(data);
  return out;
}
