// The floor of bench/inline.ts: the nfqueue binding alone, every packet accepted at once from
// JavaScript with no engine. What palisade adds is the difference. Run inside the bridge
// namespace: node bench/inline/accept-all.js QUEUE. Prints "ready", then the packets it has
// judged so far on each line read from stdin.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const nfq = createRequire(import.meta.url)('nfqueue');
const q = new nfq.NFQueue();
q.open(Number(process.argv[2] ?? 0), 16 * 1024 * 1024);
let packets = 0;
q.bindings.read((info) => {
  packets++;
  q.bindings.setVerdict(info.id, nfq.NF_ACCEPT, null);
});
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${packets}\n`));
process.stdout.write('ready\n');
