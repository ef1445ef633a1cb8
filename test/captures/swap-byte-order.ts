/**
 * Rewrites a little-endian pcap or pcapng file in big-endian byte order, field by field, so the
 * big-endian fixtures hold real traffic that a big-endian host's libpcap or dumpcap would have
 * written (no installed tool writes the other byte order). Packet bytes are left alone.
 *
 *   npx tsx test/captures/swap-byte-order.ts IN OUT
 */
import { readFileSync, writeFileSync } from 'node:fs';

const swap16 = (b: Buffer, o: number): void => {
  b.writeUInt16BE(b.readUInt16LE(o), o);
};
const swap32 = (b: Buffer, o: number): void => {
  b.writeUInt32BE(b.readUInt32LE(o), o);
};
const swap64 = (b: Buffer, o: number): void => {
  b.writeBigUInt64BE(b.readBigUInt64LE(o), o);
};

function swapPcap(b: Buffer): void {
  const magic = b.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error('not a little-endian pcap');
  swap32(b, 0);
  swap16(b, 4);
  swap16(b, 6);
  for (const o of [8, 12, 16, 20]) swap32(b, o);
  for (let o = 24; o < b.length; ) {
    const incl = b.readUInt32LE(o + 8);
    for (const f of [0, 4, 8, 12]) swap32(b, o + f);
    o += 16 + incl;
  }
}

/**
 * Option layouts by block type and option code (pcapng §4): [size] for one integer, [4, 4] for
 * a timestamp stored as two 32-bit words, [] for text or bytes (not swapped). opt_comment (1)
 * is text in every block. Anything else stops the script rather than being left half-swapped.
 */
const optionLayouts: Record<number, Record<number, number[]>> = {
  // SHB: shb_hardware, shb_os, shb_userappl.
  0x0a0d0d0a: { 2: [], 3: [], 4: [] },
  // IDB: if_name, if_description, addresses, if_speed, if_tsresol, if_tzone, if_filter, if_os,
  // if_fcslen, if_tsoffset, if_hardware, if_txspeed, if_rxspeed.
  1: { 2: [], 3: [], 4: [], 5: [], 6: [], 7: [], 8: [8], 9: [], 10: [4], 11: [], 12: [], 13: [], 14: [8], 15: [], 16: [8], 17: [8] },
  // EPB: epb_flags, epb_hash, epb_dropcount, epb_packetid, epb_queue, epb_verdict.
  6: { 2: [4], 3: [], 4: [8], 5: [8], 6: [4], 7: [] },
  // ISB: isb_starttime, isb_endtime, then 64-bit counters.
  5: { 2: [4, 4], 3: [4, 4], 4: [8], 5: [8], 6: [8], 7: [8], 8: [8] },
};

function swapOptions(b: Buffer, type: number, o: number, end: number): void {
  const layouts = optionLayouts[type];
  if (layouts === undefined) throw new Error(`no option layouts for block type ${type}`);
  while (o + 4 <= end) {
    const code = b.readUInt16LE(o);
    const len = b.readUInt16LE(o + 2);
    swap16(b, o);
    swap16(b, o + 2);
    if (code === 0) return;
    const sizes = code === 1 ? [] : layouts[code];
    if (sizes === undefined) throw new Error(`block type ${type}: option ${code} not known to this swapper`);
    let v = o + 4;
    for (const size of sizes) {
      if (size === 8) swap64(b, v);
      else swap32(b, v);
      v += size;
    }
    o += 4 + ((len + 3) & ~3);
  }
}

function swapPcapng(b: Buffer): void {
  for (let o = 0; o < b.length; ) {
    const type = b.readUInt32LE(o);
    const len = b.readUInt32LE(o + 4);
    swap32(b, o);
    swap32(b, o + 4);
    swap32(b, o + len - 4);
    const end = o + len - 4;
    switch (type) {
      case 0x0a0d0d0a:
        swap32(b, o + 8);
        swap16(b, o + 12);
        swap16(b, o + 14);
        swap64(b, o + 16);
        swapOptions(b, type, o + 24, end);
        break;
      case 1:
        swap16(b, o + 8);
        swap32(b, o + 12);
        swapOptions(b, type, o + 16, end);
        break;
      case 6: {
        const cap = b.readUInt32LE(o + 20);
        for (const f of [8, 12, 16, 20, 24]) swap32(b, o + f);
        swapOptions(b, type, o + 28 + ((cap + 3) & ~3), end);
        break;
      }
      case 5:
        for (const f of [8, 12, 16]) swap32(b, o + f);
        swapOptions(b, type, o + 20, end);
        break;
      default:
        throw new Error(`block type ${type} not known to this swapper`);
    }
    o += len;
  }
}

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) throw new Error('usage: swap-byte-order.ts IN OUT');
const bytes = readFileSync(input);
if (bytes.readUInt32LE(0) === 0x0a0d0d0a) swapPcapng(bytes);
else swapPcap(bytes);
writeFileSync(output, bytes);
