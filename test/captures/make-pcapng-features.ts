/**
 * Writes pcapng-features.pcapng: the packets of a real capture re-framed with pcapng features
 * that no installed tool writes, checked by tshark in the tests.
 *   section 1 (little-endian): interfaces with if_tsresol 10^-3, 2^-20 and 10^-9 with
 *     if_tsoffset, Ethernet and raw IP; EPBs, an obsolete Packet Block, a Simple Packet Block,
 *     a custom block and a block of an unassigned type, both to be skipped;
 *   section 2 (big-endian): its own interface list (raw IPv4/IPv6 at 2^-30) and EPBs.
 *
 *   npx tsx test/captures/make-pcapng-features.ts lo.pcap OUT.pcapng
 */
import { writeFileSync } from 'node:fs';
import { openCapture } from '../../core/io/capture.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../core/link-types.ts';
import {
  block,
  customBlock,
  enhancedPacket,
  interfaceDescription,
  obsoletePacket,
  sectionHeader,
  simplePacket,
} from './pcapng-blocks.ts';

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) throw new Error('usage: make-pcapng-features.ts IN.pcap OUT.pcapng');

const packets: { data: Buffer; secs: number; nsecs: number }[] = [];
const reader = openCapture(input);
for (let rec = reader.next(); rec !== null; rec = reader.next()) {
  packets.push({ data: Buffer.from(rec.data), secs: rec.secs, nsecs: rec.nsecs });
}
reader.close();

/** A timestamp in units of 10^-digits or 2^-bits seconds, truncated as a capturer would. */
const decimal = (p: { secs: number; nsecs: number }, digits: number): bigint =>
  BigInt(p.secs) * 10n ** BigInt(digits) + (BigInt(p.nsecs) * 10n ** BigInt(digits)) / 1_000_000_000n;
const binary = (p: { secs: number; nsecs: number }, bits: number): bigint =>
  (BigInt(p.secs) << BigInt(bits)) + ((BigInt(p.nsecs) << BigInt(bits)) / 1_000_000_000n);

const TSOFFSET = 86_400n; // if_tsoffset: the interface's clock counts from a day later
const blocks: Buffer[] = [
  sectionHeader(true),
  interfaceDescription(true, LINKTYPE_ETHERNET, { name: 'eth-ms', tsresol: 3, snaplen: 262144 }),
  interfaceDescription(true, LINKTYPE_ETHERNET, { name: 'eth-2^-20', tsresol: 0x80 | 20 }),
  interfaceDescription(true, LINKTYPE_RAW, { name: 'raw-ns-offset', tsresol: 9, tsoffset: TSOFFSET }),
];
const ip = (p: { data: Buffer }): Buffer => p.data.subarray(14);
packets.forEach((p, i) => {
  switch (i % 6) {
    case 0:
      blocks.push(enhancedPacket(true, 0, decimal(p, 3), p.data));
      break;
    case 1:
      blocks.push(enhancedPacket(true, 1, binary(p, 20), p.data));
      break;
    case 2:
      blocks.push(enhancedPacket(true, 2, decimal({ secs: p.secs - Number(TSOFFSET), nsecs: p.nsecs }, 9), ip(p)));
      break;
    case 3:
      blocks.push(obsoletePacket(true, 1, binary(p, 20), p.data));
      blocks.push(customBlock(true, 32473, Buffer.from('palisade: skip me')));
      break;
    case 4:
      // SPBs belong to interface 0 and carry no timestamp.
      blocks.push(simplePacket(true, p.data));
      blocks.push(block(true, 0x7eadbeef, Buffer.from('an unassigned block type')));
      break;
    default:
      blocks.push(enhancedPacket(true, 0, decimal(p, 3), p.data.subarray(0, 54), p.data.length));
  }
});
blocks.push(sectionHeader(false), interfaceDescription(false, LINKTYPE_RAW, { name: 'raw-2^-30', tsresol: 0x80 | 30 }));
for (const p of packets.slice(0, 6)) blocks.push(enhancedPacket(false, 0, binary(p, 30), ip(p)));
writeFileSync(output, Buffer.concat(blocks));
