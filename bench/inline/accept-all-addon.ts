/**
 * The addon's floor in bench/inline.ts: palisade's own NFQUEUE addon (core/io/nfqueue/index.ts) alone,
 * every packet accepted at once in the batch callback, no engine; with the queue settings
 * `palisade run` uses by default (4096 packets, fail-open, GSO packets queued whole). Run inside
 * the bridge namespace from the repository root: node --import tsx bench/inline/accept-all-addon.ts
 * QUEUE. Prints "ready", then the packets it has judged so far on each line read from stdin; closes
 * the queue when stdin ends.
 */
import { createInterface } from 'node:readline';
import { NfQueue } from '../../core/io/nfqueue/index.ts';

let packets = 0;
const q = new NfQueue(Number(process.argv[2] ?? 0), { queueLength: 4096, failOpen: true, gso: true }, (_payload, id) => {
  packets++;
  q.accept(id);
});
createInterface({ input: process.stdin })
  .on('line', () => process.stdout.write(`${packets}\n`))
  .on('close', () => {
    q.close();
  });
process.stdout.write('ready\n');
