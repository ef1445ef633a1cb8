/**
 * The fuzz slice of every `npm test` (and so of CI): a fixed, seeded run of the harness, which
 * must find nothing; and the harness's own checks, so that a slice finding nothing means
 * something: it reports a hang, a rule error and a crash when there is one, and the same seed
 * makes the same inputs. `npm run fuzz -- --seconds N` runs it longer, from any seed.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { defineRules, tcpConnection } from '../../index.ts';
import { loadSeeds } from './corpus.ts';
import { fuzz } from './harness.ts';
import { makeInput, strategies } from './mutate.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** About 40 s on the CI machine. */
const SLICE = 4000;

describe('fuzz', () => {
  it(`a seeded slice of ${SLICE} mutated captures: no crash, hang, rule error or leak`, async () => {
    const report = await fuzz({ root, seed: 20261203, inputs: SLICE, heapLimitMb: 512 });
    expect(report.findings).toEqual([]);
    expect(report.inputs).toBe(SLICE);
    for (const s of strategies) expect(report.byStrategy[s], s).toBeGreaterThan(SLICE / 10);
    // Most inputs get through the readers to the engine.
    expect(report.captureErrors).toBeLessThan(SLICE / 2);
    expect(report.packets).toBeGreaterThan(SLICE * 10);
  }, 300_000);

  it('the same seed and number make the same input, another seed another', () => {
    const seeds = loadSeeds(root);
    expect(seeds.length).toBeGreaterThan(20);
    for (let n = 0; n < 50; n++) {
      const a = makeInput(seeds, 5, n);
      expect(makeInput(seeds, 5, n).pcap.equals(a.pcap)).toBe(true);
      expect(a.seed).toMatch(new RegExp(` 5:${n}$`));
    }
    expect(Array.from({ length: 20 }, (_, n) => makeInput(seeds, 6, n).pcap.equals(makeInput(seeds, 5, n).pcap)).every(Boolean)).toBe(false);
  });

  it('reports a rule that never returns as a hang and a throwing rule as a rule error, naming the input', async () => {
    let packets = 0;
    const spins = defineRules(({ rule }) => {
      rule({
        name: 'spin-on-fifth',
        on: tcpConnection.events.receivePacket,
        eval: () => {
          if (++packets === 5) for (;;) Math.random();
        },
      });
    });
    const hang = await fuzz({ root, seed: 1, inputs: 40, rules: spins, timeoutMs: 100 });
    expect(hang.findings.filter((f) => f.kind === 'hang')).toHaveLength(1);
    expect(hang.findings[0]?.message).toMatch(/PAL_ERR_RULE_TIMEOUT|spin-on-fifth/);
    expect(hang.findings[0]?.input).toMatch(/ \w+ 1:\d+$/);

    const throws = defineRules(({ rule }) => {
      rule({
        name: 'throws',
        on: tcpConnection.events.newConnection,
        eval: () => {
          throw new Error('boom');
        },
      });
    });
    const errors = await fuzz({ root, seed: 1, inputs: 20, rules: throws });
    expect(errors.findings.length).toBeGreaterThan(0);
    expect(errors.findings.every((f) => f.kind === 'rule-error')).toBe(true);
  }, 60_000);
});
