/** Drop reasons, traces and alert actions are typed for whoever reads them: a misspelt kind or step is an error. */
import { expectTypeOf, it } from 'vitest';
import { createEngine, defineRules, type AlertAction, type AlertRecord, type DropKind, type DropReason, type FrameTrace, type TraceStep } from 'palisade';
import { replay } from 'palisade/testing';

it('output.drop gets the reason, replay() the reasons by frame', async () => {
  const rules = defineRules(() => undefined);
  createEngine({
    rules,
    output: {
      forward: () => undefined,
      drop: (id, reason) => {
        expectTypeOf(id).toEqualTypeOf<number>();
        expectTypeOf(reason).toEqualTypeOf<DropReason>();
        expectTypeOf(reason.kind).toEqualTypeOf<DropKind>();
        // @ts-expect-error: not a kind of drop reason
        if (reason.kind === 'firewall') return;
      },
      hold: (id) => expectTypeOf(id).toEqualTypeOf<number>(),
    },
  });
  const r = await replay({ rules, packets: [] });
  expectTypeOf(r.reasons).toEqualTypeOf<Map<number, DropReason>>();
  expectTypeOf<DropReason['action']>().toEqualTypeOf<'drop' | 'reset' | 'halfreset' | undefined>();
});

it('a trace narrows by step; an alert says what was done', () => {
  const show = (t: FrameTrace): string => {
    expectTypeOf(t.verdict).toEqualTypeOf<'accept' | 'drop' | 'pending'>();
    return t.steps
      .map((s: TraceStep) => {
        if (s.step === 'rule') return `${s.rule} ${s.micros}`;
        if (s.step === 'flow') return `${s.client} ${s.flow}`;
        // @ts-expect-error: a layer step has no micros
        if (s.step === 'layer') return String(s.micros);
        return s.step;
      })
      .join();
  };
  expectTypeOf(show).returns.toEqualTypeOf<string>();
  expectTypeOf<AlertRecord['action']>().toEqualTypeOf<AlertAction>();
  expectTypeOf<AlertAction>().toEqualTypeOf<'allowed' | 'blocked' | 'held'>();
});
