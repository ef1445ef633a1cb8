/**
 * Writes a flood of bench/flood-traffic.ts as a pcap file, to replay it through the CLI:
 *
 *   npx tsx bench/flood-capture.ts <flood> <packets> <out.pcap>
 *
 * Frames are a microsecond apart. Checksums are not patched: replay with a config that sets
 * `"checksumValidation": "never"`.
 */
import { PcapWriter } from '../core/io/pcap-writer.ts';
import { flood, floodNames, type FloodName } from './flood-traffic.ts';

const [name, packets, out] = process.argv.slice(2);
if (name === undefined || !floodNames.includes(name as FloodName) || packets === undefined || out === undefined) {
  process.stderr.write(`usage: flood-capture.ts <${floodNames.join('|')}> <packets> <out.pcap>\n`);
  process.exit(2);
}
const w = new PcapWriter(out, { linkType: 1 });
let secs = 1_700_000_000;
let nsecs = 0;
flood(name as FloodName, Number(packets), (frame) => {
  nsecs += 1000;
  if (nsecs >= 1e9) {
    secs++;
    nsecs = 0;
  }
  w.write(frame, secs, nsecs);
});
w.close();
