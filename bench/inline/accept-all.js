// The old binding's floor in bench/inline.ts: the `nfqueue` npm binding (0.3.2, no longer a
// dependency of palisade) alone, every packet accepted at once from JavaScript with no engine.
// bench/inline.ts installs the binding under bench/out/old-binding first (npm install --prefix),
// and this loads it from there. Run inside the bridge namespace: node bench/inline/accept-all.js
// QUEUE. Prints "ready", then the packets it has judged so far on each line read from stdin.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const nfq = createRequire(new URL('../out/old-binding/', import.meta.url))('nfqueue');
const q = new nfq.NFQueue();
q.open(Number(process.argv[2] ?? 0), 16 * 1024 * 1024);
let packets = 0;
q.bindings.read((info) => {
  packets++;
  q.bindings.setVerdict(info.id, nfq.NF_ACCEPT, null);
});
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${packets}\n`));
process.stdout.write('ready\n');
