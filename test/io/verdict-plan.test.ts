import { describe, expect, it } from 'vitest';
import { planVerdicts, VERDICT_BATCH, VERDICT_SINGLE } from '../../core/io/nfqueue/verdict-plan.ts';
import { HELD, NF_ACCEPT, NF_DROP, SENT, verdictSlot } from '../../core/io/nfqueue/verdicts.ts';

const A = verdictSlot(NF_ACCEPT);
const D = verdictSlot(NF_DROP);
const H = HELD;
const S = SENT;

/** Plans a batch of consecutive ids from `first`, and returns the messages as readable tuples. */
function plan(first: number, verdicts: number[], late: [number, number][] = [], olderHeld = 0): [string, number, string][] {
  const ids = Uint32Array.from(verdicts.map((_, i) => first + i));
  const out = new Uint32Array(3 * (verdicts.length + late.length));
  const n = planVerdicts(
    { ids, verdicts: Uint8Array.from(verdicts), count: verdicts.length, late: Uint32Array.from(late.flat()), lateCount: late.length, olderHeld },
    out,
  );
  const msgs: [string, number, string][] = [];
  for (let i = 0; i < n; i++) {
    msgs.push([out[i * 3] === VERDICT_BATCH ? 'batch' : out[i * 3] === VERDICT_SINGLE ? 'single' : '?', out[i * 3 + 1] as number, out[i * 3 + 2] === NF_ACCEPT ? 'accept' : out[i * 3 + 2] === NF_DROP ? 'drop' : '?']);
  }
  return msgs;
}

describe('verdict planning for NFQUEUE batches', () => {
  it('a batch of accepts is one batch verdict naming its last id', () => {
    expect(plan(10, [A, A, A, A])).toEqual([['batch', 13, 'accept']]);
  });

  it('a drop splits the run: accepts before it, the drop, accepts after it', () => {
    expect(plan(1, [A, A, D, A, A])).toEqual([
      ['batch', 2, 'accept'],
      ['single', 3, 'drop'],
      ['batch', 5, 'accept'],
    ]);
    expect(plan(1, [D, D, A])).toEqual([
      ['batch', 2, 'drop'],
      ['single', 3, 'accept'],
    ]);
  });

  it('a packet whose verdict left on its own (rewritten) gets no message; a batch may pass over it', () => {
    expect(plan(1, [A, S, A, A])).toEqual([['batch', 4, 'accept']]);
    expect(plan(1, [S, A, A])).toEqual([['batch', 3, 'accept']]);
    expect(plan(1, [A, A, S])).toEqual([['batch', 3, 'accept']]);
    expect(plan(1, [S])).toEqual([]);
    // After a held packet, one message per packet, none for it.
    expect(plan(1, [H, S, D])).toEqual([['single', 3, 'drop']]);
  });

  it('a held packet stops batching: a batch verdict after it would accept it too', () => {
    expect(plan(1, [A, A, H, A, A, D])).toEqual([
      ['batch', 2, 'accept'],
      ['single', 4, 'accept'],
      ['single', 5, 'accept'],
      ['single', 6, 'drop'],
    ]);
  });

  it('a packet held from an earlier batch makes every verdict of this one single', () => {
    expect(plan(20, [A, A, A], [], 1)).toEqual([
      ['single', 20, 'accept'],
      ['single', 21, 'accept'],
      ['single', 22, 'accept'],
    ]);
  });

  it('released holds go first, one message each; once none is left the batch is batched again', () => {
    expect(plan(30, [A, A, A], [[7, NF_ACCEPT], [9, NF_DROP]], 0)).toEqual([
      ['single', 7, 'accept'],
      ['single', 9, 'drop'],
      ['batch', 32, 'accept'],
    ]);
  });

  it('an empty batch with late verdicts only, and a batch that holds everything', () => {
    expect(plan(1, [], [[5, NF_ACCEPT]])).toEqual([['single', 5, 'accept']]);
    expect(plan(1, [H, H])).toEqual([]);
  });

  it('ids that wrap past 2^32 are planned as they come', () => {
    expect(plan(0xffffffff, [A, A])).toEqual([['batch', 0, 'accept']]);
  });
});
