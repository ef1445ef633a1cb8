/**
 * Which netlink messages carry one batch's verdicts. NFQNL_MSG_VERDICT_BATCH gives its verdict to
 * every packet still queued with an id up to its own, so it may stand for a run of packets only
 * when nothing older is still waiting: a packet held by a streamed rule (from this batch or an
 * earlier one) must not be swept up with the accepts after it. So:
 * - verdicts for packets of earlier batches (released holds) go first, one message each;
 * - then, while no held packet is older, each run of equal verdicts in the batch is one batch
 *   message (its last id);
 * - from the first held packet on, one message per packet.
 */
import { HELD, SENT, slotVerdict } from './verdicts.ts';

/** Message kinds, as the addon reads them. */
export const VERDICT_SINGLE = 0;
export const VERDICT_BATCH = 1;

export interface VerdictPlanInput {
  /** The batch's packet ids, in the order the kernel queued them. */
  readonly ids: Uint32Array;
  /** For each, its slot (verdicts.ts): HELD, SENT or a netfilter verdict's verdictSlot(). */
  readonly verdicts: Uint8Array;
  readonly count: number;
  /** Verdicts for packets of earlier batches, as (id, netfilter verdict) pairs. */
  readonly late: Uint32Array;
  readonly lateCount: number;
  /** Packets of earlier batches still held after the late verdicts are sent. */
  readonly olderHeld: number;
}

/**
 * Writes (kind, id, verdict) triples to `out` and returns how many. `out` must hold
 * 3 × (lateCount + count) numbers.
 */
export function planVerdicts(input: VerdictPlanInput, out: Uint32Array): number {
  let n = 0;
  const { ids, verdicts, count, late, lateCount } = input;
  for (let i = 0; i < lateCount; i++) {
    out[n * 3] = VERDICT_SINGLE;
    out[n * 3 + 1] = late[i * 2] as number;
    out[n * 3 + 2] = late[i * 2 + 1] as number;
    n++;
  }
  let i = 0;
  if (input.olderHeld === 0) {
    // Runs of one verdict, up to the first held packet.
    while (i < count) {
      const v = verdicts[i] as number;
      if (v === HELD) break;
      if (v === SENT) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < count && (verdicts[j + 1] === v || verdicts[j + 1] === SENT)) j++;
      out[n * 3] = i === j ? VERDICT_SINGLE : VERDICT_BATCH;
      out[n * 3 + 1] = ids[j] as number;
      out[n * 3 + 2] = slotVerdict(v);
      n++;
      i = j + 1;
    }
  }
  for (; i < count; i++) {
    const v = verdicts[i] as number;
    if (v === HELD || v === SENT) continue;
    out[n * 3] = VERDICT_SINGLE;
    out[n * 3 + 1] = ids[i] as number;
    out[n * 3 + 2] = slotVerdict(v);
    n++;
  }
  return n;
}
