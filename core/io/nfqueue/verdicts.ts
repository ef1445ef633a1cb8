/**
 * Netfilter's verdict numbers, and how a batch's verdict slots hold them: the one place inline
 * code spells them. palisade's own verdicts (ACCEPT, DROP) are dissectors/verdict.ts's; they
 * become netfilter's here, at the queue.
 */
import { ACCEPT, type DROP } from '../../../dissectors/verdict.ts';

/** linux/netfilter.h: `#define NF_DROP 0`, `#define NF_ACCEPT 1`. */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** A verdict a queued packet can get from palisade: a held frame has none yet. */
export type FinalVerdict = typeof ACCEPT | typeof DROP;

/** Netfilter's number for palisade's verdict. */
export function netfilterVerdict(verdict: FinalVerdict): number {
  return verdict === ACCEPT ? NF_ACCEPT : NF_DROP;
}

/**
 * A batch packet's verdict slot (a u8, verdict-plan.ts): HELD while it has none, SENT once it left
 * in a message of its own (a packet palisade rewrote), else netfilter's verdict + 1.
 */
export const HELD = 0;
/** Nothing is sent for it, and a batch message may pass over it (it is no longer queued). */
export const SENT = 255;

/** The slot for netfilter verdict `nf`. */
export function verdictSlot(nf: number): number {
  return nf + 1;
}

/** The netfilter verdict in a slot that is neither HELD nor SENT. */
export function slotVerdict(slot: number): number {
  return slot - 1;
}
