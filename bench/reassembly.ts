/**
 * StreamReassembler alone, no packets: 1M segments of 1000 bytes through one direction, in
 * order and with 1% of them held back a few places (a reordering link), the receiver
 * acknowledging every second segment; and in order with no ack at all, so that retention stays
 * full (1 MiB) and every segment releases the oldest bytes. "sink only" is the loop with no
 * reassembler, the floor.
 *
 *   npx tsx bench/reassembly.ts [segments]      (default 1000000)
 */

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReassemblyBudget, SEG_NEW, StreamReassembler, type StreamSink } from '../dissectors/tcp-connection/reassembly.ts';
import { seqAdd } from '../dissectors/tcp-connection/serial.ts';
import { Prng } from './prng.ts';

const SEGMENT = 1000;
/** Distinct payload views cycled through, as packet buffers are: 4 MB, more than the caches. */
const VIEWS = 4096;
/** Near the wrap, so that the run crosses 2^32. */
const FIRST_SEQ = 0xffff_0000;

export interface ReassemblyBenchResult {
  name: string;
  segments: number;
  bytes: number;
  seconds: number;
  /** Sum over the bytes the sink saw, so that the JIT cannot skip the work. */
  digest: number;
}

class CountingSink implements StreamSink {
  bytes = 0;
  digest = 0;
  data(chunk: Buffer, offset: number): void {
    this.bytes += chunk.length;
    this.digest = (this.digest + (chunk[0] as number) + offset) | 0;
  }
}

/** Segment indices in sending order: in order, or each held back 2 to 8 places with probability `p`. */
function schedule(segments: number, p: number, rng: Prng): Int32Array {
  const order = new Int32Array(segments);
  for (let i = 0; i < segments; i++) order[i] = i;
  for (let i = 0; i < segments - 8; i++) {
    if (!rng.chance(p)) continue;
    const to = i + rng.int(2, 8);
    const held = order[i] as number;
    order.copyWithin(i, i + 1, to + 1);
    order[to] = held;
    i = to;
  }
  return order;
}

/** `ack`: acknowledge every second segment. */
function run(name: string, order: Int32Array, views: Buffer[], reassemble: boolean, ack: boolean): ReassemblyBenchResult {
  const sink = new CountingSink();
  const budget = new ReassemblyBudget(1 << 30);
  const r = new StreamReassembler({ maxBytes: 1 << 20, maxSegments: 1024 }, budget);
  r.init(FIRST_SEQ);
  const n = order.length;
  const start = performance.now();
  if (reassemble) {
    for (let i = 0; i < n; i++) {
      const k = order[i] as number;
      const result = r.add(seqAdd(FIRST_SEQ, k * SEGMENT), views[k % VIEWS] as Buffer, sink);
      if (result !== SEG_NEW) throw new Error(`segment ${k}: result ${result}`);
      if (ack && (i & 1) === 1) r.acknowledge(r.next);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const k = order[i] as number;
      sink.data(views[k % VIEWS] as Buffer, k * SEGMENT);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (reassemble && sink.bytes !== n * SEGMENT) throw new Error(`${name}: delivered ${sink.bytes} of ${n * SEGMENT} bytes`);
  r.clear();
  if (budget.used !== 0) throw new Error(`${name}: ${budget.used} bytes still counted after clear()`);
  return { name, segments: n, bytes: sink.bytes, seconds, digest: sink.digest };
}

/** Each case run three times after a warm-up; the best and median of the three are reported. */
export function reassemblyBench(segments = 1_000_000): { name: string; best: ReassemblyBenchResult; median: ReassemblyBenchResult }[] {
  const rng = new Prng(1);
  const pool = Buffer.alloc(VIEWS * SEGMENT);
  for (let i = 0; i < pool.length; i++) pool[i] = rng.u32() & 0xff;
  const views = Array.from({ length: VIEWS }, (_, i) => pool.subarray(i * SEGMENT, (i + 1) * SEGMENT));
  const inOrder = schedule(segments, 0, rng);
  const cases: [string, Int32Array, boolean, boolean][] = [
    ['sink only (no reassembly)', inOrder, false, false],
    ['in order', inOrder, true, true],
    ['in order, never acked', inOrder, true, false],
    ['1% reordered', schedule(segments, 0.01, rng), true, true],
  ];
  return cases.map(([name, order, reassemble, ack]) => {
    run(name, order.subarray(0, Math.min(order.length, 100_000)), views, reassemble, ack);
    const runs = [0, 1, 2].map(() => run(name, order, views, reassemble, ack)).sort((a, b) => a.seconds - b.seconds);
    return { name, best: runs[0] as ReassemblyBenchResult, median: runs[1] as ReassemblyBenchResult };
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const segments = Number(process.argv[2] ?? 1_000_000);
  for (const { name, best, median } of reassemblyBench(segments)) {
    const mbs = (r: ReassemblyBenchResult): string => (r.bytes / r.seconds / 1e6).toFixed(0);
    process.stdout.write(
      `${name.padEnd(26)} ${best.segments} x ${SEGMENT} B: best ${best.seconds.toFixed(3)} s ${mbs(best)} MB/s ` +
        `(${((best.seconds / best.segments) * 1e9).toFixed(0)} ns/segment), median ${mbs(median)} MB/s (digest ${best.digest >>> 0})\n`,
    );
  }
}
