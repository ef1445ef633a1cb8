/**
 * Times openCapture over a capture file: records/s and MB/s of the reader alone (no dissection).
 *
 *   npx tsx bench/read-capture.ts FILE [PASSES]
 *
 * Each pass reads the whole file; the best pass is reported, so the page cache and JIT warm-up
 * of the first pass do not count.
 */
import { openCapture } from '../core/io/capture.ts';

const [path, passesArg = '3'] = process.argv.slice(2);
if (path === undefined) {
  console.error('usage: npx tsx bench/read-capture.ts FILE [PASSES]');
  process.exit(2);
}

let best = Infinity;
let records = 0;
let bytes = 0;
let checksum = 0;
for (let pass = 0; pass < Number(passesArg); pass++) {
  const reader = openCapture(path);
  records = 0;
  bytes = 0;
  const start = process.hrtime.bigint();
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    records++;
    bytes += rec.data.length;
    // Touch the data and timestamp so the loop cannot be optimised into nothing.
    checksum = (checksum + (rec.data[0] ?? 0) + rec.nsecs) | 0;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  reader.close();
  best = Math.min(best, seconds);
}

const format = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
console.log(
  `${path}: ${format(records)} records, ${(bytes / 1e6).toFixed(1)} MB in ${(best * 1000).toFixed(1)} ms: ` +
    `${format(records / best)} records/s, ${(bytes / 1e6 / best).toFixed(0)} MB/s; ` +
    `rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (checksum ${checksum})`,
);
