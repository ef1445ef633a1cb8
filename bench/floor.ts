/**
 * The floor under `npm run bench`'s receiveData figure: the least a TCP tracker with in-order
 * reassembly must do per packet, written flat with no engine, no events, no anomalies, no
 * timeouts and no out-of-order handling, over the same capture and reader as the bare loop.
 * What palisade takes above this is what its generality costs; what this takes above the bare
 * loop no TypeScript tracker can avoid.
 *
 *   npx tsx bench/floor.ts [--retain copy|none]
 *
 * `--retain copy` (the default) copies every delivered byte until it is acknowledged, as
 * palisade must to tell a retransmission that rewrites delivered bytes (overlap-different-data);
 * `none` does not, as libnids does not.
 */
import { parseArgs } from 'node:util';
import { openCapture } from '../core/io/capture.ts';
import { i32, u16 } from '../dissectors/bytes.ts';
import { hash4 } from '../dissectors/flow/table.ts';
import { TCP_ACK, TCP_SYN } from '../dissectors/tcp-flags.ts';
import { bareLoop, barePass } from './bare-loop.ts';
import { DEFAULT_OUT, ensureCapture } from './generate.ts';

const { values } = parseArgs({ options: { retain: { type: 'string', default: 'copy' } } });
if (values.retain !== 'copy' && values.retain !== 'none') throw new Error('--retain is copy or none');
const copy = values.retain === 'copy';

const ETH = 14;
const RING = 1 << 16;

class Side {
  nxt = 0;
  synced = false;
  /** Delivered bytes not yet acknowledged, kept in `ring` from `head`. */
  retained = 0;
  head = 0;
  ring: Buffer | null = null;
}

class Flow {
  nextInBucket: Flow | null = null;
  readonly up = new Side();
  readonly down = new Side();
  constructor(
    readonly a: number,
    readonly b: number,
    readonly ap: number,
    readonly bp: number,
  ) {}
}

let hits = 0;
/** The bench's keyword rule. */
function rule(data: Buffer, up: boolean): void {
  if (up && data.includes('/etc/passwd')) hits++;
}

/** Rings of sides with nothing retained, for the next to take: a ring per side only while it retains. */
const free: Buffer[] = [];

function retain(s: Side, data: Buffer): void {
  const ring = (s.ring ??= free.pop() ?? Buffer.allocUnsafeSlow(RING));
  let tail = (s.head + s.retained) & (RING - 1);
  for (let done = 0; done < data.length; ) {
    const n = Math.min(data.length - done, RING - tail);
    ring.set(done === 0 && n === data.length ? data : data.subarray(done, done + n), tail);
    done += n;
    tail = (tail + n) & (RING - 1);
  }
  s.retained = Math.min(RING, s.retained + data.length);
}

function pass(path: string): number {
  const slots = 1 << 17;
  const buckets = new Array<Flow | null>(slots).fill(null);
  const reader = openCapture(path);
  const start = performance.now();
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    const b = rec.data;
    if (b.length < ETH + 20 || b[ETH + 9] !== 6) continue;
    const ihl = ((b[ETH] as number) & 0x0f) * 4;
    const total = u16(b, ETH + 2);
    const src = i32(b, ETH + 12);
    const dst = i32(b, ETH + 16);
    const t = ETH + ihl;
    const sport = u16(b, t);
    const dport = u16(b, t + 2);
    const seq = i32(b, t + 4);
    const ack = i32(b, t + 8);
    const flags = b[t + 13] as number;
    const data = t + ((b[t + 12] as number) >> 4) * 4;
    const len = ETH + total - data;
    const h = hash4(src, sport, dst, dport) & (slots - 1);
    let flow = buckets[h] ?? null;
    let up = true;
    for (; flow !== null; flow = flow.nextInBucket) {
      if (flow.a === src && flow.b === dst && flow.ap === sport && flow.bp === dport) break;
      if (flow.a === dst && flow.b === src && flow.ap === dport && flow.bp === sport) {
        up = false;
        break;
      }
    }
    if (flow === null) {
      flow = new Flow(src, dst, sport, dport);
      flow.nextInBucket = buckets[h] ?? null;
      buckets[h] = flow;
    }
    const sender = up ? flow.up : flow.down;
    const receiver = up ? flow.down : flow.up;
    if ((flags & TCP_SYN) !== 0) {
      sender.nxt = (seq + 1) | 0;
      sender.synced = true;
    } else if (len > 0 && sender.synced && seq === sender.nxt) {
      const bytes = b.subarray(data, data + len);
      sender.nxt = (seq + len) | 0;
      if (copy) retain(sender, bytes);
      rule(bytes, up);
    }
    // The receiver's ack releases what it covers (here: all, when it is current).
    if ((flags & TCP_ACK) !== 0 && receiver.retained > 0 && ack === receiver.nxt) {
      receiver.head = 0;
      receiver.retained = 0;
      if (receiver.ring !== null) free.push(receiver.ring);
      receiver.ring = null;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  reader.close();
  return seconds;
}

// As `npm run bench` reports it: the best pass, and the median ratio to a bare pass run just before each.
const capture = ensureCapture(DEFAULT_OUT, {});
const bare = bareLoop(capture.path, 5);
let best = Infinity;
const ratios: number[] = [];
for (let i = 0; i < 7; i++) {
  const b = barePass(capture.path);
  const s = pass(capture.path);
  if (i < 2) continue;
  best = Math.min(best, s);
  ratios.push(s / b.seconds);
}
ratios.sort((x, y) => x - y);
process.stdout.write(
  `bare loop ${bare.seconds.toFixed(3)} s; floor (retain ${values.retain}) ${best.toFixed(3)} s: ratio ${(ratios[(ratios.length - 1) >> 1] as number).toFixed(2)}x (${hits} keyword hits)\n`,
);
