import { describe, expect, it } from 'vitest';
import {
  CONFLICT_REFUSE,
  CONFLICT_REWRITE,
  ReassemblyBudget,
  RING_OVERHEAD,
  SEG_CONFLICT,
  SEG_DUPLICATE,
  SEG_MEMCAP,
  SEG_NEW,
  SEG_OLD,
  SEG_OUT_OF_WINDOW,
  StreamReassembler,
  type ReassemblyLimits,
  type StreamSink,
} from '../../dissectors/tcp-connection/reassembly.ts';
import { seqAdd } from '../../dissectors/tcp-connection/serial.ts';
import { Prng } from '../../bench/prng.ts';

const roomy: ReassemblyLimits = { maxBytes: 1 << 24, maxSegments: 1 << 16 };

/** Records what the sink is given: copies (the fast path hands over the caller's buffer) and offsets. */
class Collector implements StreamSink {
  readonly chunks: { offset: number; bytes: Buffer; given: Buffer }[] = [];
  /** One past the last byte received. */
  end = 0;

  data(chunk: Buffer, offset: number): void {
    if (chunk.length === 0) expect.fail('empty chunk');
    if (offset < this.end) expect.fail(`chunk at ${offset} goes back before ${this.end}`);
    this.chunks.push({ offset, bytes: Buffer.from(chunk), given: chunk });
    this.end = offset + chunk.length;
  }

  /** Everything received, which must be contiguous from offset 0. */
  bytes(): Buffer {
    let at = 0;
    for (const c of this.chunks) {
      if (c.offset !== at) expect.fail(`chunk at ${c.offset}, expected ${at}`);
      at += c.bytes.length;
    }
    return Buffer.concat(this.chunks.map((c) => c.bytes));
  }

  text(): string {
    return this.bytes().toString('latin1');
  }
}

/** A reassembler for one stream whose first data byte has sequence number `first`, fed as the tracker does. */
class Stream {
  readonly budget: ReassemblyBudget;
  readonly r: StreamReassembler;
  readonly sink = new Collector();

  constructor(
    readonly first = 1000,
    limits: ReassemblyLimits = roomy,
    budget?: ReassemblyBudget,
  ) {
    this.budget = budget ?? new ReassemblyBudget(1 << 30);
    this.r = new StreamReassembler(limits, this.budget);
    this.r.init(first);
  }

  seq(offset: number): number {
    return seqAdd(this.first, offset);
  }

  /** What add() does with a conflicting segment (CONFLICT_*). */
  conflicts = CONFLICT_REFUSE;
  /** The last add()'s payload after the call (a normalised segment is rewritten in place). */
  lastPayload = Buffer.alloc(0);

  /** Adds `bytes` at stream offset `offset` from a scratch buffer that is scribbled over afterwards, as a reused packet buffer is. */
  add(offset: number, bytes: string | Buffer, window?: number): number {
    const scratch = Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    const result = this.r.add(this.seq(offset), scratch, this.sink, window, this.conflicts);
    this.lastPayload = Buffer.from(scratch);
    scratch.fill(0xaa);
    return result;
  }

  skipTo(offset: number): number {
    return this.r.skipTo(this.seq(offset), this.sink);
  }

  ack(offset: number): void {
    this.r.acknowledge(this.seq(offset));
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

function randomBytes(rng: Prng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.u32() & 0xff;
  return b;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i] as T, ...p];
  }
}

function* combinations(n: number, k: number, from = 1): Generator<number[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= n - k + 1; i++) for (const rest of combinations(n, k - 1, i + 1)) yield [i, ...rest];
}

/** The segments [start, end) a stream of `length` bytes is cut into at `cuts`. */
function segmentsAt(length: number, cuts: number[]): [number, number][] {
  const bounds = [0, ...cuts, length];
  return bounds.slice(1).map((end, i) => [bounds[i] as number, end]);
}

/**
 * The obvious model of first-wins reassembly without any limit: every byte seen is remembered
 * at its offset; a segment conflicts if it disagrees with one, is a duplicate if it brings none.
 * A conflicting segment gives nothing, or, with `merge`, the bytes nobody saw before.
 */
class ByteModel {
  readonly seen: Int16Array;
  delivered = 0;

  constructor(
    length: number,
    readonly merge = false,
  ) {
    this.seen = new Int16Array(length).fill(-1);
  }

  add(offset: number, bytes: Buffer): { result: number; fresh: number } {
    let fresh = 0;
    let conflict = false;
    for (let i = 0; i < bytes.length; i++) {
      const was = this.seen[offset + i] as number;
      if (was === -1) fresh++;
      else if (was !== bytes[i]) conflict = true;
    }
    if (conflict && !this.merge) return { result: SEG_CONFLICT, fresh: 0 };
    if (fresh === 0) return { result: conflict ? SEG_CONFLICT : SEG_DUPLICATE, fresh: 0 };
    for (let i = 0; i < bytes.length; i++) if (this.seen[offset + i] === -1) this.seen[offset + i] = bytes[i] as number;
    while (this.delivered < this.seen.length && this.seen[this.delivered] !== -1) this.delivered++;
    return { result: conflict ? SEG_CONFLICT : SEG_NEW, fresh };
  }

  /** The runs [start, end) not seen yet. */
  holes(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.seen.length; ) {
      if (this.seen[i] !== -1) {
        i++;
        continue;
      }
      const start = i;
      while (i < this.seen.length && this.seen[i] === -1) i++;
      out.push([start, i]);
    }
    return out;
  }

  bytes(): Buffer {
    return Buffer.from(Array.from(this.seen.subarray(0, this.delivered)));
  }
}

describe('in-order data', () => {
  it('reaches the sink at once, with stream offsets from 0', () => {
    const s = new Stream();
    expect(s.add(0, 'abc')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(3);
    expect(s.add(3, 'def')).toBe(SEG_NEW);
    expect(s.sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([
      [0, 'abc'],
      [3, 'def'],
    ]);
    expect(s.r.next).toBe(1006);
    expect(s.r.delivered).toBe(6);
  });

  it('is handed over as the caller own buffer, not a copy (zero copy)', () => {
    const budget = new ReassemblyBudget(1 << 20);
    const r = new StreamReassembler(roomy, budget);
    const sink = new Collector();
    r.init(7);
    const payload = Buffer.from('hello');
    expect(r.add(7, payload, sink)).toBe(SEG_NEW);
    expect(sink.chunks[0]?.given).toBe(payload);
  });

  it('keeps zero copy when segments wait further on', () => {
    const s = new Stream(0);
    s.add(10, 'klm');
    const payload = Buffer.from('abcde');
    expect(s.r.add(0, payload, s.sink)).toBe(SEG_NEW);
    expect(s.sink.chunks[0]?.given).toBe(payload);
  });

  it('passes the new tail of a segment overlapping delivered bytes as a view of the caller buffer', () => {
    const s = new Stream(0);
    s.add(0, 'abcd');
    const payload = Buffer.from('cdefg');
    expect(s.r.add(2, payload, s.sink)).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(3);
    const tail = s.sink.chunks[1]?.given as Buffer;
    expect(tail.buffer).toBe(payload.buffer);
    expect(tail.byteOffset).toBe(payload.byteOffset + 2);
    expect(s.sink.text()).toBe('abcdefg');
  });

  it('treats an empty payload as a no-op duplicate, even far off', () => {
    const s = new Stream();
    s.add(0, 'ab');
    const before = s.r.memory;
    for (const at of [0, 2, 5, -100, 0x7000_0000]) {
      expect(s.add(at, '')).toBe(SEG_DUPLICATE);
      expect(s.r.lastNewBytes).toBe(0);
    }
    expect(s.r.memory).toBe(before);
    expect(s.r.next).toBe(1002);
    expect(s.sink.text()).toBe('ab');
  });

  it('throws when add() comes before init()', () => {
    const r = new StreamReassembler(roomy, new ReassemblyBudget(100));
    expect(() => r.add(0, Buffer.from('x'), new Collector())).toThrow(/before init/);
    expect(r.initialized).toBe(false);
  });
});

describe('every arrival order', () => {
  const text = Buffer.from('The quick brown fox jumps over the lazy dog', 'latin1');

  for (const first of [1, 0x7fff_fff0, 0xffff_ffe8]) {
    it(`delivers each byte once, in order, for every permutation of 5 segments (first seq ${first})`, () => {
      const segments = segmentsAt(text.length, [4, 9, 20, 31]);
      let orders = 0;
      for (const order of permutations(segments)) {
        const s = new Stream(first);
        for (const [a, b] of order) {
          expect(s.add(a, text.subarray(a, b))).toBe(SEG_NEW);
          expect(s.r.lastNewBytes).toBe(b - a);
        }
        expect(s.sink.bytes()).toEqual(text);
        expect(s.r.next).toBe(seqAdd(first, text.length));
        expect(s.r.bufferedSegments).toBe(0);
        // Everything again, in the same order: nothing new.
        for (const [a, b] of order) expect(s.add(a, text.subarray(a, b))).toBe(SEG_DUPLICATE);
        expect(s.sink.bytes()).toEqual(text);
        expect(s.budget.used).toBe(s.r.memory);
        s.r.clear();
        expect(s.budget.used).toBe(0);
        orders++;
      }
      expect(orders).toBe(120);
    });
  }

  it('delivers the stream for every cut into 4 segments and every order of them', () => {
    const stream = Buffer.from('0123456789', 'latin1');
    let runs = 0;
    for (const cuts of combinations(stream.length - 1, 3)) {
      for (const order of permutations(segmentsAt(stream.length, cuts))) {
        const s = new Stream(0xffff_fffc);
        for (const [a, b] of order) expect(s.add(a, stream.subarray(a, b))).toBe(SEG_NEW);
        expect(s.sink.bytes()).toEqual(stream);
        runs++;
      }
    }
    expect(runs).toBe(84 * 24);
  });

  it('delivers the stream for every order of 4 overlapping segments', () => {
    const stream = Buffer.from(ALPHABET.slice(0, 16), 'latin1');
    // Each overlaps its neighbours; the last covers two of the others entirely.
    const segments: [number, number][] = [
      [0, 5],
      [3, 9],
      [7, 12],
      [4, 16],
    ];
    for (const order of permutations(segments)) {
      const s = new Stream(0xffff_fff8);
      for (const [a, b] of order) expect([SEG_NEW, SEG_DUPLICATE]).toContain(s.add(a, stream.subarray(a, b)));
      expect(s.sink.bytes()).toEqual(stream);
      expect(s.r.bufferedSegments).toBe(0);
      expect(s.budget.used).toBe(s.r.memory);
    }
  });
});

describe('random schedules against a byte-by-byte model', () => {
  for (const [name, alter, merge] of [
    ['retransmissions and overlapping re-sends of the same bytes', 0, false],
    ['some re-sends carrying other bytes', 0.15, false],
    ['some re-sends carrying other bytes, their new bytes taken (mergeConflicts)', 0.15, true],
  ] as const) {
    it(`gives the model result for every segment and delivers the first bytes: ${name}`, () => {
      const rng = new Prng(alter === 0 ? 1 : merge ? 3 : 2);
      for (let schedule = 0; schedule < 3000; schedule++) {
        const length = rng.int(1, 400);
        const stream = randomBytes(rng, length);
        const first = rng.chance(0.5) ? rng.u32() : seqAdd(0, -rng.int(1, 500));
        const s = new Stream(first);
        s.conflicts = merge ? CONFLICT_REWRITE : CONFLICT_REFUSE;
        const model = new ByteModel(length, merge);
        const ops = rng.int(1, 60);
        for (let op = 0; op < ops; op++) {
          const at = rng.int(0, length - 1);
          const bytes = Buffer.from(stream.subarray(at, at + rng.int(0, Math.min(length - at, 80))));
          if (bytes.length > 0 && rng.chance(alter)) {
            const i = rng.int(0, bytes.length - 1);
            bytes[i] = (bytes[i] as number) ^ rng.int(1, 255);
          }
          // Normalised: every byte seen before reads as its first copy, the rest as sent.
          const want = Buffer.from(bytes);
          for (let i = 0; i < want.length; i++) if ((model.seen[at + i] as number) !== -1) want[i] = model.seen[at + i] as number;
          const expected = model.add(at, bytes);
          const result = s.add(at, bytes);
          if (merge && !s.lastPayload.equals(want)) expect.fail(`schedule ${schedule} op ${op}: [${at}, ${at + bytes.length}) not normalised`);
          if (result !== expected.result || s.r.lastNewBytes !== expected.fresh) {
            const got = `${result}/${s.r.lastNewBytes}`;
            expect.fail(`schedule ${schedule} op ${op}: [${at}, ${at + bytes.length}) gave ${got}, model ${expected.result}/${expected.fresh}`);
          }
          if (s.r.delivered !== model.delivered) expect.fail(`schedule ${schedule} op ${op}: delivered ${s.r.delivered}, model ${model.delivered}`);
        }
        // Fill the holes left with the original bytes: the stream ends complete, first copies kept.
        for (const [a, b] of model.holes()) {
          model.add(a, stream.subarray(a, b));
          expect(s.add(a, stream.subarray(a, b))).toBe(SEG_NEW);
        }
        const got = s.sink.bytes();
        expect(got.length).toBe(length);
        expect(got).toEqual(model.bytes());
        if (alter === 0) expect(got).toEqual(stream);
        expect(s.r.bufferedSegments).toBe(0);
        expect(s.r.next).toBe(seqAdd(first, length));
        expect(s.budget.used).toBe(s.r.memory);
        s.r.clear();
        expect(s.budget.used).toBe(0);
      }
    });
  }
});

describe('overlaps with buffered and delivered bytes', () => {
  /** A stream where 'abcdefghij' was delivered and the given offsets of the alphabet wait out of order. */
  function withBuffered(...runs: [number, number][]): Stream {
    const s = new Stream(0xffff_fffa);
    s.add(0, ALPHABET.slice(0, 10));
    for (const [a, b] of runs) expect(s.add(a, ALPHABET.slice(a, b))).toBe(SEG_NEW);
    return s;
  }
  /** The alphabet's [a, b) with the byte at `at` changed. */
  function altered(a: number, b: number, at: number): string {
    const chars = ALPHABET.slice(a, b).split('');
    chars[at - a] = '#';
    return chars.join('');
  }
  function complete(s: Stream): string {
    for (let i = 0; i < ALPHABET.length; i++) s.add(i, ALPHABET.charAt(i));
    return s.sink.text();
  }

  it('compares retransmissions after everything was acknowledged and retention started again (a new ring)', () => {
    const rng = new Prng(3);
    const s = new Stream();
    expect(s.add(0, 'abc')).toBe(SEG_NEW);
    s.ack(3);
    expect(s.r.retained).toBe(0);
    expect(s.add(0, 'abc')).toBe(SEG_OLD);
    expect(s.add(3, 'def')).toBe(SEG_NEW);
    expect(s.add(3, 'dXf')).toBe(SEG_CONFLICT);
    expect(s.add(3, 'def')).toBe(SEG_DUPLICATE);
    s.ack(6);
    // A flight larger than the first ring, acknowledged, then another as large: the second
    // ring is taken at the size the first grew to, and still compares every byte.
    for (const base of [6, 20_006]) {
      const flight = randomBytes(rng, 20_000);
      for (let at = 0; at < flight.length; at += 1000) expect(s.add(base + at, flight.subarray(at, at + 1000))).toBe(SEG_NEW);
      expect(s.r.retained).toBe(20_000);
      const rewrite = Buffer.from(flight.subarray(9000, 10_000));
      rewrite[500] = (rewrite[500] as number) ^ 1;
      expect(s.add(base + 9000, rewrite)).toBe(SEG_CONFLICT);
      expect(s.add(base + 9000, flight.subarray(9000, 10_000))).toBe(SEG_DUPLICATE);
      s.ack(base + 20_000);
      expect(s.r.retained).toBe(0);
    }
    expect(s.budget.used).toBe(0);
    expect(s.sink.bytes().length).toBe(40_006);
  });

  it('an exact retransmission of delivered bytes is a duplicate; one with other bytes a conflict', () => {
    const s = withBuffered();
    expect(s.add(0, 'abcdefghij')).toBe(SEG_DUPLICATE);
    expect(s.add(3, 'def')).toBe(SEG_DUPLICATE);
    expect(s.add(3, 'dXf')).toBe(SEG_CONFLICT);
    expect(s.add(0, 'Xbc')).toBe(SEG_CONFLICT);
    expect(s.add(9, 'X')).toBe(SEG_CONFLICT);
    expect(s.r.lastNewBytes).toBe(0);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('a segment over delivered bytes and past next: its tail is taken only if the overlap matches', () => {
    const s = withBuffered();
    expect(s.add(8, 'iJKL')).toBe(SEG_CONFLICT);
    expect(s.r.next).toBe(s.seq(10));
    expect(s.sink.text()).toBe('abcdefghij');
    expect(s.add(8, 'ijKL')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(2);
    expect(s.sink.text()).toBe('abcdefghijKL');
  });

  it('partial left overlap of a buffered segment', () => {
    const s = withBuffered([15, 20]);
    expect(s.add(12, altered(12, 17, 16))).toBe(SEG_CONFLICT);
    expect(s.r.memory - s.r.retained).toBe(5);
    expect(s.add(12, 'mnopq')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(3);
    expect(s.r.memory - s.r.retained).toBe(8);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('partial right overlap of a buffered segment', () => {
    const s = withBuffered([15, 20]);
    expect(s.add(18, altered(18, 23, 19))).toBe(SEG_CONFLICT);
    expect(s.add(18, 'stuvw')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(3);
    expect(s.r.bufferedSegments).toBe(2);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('a segment covering several buffered ones fills only the holes, after comparing the rest', () => {
    const s = withBuffered([13, 15], [17, 19], [21, 23]);
    const held = s.r.memory;
    // A changed byte inside each of the three buffered segments.
    for (const at of [13, 18, 22]) {
      expect(s.add(12, altered(12, 24, at))).toBe(SEG_CONFLICT);
      expect(s.r.bufferedSegments).toBe(3);
      expect(s.r.memory).toBe(held);
    }
    expect(s.add(12, ALPHABET.slice(12, 24))).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(12 - 6);
    expect(s.r.bufferedSegments).toBe(1);
    expect(s.r.memory).toBe(held + 6);
    expect(s.budget.used).toBe(s.r.memory);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('a segment reaching from inside one buffered segment into another fills the hole between', () => {
    const s = withBuffered([12, 15], [18, 22]);
    expect(s.add(14, altered(14, 20, 19))).toBe(SEG_CONFLICT);
    expect(s.add(14, ALPHABET.slice(14, 20))).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(3);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('a segment inside a buffered one is a duplicate, or a conflict', () => {
    const s = withBuffered([12, 20]);
    expect(s.add(14, 'opq')).toBe(SEG_DUPLICATE);
    expect(s.add(12, ALPHABET.slice(12, 20))).toBe(SEG_DUPLICATE);
    expect(s.add(14, 'oXq')).toBe(SEG_CONFLICT);
    expect(s.r.bufferedSegments).toBe(1);
    expect(complete(s)).toBe(ALPHABET);
  });

  it('an in-order segment covering buffered ones and reaching past them delivers everything once', () => {
    const s = withBuffered([12, 14], [16, 18], [25, 26]);
    expect(s.add(10, altered(10, 20, 17))).toBe(SEG_CONFLICT);
    expect(s.sink.text()).toBe('abcdefghij');
    expect(s.add(10, ALPHABET.slice(10, 20))).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(6);
    expect(s.sink.text()).toBe(ALPHABET.slice(0, 20));
    expect(s.r.bufferedSegments).toBe(1);
    expect(s.add(20, ALPHABET.slice(20, 25))).toBe(SEG_NEW);
    expect(s.sink.text()).toBe(ALPHABET);
    expect(s.r.firstBuffered).toBe(-1);
  });

  it('a segment overlapping delivered bytes, a hole and a buffered segment is compared with both', () => {
    const s = withBuffered([14, 18]);
    expect(s.add(8, altered(8, 16, 9))).toBe(SEG_CONFLICT);
    expect(s.add(8, altered(8, 16, 15))).toBe(SEG_CONFLICT);
    expect(s.sink.text()).toBe('abcdefghij');
    expect(s.add(8, ALPHABET.slice(8, 16))).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(4);
    expect(s.sink.text()).toBe(ALPHABET.slice(0, 18));
  });

  it('new bytes in a hole are taken whatever they are (first copy wins), and later copies must match them', () => {
    const s = withBuffered([14, 16]);
    expect(s.add(11, 'XY')).toBe(SEG_NEW);
    expect(s.add(11, 'lm')).toBe(SEG_CONFLICT);
    expect(s.add(10, 'kXYn')).toBe(SEG_NEW);
    expect(s.sink.text()).toBe('abcdefghijkXYnop');
  });

  it('keeps buffered copies apart from the caller buffer', () => {
    const s = new Stream(0);
    const scratch = Buffer.from('defg');
    s.r.add(3, scratch, s.sink);
    scratch.fill(0);
    s.add(0, 'abc');
    expect(s.sink.text()).toBe('abcdefg');
  });
});

describe('sequence wraparound', () => {
  it('carries 4 MiB through 2^32 from ISN 0xFFFFFF00, reordered, duplicated and acknowledged', () => {
    const rng = new Prng(32);
    const stream = randomBytes(rng, 4 << 20);
    const first = 0xffff_ff01;
    const s = new Stream(first, { maxBytes: 256 << 10, maxSegments: 64 }, new ReassemblyBudget(1 << 20));
    const segments = segmentsAt(stream.length, Array.from({ length: Math.floor(stream.length / 1460) }, (_, i) => (i + 1) * 1460));
    // Swap neighbours now and then, and re-send a recent segment.
    for (let i = 0; i + 1 < segments.length; i++) {
      if (rng.chance(0.05)) [segments[i], segments[i + 1]] = [segments[i + 1] as [number, number], segments[i] as [number, number]];
    }
    let sent = 0;
    for (const [a, b] of segments) {
      expect(s.add(a, stream.subarray(a, b))).toBe(SEG_NEW);
      if (rng.chance(0.03)) {
        const [ra, rb] = segments[Math.max(0, sent - rng.int(0, 5))] as [number, number];
        // Already acknowledged, it may be too old to compare.
        expect([SEG_DUPLICATE, SEG_OLD]).toContain(s.add(ra, stream.subarray(ra, rb)));
      }
      if (rng.chance(0.1)) s.ack(Math.max(0, s.r.delivered - 3000));
      expect(s.r.memory).toBeLessThanOrEqual(256 << 10);
      sent++;
    }
    expect(s.sink.bytes().equals(stream)).toBe(true);
    expect(s.r.next).toBe(seqAdd(first, stream.length));
    expect(s.r.next).toBe(0x3fff01);
    s.r.clear();
    expect(s.budget.used).toBe(0);
  });

  it('buffers, compares and reports a segment across the wrap point', () => {
    const s = new Stream(0xffff_fff0);
    s.add(0, ALPHABET.slice(0, 10));
    expect(s.add(14, ALPHABET.slice(14, 20))).toBe(SEG_NEW);
    // Offset 14 is 0xfffffffe; the segment ends at 0x00000004.
    expect(s.r.firstBuffered).toBe(0xffff_fffe);
    expect(s.add(12, 'mnoX')).toBe(SEG_CONFLICT);
    expect(s.add(10, ALPHABET.slice(10, 14))).toBe(SEG_NEW);
    expect(s.r.next).toBe(0x0000_0004);
    expect(s.add(5, altered(5, 20))).toBe(SEG_CONFLICT);
    expect(s.add(5, ALPHABET.slice(5, 20))).toBe(SEG_DUPLICATE);
    expect(s.sink.text()).toBe(ALPHABET.slice(0, 20));

    function altered(a: number, b: number): string {
      return ALPHABET.slice(a, b - 1) + '#';
    }
  });

  it('acknowledges across the wrap point', () => {
    const s = new Stream(0xffff_fffc);
    s.add(0, 'abcdefgh');
    expect(s.r.retained).toBe(8);
    s.r.acknowledge(0x0000_0001);
    expect(s.r.retained).toBe(3);
    expect(s.add(0, 'abc')).toBe(SEG_OLD);
    expect(s.add(5, 'fgh')).toBe(SEG_DUPLICATE);
  });
});

describe('memory caps', () => {
  it('a retention ring is sized by what it retains and counted whole: 9 bytes take a ring of 64, not 4 KiB', () => {
    const s = new Stream(0);
    s.add(0, 'USER xy\r\n');
    expect(s.r.retained).toBe(9);
    expect(s.budget.rings).toBe(64 + RING_OVERHEAD);
    // What the engine's memcap counts: the ring, not the 9 bytes in it.
    expect(s.budget.held).toBe(64 + RING_OVERHEAD);
    s.r.acknowledge(9);
    expect(s.budget.rings).toBe(0);
    expect(s.budget.held).toBe(0);
  });

  it('a ring shrinks as acknowledgments release its bytes: never more than four times what stays retained', () => {
    const s = new Stream(0);
    const text = Buffer.alloc(20_000, 0x61);
    s.add(0, text);
    expect(s.budget.rings).toBe(32_768 + RING_OVERHEAD);
    // All but the last 100 bytes acknowledged: they keep a ring of 256, not of 32 KiB.
    s.r.acknowledge(19_900);
    expect(s.r.retained).toBe(100);
    expect(s.budget.rings).toBe(256 + RING_OVERHEAD);
    // What stayed is still compared: a retransmission of it is recognised, a rewrite refused.
    expect(s.add(19_950, text.subarray(19_950))).toBe(SEG_DUPLICATE);
    expect(s.add(19_950, Buffer.alloc(50, 0x62))).toBe(SEG_CONFLICT);
    s.r.clear();
    expect(s.budget.rings).toBe(0);
    expect(s.budget.used).toBe(0);
    expect(s.budget.retained).toBe(0);
  });

  it('refuses an out-of-order segment past maxBytes and keeps nothing of it', () => {
    const s = new Stream(0, { maxBytes: 100, maxSegments: 100 });
    for (let i = 0; i < 9; i++) expect(s.add(10 + i * 20, Buffer.alloc(10, i))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(90);
    expect(s.add(300, Buffer.alloc(11, 1))).toBe(SEG_MEMCAP);
    expect(s.r.lastNewBytes).toBe(0);
    expect(s.r.memory).toBe(90);
    expect(s.r.bufferedSegments).toBe(9);
    expect(s.add(300, Buffer.alloc(10, 1))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(100);
    // Filling a hole is new bytes too: refused.
    expect(s.add(20, Buffer.alloc(10, 1))).toBe(SEG_MEMCAP);
    expect(s.budget.used).toBe(100);
  });

  it('still delivers in-order data at the cap, and what it releases makes room', () => {
    const s = new Stream(0, { maxBytes: 30, maxSegments: 100 });
    const text = ALPHABET + ALPHABET;
    expect(s.add(10, text.slice(10, 40))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(30);
    expect(s.add(40, text.slice(40, 41))).toBe(SEG_MEMCAP);
    expect(s.add(0, text.slice(0, 10))).toBe(SEG_NEW);
    expect(s.sink.text()).toBe(text.slice(0, 40));
    expect(s.r.memory).toBe(30);
    expect(s.r.retained).toBe(30);
    expect(s.add(45, text.slice(45, 50))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(30);
    expect(s.r.retained).toBe(25);
  });

  it('refuses a segment past maxSegments, but takes one that replaces the segments it covers', () => {
    const s = new Stream(0, { maxBytes: 1000, maxSegments: 3 });
    const text = ALPHABET;
    for (const a of [2, 6, 10]) expect(s.add(a, text.slice(a, a + 2))).toBe(SEG_NEW);
    expect(s.add(20, 'u')).toBe(SEG_MEMCAP);
    expect(s.r.bufferedSegments).toBe(3);
    expect(s.add(5, text.slice(5, 9))).toBe(SEG_NEW);
    expect(s.r.bufferedSegments).toBe(3);
    expect(s.add(2, text.slice(2, 14))).toBe(SEG_NEW);
    expect(s.r.bufferedSegments).toBe(1);
    expect(s.add(20, 'u')).toBe(SEG_NEW);
    s.add(0, text);
    expect(s.sink.text()).toBe(text);
  });

  it('shares the global budget between streams, exactly, and gets it back on clear()', () => {
    const budget = new ReassemblyBudget(100);
    budget.used = 7; // held by some other part of the engine: must come back to 7
    const limits = { maxBytes: 80, maxSegments: 100 };
    const a = new Stream(0, limits, budget);
    const b = new Stream(0x8000_0000, limits, budget);
    expect(a.add(10, Buffer.alloc(60, 1))).toBe(SEG_NEW);
    expect(budget.used).toBe(67);
    expect(b.add(10, Buffer.alloc(34, 2))).toBe(SEG_MEMCAP);
    expect(b.r.memory).toBe(0);
    expect(b.add(10, Buffer.alloc(33, 2))).toBe(SEG_NEW);
    expect(budget.used).toBe(100);
    expect(budget.used).toBe(7 + a.r.memory + b.r.memory);
    // In-order data still flows when the budget is full; it just is not retained.
    expect(a.add(0, Buffer.alloc(10, 3))).toBe(SEG_NEW);
    expect(a.sink.end).toBe(70);
    expect(budget.used).toBe(7 + a.r.memory + b.r.memory);
    expect(budget.used).toBeLessThanOrEqual(100);
    a.r.clear();
    expect(budget.used).toBe(7 + b.r.memory);
    expect(b.add(50, Buffer.alloc(40, 2))).toBe(SEG_NEW);
    b.r.clear();
    expect(budget.used).toBe(7);
  });

  it('counts what each buffered piece costs beside its bytes (pieceBytes), against every cap, and gives it all back', () => {
    const budget = new ReassemblyBudget(1000);
    const s = new Stream(0, { maxBytes: 500, maxSegments: 100, pieceBytes: 100 }, budget);
    // Tiny out-of-order pieces past a hole at 0: 1 byte of data, 101 counted.
    expect(s.add(2, Buffer.alloc(1, 1))).toBe(SEG_NEW);
    expect(s.add(4, Buffer.alloc(1, 1))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(202);
    expect(budget.used).toBe(202);
    // One piece covering both and the holes between them replaces them: 5 bytes, one piece.
    expect(s.add(1, Buffer.alloc(5, 1))).toBe(SEG_NEW);
    expect(s.r.memory).toBe(105);
    // maxBytes 500 holds four such pieces, not 500 bytes of them.
    for (let off = 10; off < 20; off += 2) s.add(off, Buffer.alloc(1, 1));
    expect(s.r.memory).toBeLessThanOrEqual(500);
    expect(s.r.bufferedSegments).toBe(4);
    // Delivered (the same bytes: a conflicting overlap is another matter): the pieces' cost
    // comes back, only retained bytes stay.
    expect(s.add(0, Buffer.alloc(30, 1))).toBe(SEG_NEW);
    expect(s.r.bufferedSegments).toBe(0);
    expect(s.r.memory).toBe(s.r.retained);
    expect(budget.used).toBe(s.r.retained);
  });

  it('gives up retained bytes for out-of-order data under the global budget', () => {
    const budget = new ReassemblyBudget(50);
    const s = new Stream(0, { maxBytes: 1000, maxSegments: 100 }, budget);
    s.add(0, ALPHABET.slice(0, 20));
    expect(s.r.retained).toBe(20);
    expect(s.add(30, Buffer.alloc(40, 1))).toBe(SEG_NEW);
    expect(s.r.retained).toBe(10);
    expect(budget.used).toBe(50);
    expect(s.add(0, 'abc')).toBe(SEG_OLD);
    expect(s.add(12, 'mn')).toBe(SEG_DUPLICATE);
    expect(s.add(12, 'mX')).toBe(SEG_CONFLICT);
  });

  it('keeps every cap under random load with small limits, and the bytes delivered true', () => {
    const rng = new Prng(99);
    for (let run = 0; run < 300; run++) {
      const budget = new ReassemblyBudget(rng.int(0, 3000));
      const limits = { maxBytes: rng.int(0, 2000), maxSegments: rng.int(0, 8) };
      const streams = Array.from({ length: 3 }, () => {
        const length = rng.int(1, 3000);
        return { s: new Stream(rng.u32(), limits, budget), data: randomBytes(rng, length) };
      });
      for (let op = 0; op < 200; op++) {
        const { s, data } = streams[rng.int(0, 2)] as (typeof streams)[number];
        const roll = rng.float();
        if (roll < 0.05) {
          s.ack(rng.int(0, s.r.delivered + 10));
        } else if (roll < 0.08) {
          const to = s.r.firstBuffered === -1 ? s.r.delivered + rng.int(0, 50) : rng.int(s.r.delivered, s.r.delivered + 100);
          const skipped = s.skipTo(Math.min(to, data.length));
          expect(skipped).toBeGreaterThanOrEqual(0);
        } else {
          const near = rng.chance(0.5) ? s.r.delivered : rng.int(0, data.length - 1);
          const at = Math.max(0, Math.min(data.length - 1, near + rng.int(-100, 300)));
          const len = rng.int(0, Math.min(data.length - at, 200));
          const result = s.add(at, data.subarray(at, at + len));
          if (result === SEG_CONFLICT || result === SEG_OUT_OF_WINDOW) expect.fail(`run ${run} op ${op}: result ${result}`);
        }
        const sum = streams.reduce((total, x) => total + x.s.r.memory, 0);
        if (s.r.memory > limits.maxBytes || s.r.bufferedSegments > limits.maxSegments || budget.used !== sum || budget.used > budget.cap) {
          const held = `memory ${s.r.memory}/${limits.maxBytes}, segments ${s.r.bufferedSegments}/${limits.maxSegments}`;
          expect.fail(`run ${run} op ${op}: ${held}, budget ${budget.used}/${budget.cap} (streams hold ${sum})`);
        }
      }
      for (const { s, data } of streams) {
        // Offsets are true stream positions even across skipped holes.
        for (const c of s.sink.chunks) expect(c.bytes.equals(data.subarray(c.offset, c.offset + c.bytes.length))).toBe(true);
        s.r.clear();
      }
      expect(budget.used).toBe(0);
    }
  });
});

describe('acknowledge', () => {
  it('releases retained bytes before the ack; their retransmission is then SEG_OLD', () => {
    const s = new Stream();
    s.add(0, ALPHABET);
    expect(s.r.retained).toBe(26);
    s.ack(10);
    expect(s.r.retained).toBe(16);
    expect(s.budget.used).toBe(16);
    expect(s.add(0, 'abcdefghij')).toBe(SEG_OLD);
    expect(s.add(0, 'XXXXXXXXXX')).toBe(SEG_OLD);
    // Starting before the retained bytes: the rest still compared.
    expect(s.add(5, 'fghijklm')).toBe(SEG_OLD);
    expect(s.add(5, 'fghijkXm')).toBe(SEG_CONFLICT);
    expect(s.add(10, 'klm')).toBe(SEG_DUPLICATE);
    expect(s.add(20, 'uvwxyz!')).toBe(SEG_NEW);
    expect(s.add(8, 'ijklmnopqrstuvwxyz!?')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(1);
    expect(s.sink.text()).toBe(`${ALPHABET}!?`);
  });

  it('ignores acks behind the retained bytes or far ahead; an ack a little past next releases all', () => {
    const s = new Stream(0x1000);
    s.add(0, ALPHABET);
    s.ack(20);
    s.ack(10);
    expect(s.r.retained).toBe(6);
    s.r.acknowledge(seqAdd(s.r.next, 0x4000_0001));
    expect(s.r.retained).toBe(6);
    s.r.acknowledge(seqAdd(s.r.next, 0x8000_0000));
    expect(s.r.retained).toBe(6);
    s.ack(30);
    expect(s.r.retained).toBe(0);
    expect(s.budget.used).toBe(0);
  });

  it('leaves buffered data alone', () => {
    const s = new Stream();
    s.add(0, 'abc');
    s.add(5, 'fg');
    s.ack(7);
    expect(s.r.memory).toBe(2);
    expect(s.r.bufferedSegments).toBe(1);
    s.add(3, 'de');
    expect(s.sink.text()).toBe('abcdefg');
  });

  it('is a no-op before init', () => {
    const r = new StreamReassembler(roomy, new ReassemblyBudget(10));
    r.acknowledge(5);
    expect(r.memory).toBe(0);
  });

  it('keeps at most maxBytes retained, releasing the oldest first', () => {
    const s = new Stream(0, { maxBytes: 10, maxSegments: 4 });
    s.add(0, ALPHABET.slice(0, 7));
    s.add(7, ALPHABET.slice(7, 19));
    expect(s.r.retained).toBe(10);
    expect(s.add(8, 'i')).toBe(SEG_OLD);
    expect(s.add(9, 'j')).toBe(SEG_DUPLICATE);
    expect(s.add(18, 'X')).toBe(SEG_CONFLICT);
    // Past the ring's end and back to its start, many times.
    for (let at = 19; at < 200; at += 3) s.add(at, Buffer.from([at & 0xff, (at + 1) & 0xff, (at + 2) & 0xff]));
    expect(s.r.retained).toBe(10);
    expect(s.add(195, Buffer.from([195, 196, 197, 198, 199, 200, 201]))).toBe(SEG_DUPLICATE);
    expect(s.add(195, Buffer.from([195, 196, 197, 198, 199, 200, 0]))).toBe(SEG_CONFLICT);
  });

  it('compares retransmissions against a ring that wrapped and grew', () => {
    const rng = new Prng(5);
    const stream = randomBytes(rng, 200_000);
    const s = new Stream(0xffff_0000, { maxBytes: 50_000, maxSegments: 4 });
    let at = 0;
    while (at < stream.length) {
      const len = Math.min(stream.length - at, rng.int(1, 3000));
      expect(s.add(at, stream.subarray(at, at + len))).toBe(SEG_NEW);
      at += len;
      if (rng.chance(0.3)) s.ack(at - rng.int(0, 20_000));
      const from = Math.max(s.r.delivered - s.r.retained, at - rng.int(1, 30_000));
      const copy = Buffer.from(stream.subarray(from, at));
      expect(s.add(from, copy)).toBe(SEG_DUPLICATE);
      const i = rng.int(0, copy.length - 1);
      copy[i] = (copy[i] as number) ^ 0x40;
      expect(s.add(from, copy)).toBe(SEG_CONFLICT);
    }
    expect(s.sink.bytes().equals(stream)).toBe(true);
  });
});

describe('skipTo', () => {
  it('skips a hole up to the first buffered segment and delivers it at its true offset', () => {
    const s = new Stream(0xffff_fff0);
    s.add(0, ALPHABET.slice(0, 10));
    s.add(20, ALPHABET.slice(20, 26));
    expect(s.r.firstBuffered).toBe(seqAdd(0xffff_fff0, 20));
    expect(s.r.skipTo(s.r.firstBuffered, s.sink)).toBe(10);
    expect(s.sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([
      [0, 'abcdefghij'],
      [20, 'uvwxyz'],
    ]);
    expect(s.r.delivered).toBe(26);
    expect(s.r.next).toBe(seqAdd(0xffff_fff0, 26));
    expect(s.r.memory).toBe(6);
    expect(s.add(26, '!')).toBe(SEG_NEW);
    expect(s.sink.chunks.at(-1)?.offset).toBe(26);
  });

  it('delivers the buffered bytes before the target, skipping only the holes between', () => {
    const s = new Stream();
    s.add(20, ALPHABET.slice(20, 23));
    s.add(30, 'XYZ');
    s.add(40, '123');
    expect(s.skipTo(35)).toBe(20 + 7 + 2);
    expect(s.sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([
      [20, 'uvw'],
      [30, 'XYZ'],
    ]);
    expect(s.r.delivered).toBe(35);
    expect(s.r.firstBuffered).toBe(s.seq(40));
    expect(s.skipTo(40)).toBe(5);
    expect(s.r.delivered).toBe(43);
    expect(s.r.bufferedSegments).toBe(0);
    expect(s.budget.used).toBe(s.r.memory);
  });

  it('delivers a buffered segment the target falls inside', () => {
    const s = new Stream();
    s.add(10, '0123456789');
    expect(s.skipTo(15)).toBe(10);
    expect(s.r.delivered).toBe(20);
    expect(s.sink.chunks.map((c) => c.offset)).toEqual([10]);
  });

  it('does nothing for a target at or behind next', () => {
    const s = new Stream();
    s.add(0, 'abc');
    expect(s.skipTo(3)).toBe(0);
    expect(s.skipTo(1)).toBe(0);
    expect(s.r.delivered).toBe(3);
    expect(new StreamReassembler(roomy, new ReassemblyBudget(1)).skipTo(5, s.sink)).toBe(0);
  });

  it('makes a late copy of skipped or earlier bytes SEG_OLD, and retains from there on', () => {
    const s = new Stream();
    s.add(0, 'abc');
    expect(s.skipTo(5)).toBe(2);
    expect(s.r.retained).toBe(0);
    expect(s.add(3, 'de')).toBe(SEG_OLD);
    expect(s.add(0, 'abc')).toBe(SEG_OLD);
    // Its bytes before next cannot be compared any more; the new ones are taken.
    expect(s.add(2, 'cdefg')).toBe(SEG_NEW);
    expect(s.r.lastNewBytes).toBe(2);
    expect(s.add(5, 'fX')).toBe(SEG_CONFLICT);
    expect(s.add(5, 'fg')).toBe(SEG_DUPLICATE);
    expect(s.sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([
      [0, 'abc'],
      [5, 'fg'],
    ]);
  });
});

describe('window', () => {
  it('buffers a segment starting up to `window` bytes past next, not further', () => {
    const s = new Stream();
    s.add(0, 'abc');
    expect(s.add(3 + 100, 'x', 100)).toBe(SEG_NEW);
    expect(s.add(3 + 101, 'y', 100)).toBe(SEG_OUT_OF_WINDOW);
    expect(s.r.lastNewBytes).toBe(0);
    expect(s.r.bufferedSegments).toBe(1);
    // In-order data is never out of window, even with a zero window.
    expect(s.add(2, 'cd', 0)).toBe(SEG_NEW);
  });

  it('defaults to 2^30', () => {
    const s = new Stream(0);
    expect(s.add(0x4000_0000, 'x')).toBe(SEG_NEW);
    expect(s.add(0x4000_0001, 'y')).toBe(SEG_OUT_OF_WINDOW);
  });
});

describe('clear and init', () => {
  it('returns every byte to the budget and starts again', () => {
    const s = new Stream(5);
    s.add(0, 'abc');
    s.add(10, 'klm');
    expect(s.budget.used).toBe(6);
    s.r.clear();
    expect(s.budget.used).toBe(0);
    expect([s.r.initialized, s.r.memory, s.r.bufferedSegments, s.r.firstBuffered]).toEqual([false, 0, 0, -1]);
    s.r.init(500);
    const sink = new Collector();
    expect(s.r.add(500, Buffer.from('new'), sink)).toBe(SEG_NEW);
    expect(sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([[0, 'new']]);
    expect(s.r.next).toBe(503);
  });

  it('init() on a running stream releases what it held', () => {
    const s = new Stream(5);
    s.add(10, 'klm');
    s.r.init(7);
    expect(s.budget.used).toBe(0);
    expect(s.r.delivered).toBe(0);
    expect(s.r.next).toBe(7);
  });

  it('stops delivering when the sink clears the stream', () => {
    const budget = new ReassemblyBudget(1000);
    const r = new StreamReassembler(roomy, budget);
    const seen: string[] = [];
    const sink: StreamSink = {
      data(chunk) {
        seen.push(chunk.toString());
        if (chunk.toString() === 'abcd') r.clear();
      },
    };
    r.init(0);
    r.add(4, Buffer.from('ef'), sink);
    r.add(8, Buffer.from('ij'), sink);
    r.add(0, Buffer.from('abcd'), sink);
    expect(seen).toEqual(['abcd']);
    expect(budget.used).toBe(0);
    expect(r.initialized).toBe(false);
  });

  it('is consistent when the sink throws', () => {
    const s = new Stream(0);
    s.add(3, 'def');
    const r = s.r;
    expect(() =>
      r.add(0, Buffer.from('abc'), {
        data() {
          throw new Error('rule failed');
        },
      }),
    ).toThrow('rule failed');
    expect(r.delivered).toBe(3);
    expect(r.bufferedSegments).toBe(1);
    s.add(6, 'g');
    expect(s.sink.chunks.map((c) => [c.offset, c.bytes.toString()])).toEqual([
      [3, 'def'],
      [6, 'g'],
    ]);
    expect(s.budget.used).toBe(r.memory);
  });
});
