import { describe, expect, it } from 'vitest';
import { ACCEPT, DROP } from '../../dissectors/verdict.ts';
import { HELD, NF_ACCEPT, NF_DROP, netfilterVerdict, SENT, slotVerdict, verdictSlot } from '../../core/io/nfqueue/verdicts.ts';

describe("netfilter's verdict numbers", () => {
  it("are linux/netfilter.h's: NF_DROP 0, NF_ACCEPT 1", () => {
    expect(NF_DROP).toBe(0);
    expect(NF_ACCEPT).toBe(1);
  });

  it("palisade's ACCEPT becomes NF_ACCEPT (1) and DROP becomes NF_DROP (0)", () => {
    expect(netfilterVerdict(ACCEPT)).toBe(NF_ACCEPT);
    expect(netfilterVerdict(ACCEPT)).toBe(1);
    expect(netfilterVerdict(DROP)).toBe(NF_DROP);
    expect(netfilterVerdict(DROP)).toBe(0);
  });

  it('a verdict slot gives back the verdict put in it, and is neither HELD nor SENT', () => {
    for (const nf of [NF_DROP, NF_ACCEPT]) {
      const slot = verdictSlot(nf);
      expect(slotVerdict(slot)).toBe(nf);
      expect(slot).not.toBe(HELD);
      expect(slot).not.toBe(SENT);
      // The batch keeps its slots in a Uint8Array.
      expect(Uint8Array.of(slot)[0]).toBe(slot);
    }
    expect(verdictSlot(NF_ACCEPT)).not.toBe(verdictSlot(NF_DROP));
    expect(Uint8Array.of(SENT)[0]).toBe(SENT);
  });
});
