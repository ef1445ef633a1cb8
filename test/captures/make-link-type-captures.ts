/**
 * Writes the link-type fixtures no capture tool here produces (BSD null and loopback, raw IP
 * in its three spellings, old DLT_RAW values) with palisade's PcapWriter, from the IP packets
 * of a real Ethernet capture: the link header is replaced, the IP bytes and timestamps are kept.
 *
 *   npx tsx test/captures/make-link-type-captures.ts lo.pcap OUTDIR
 */
import { join } from 'node:path';
import { openCapture } from '../../core/io/capture.ts';
import {
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../../core/link-types.ts';
import { PcapWriter } from '../../core/io/pcap-writer.ts';

const [input, outDir] = process.argv.slice(2);
if (input === undefined || outDir === undefined) throw new Error('usage: make-link-type-captures.ts IN.pcap OUTDIR');

/** Address families as BSD loopback headers carry them: AF_INET is 2 everywhere. */
const AF_INET = 2;
const AF_INET6_DARWIN = 30; // what macOS, the usual source of DLT_NULL files, writes
const AF_INET6_OPENBSD = 24; // DLT_LOOP is OpenBSD's

const family = (le: boolean, af: number): Buffer => {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(af);
  else b.writeUInt32BE(af);
  return b;
};

const outputs = {
  null: new PcapWriter(join(outDir, 'null.pcap'), { linkType: LINKTYPE_NULL }),
  loop: new PcapWriter(join(outDir, 'loop.pcap'), { linkType: LINKTYPE_LOOP }),
  raw: new PcapWriter(join(outDir, 'raw.pcap'), { linkType: LINKTYPE_RAW }),
  // Old files carry DLT_RAW's BSD value; this one also has microsecond timestamps.
  rawDlt12: new PcapWriter(join(outDir, 'raw-dlt12.pcap'), { linkType: 12, nanosecond: false }),
  ipv4: new PcapWriter(join(outDir, 'ipv4.pcap'), { linkType: LINKTYPE_IPV4 }),
  ipv6: new PcapWriter(join(outDir, 'ipv6.pcap'), { linkType: LINKTYPE_IPV6 }),
};

const reader = openCapture(input);
for (let rec = reader.next(); rec !== null; rec = reader.next()) {
  const ethertype = rec.data.readUInt16BE(12);
  const ip = rec.data.subarray(14);
  const v6 = ethertype === 0x86dd;
  if (!v6 && ethertype !== 0x0800) continue;
  const { secs, nsecs } = rec;
  const origLen = rec.origLen - 14;
  outputs.null.write(Buffer.concat([family(true, v6 ? AF_INET6_DARWIN : AF_INET), ip]), secs, nsecs, origLen + 4);
  outputs.loop.write(Buffer.concat([family(false, v6 ? AF_INET6_OPENBSD : AF_INET), ip]), secs, nsecs, origLen + 4);
  outputs.raw.write(ip, secs, nsecs, origLen);
  outputs.rawDlt12.write(ip, secs, nsecs, origLen);
  (v6 ? outputs.ipv6 : outputs.ipv4).write(ip, secs, nsecs, origLen);
}
reader.close();
for (const w of Object.values(outputs)) w.close();
