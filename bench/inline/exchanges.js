// Small request/response exchanges for bench/inline.ts: HTTP keep-alive GET /small on port 8080
// of test/inline/endpoints.js's server. Run with plain `node` inside the client namespace
// (ip netns exec NS node bench/inline/exchanges.js …). Prints one JSON line on stdout.
//
//   node exchanges.js rate HOST SECONDS CONCURRENCY
//       CONCURRENCY keep-alive connections, each sending its next request as soon as the answer
//       to the last is in, for SECONDS: {"transactions","seconds","errors"}.
//   node exchanges.js latency HOST COUNT INTERVAL_MS
//       One keep-alive connection, COUNT requests one after the other, one every INTERVAL_MS
//       (or as soon as the last answer is in, if it took longer); the round trip of each, from
//       the request's write to the answer's end: {"count","p50Us","p99Us","maxUs","errors"}.
//       A few requests first open the connection and warm up; they are not counted.
//
// Every request gives up after 5 s; the whole run after its planned time plus 30 s.
// (A .js file, ESM through package.json "type": "module": eslint.config.js ignores **/*.js.)
import http from 'node:http';

const PORT = 8080;
const REQUEST_TIMEOUT_MS = 5000;
const WARM_UP = 20;

const out = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

/** Exits with what there is if the run overstays its plan (a bridge that stalls). */
function guard(ms) {
  setTimeout(() => {
    out({ error: `timed out after ${ms} ms` });
    process.exit(1);
  }, ms).unref();
}

/** One GET /small; resolves with its round trip in ns, rejects on an error or after 5 s. */
function get(host, agent) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host, port: PORT, path: '/small', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) resolve(process.hrtime.bigint() - t0);
        else reject(new Error(`status ${res.statusCode}`));
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timeout')));
    req.on('error', reject);
  });
}

async function rate(host, seconds, concurrency) {
  guard(seconds * 1000 + 30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  // Open the connections first: the timed part is exchanges only.
  await Promise.all(Array.from({ length: concurrency }, () => get(host, agent)));
  let transactions = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await get(host, agent);
        transactions++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  out({ transactions, seconds: (performance.now() - t0) / 1000, errors });
  agent.destroy();
}

async function latency(host, count, intervalMs) {
  guard(count * intervalMs + 30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < WARM_UP; i++) await get(host, agent);
  const rtts = [];
  let errors = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      rtts.push(Number(await get(host, agent)) / 1000);
    } catch {
      errors++;
    }
  }
  rtts.sort((a, b) => a - b);
  const at = (q) => Math.round(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? -1);
  out({ count: rtts.length, p50Us: at(0.5), p99Us: at(0.99), maxUs: at(1), errors });
  agent.destroy();
}

const [mode, host, a, b] = process.argv.slice(2);
if (mode === 'rate') await rate(host, Number(a), Number(b));
else if (mode === 'latency') await latency(host, Number(a), Number(b));
else {
  process.stderr.write('usage: node exchanges.js rate HOST SECONDS CONCURRENCY | latency HOST COUNT INTERVAL_MS\n');
  process.exit(2);
}
