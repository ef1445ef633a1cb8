// --trace: what the engine did with a frame, in order, and its verdict with the reason; and
// tracing never changes a verdict.
import { describe, expect, it } from 'vitest';
import { defineRules, tcp, tcpConnection } from 'palisade';
import { replay, tcpSession } from 'palisade/testing';
import type { FrameTrace } from 'palisade';

const steps = (t: FrameTrace | undefined, step: string) => (t?.steps ?? []).filter((s) => s.step === step);

describe('frame traces', () => {
  const rules = defineRules(({ rule }) => {
    rule({ name: 'see-syn', on: tcp.events.receivePacket, eval: (pkt) => pkt.flags.syn });
    rule({
      name: 'no-evil',
      on: tcpConnection.events.receiveData,
      eval: (flow, data) => {
        if (data.includes('evil')) flow.reset();
      },
    });
  });
  // 1-3 handshake, 4 hello, 5 its ACK, 6 evil.
  const frames = tcpSession().handshake().send('up', 'hello').send('up', 'evil').frames();

  it('an accepted frame: the layers, the flow joined, each event and rule run, the verdict', async () => {
    const traces: FrameTrace[] = [];
    await replay({ rules, packets: frames, trace: { frames: (f) => f === 1 || f === 4, onFrame: (t) => traces.push(t) } });
    expect(traces.map((t) => t.frame)).toEqual([1, 4]);
    const [syn, hello] = traces;
    expect(syn).toMatchObject({ type: 'trace', frame: 1, verdict: 'accept' });
    expect(syn?.reason).toBeUndefined();
    expect(steps(syn, 'layer').map((s) => (s as { layer: string }).layer)).toEqual(['link', 'ipv4', 'tcp']);
    expect(steps(syn, 'layer')[2]).toMatchObject({ summary: expect.stringContaining('40000 > 80 [S]') as string });
    expect(steps(syn, 'flow')).toEqual([{ step: 'flow', proto: 'tcp', flow: 1, client: '192.168.10.10:40000', server: '192.168.20.80:80', new: true, state: 'syn-sent' }]);
    // The events some rule listens to (newConnection has none here: it is not raised).
    expect(steps(syn, 'event').map((s) => (s as { event: string }).event)).toEqual(['tcp.receivePacket']);
    expect(steps(syn, 'rule')).toMatchObject([{ rule: 'see-syn', result: 'true' }]);
    expect(steps(hello, 'event')).toContainEqual({ step: 'event', event: 'tcpConnection.receiveData', args: 'flow 1, 5 bytes, up, 0' });
    expect(steps(hello, 'rule')).toContainEqual(expect.objectContaining({ rule: 'no-evil', result: 'undefined' }));
    for (const s of steps(hello, 'rule')) expect((s as { micros: number }).micros).toBeGreaterThanOrEqual(0);
  });

  it('a dropped frame: the rule that dropped it, and the reason', async () => {
    const traces: FrameTrace[] = [];
    await replay({ rules, packets: frames, trace: { frames: (f) => f === 6, onFrame: (t) => traces.push(t) } });
    const [evil] = traces;
    expect(evil).toMatchObject({ frame: 6, verdict: 'drop', reason: { kind: 'flow-action', action: 'reset', rule: 'no-evil', frame: 6 } });
    expect(steps(evil, 'flow-after')).toEqual([{ step: 'flow-after', flow: 1, state: 'established', ended: 'rst' }]);
  });

  it('a held frame: held for a streamed rule, then released with its verdict', async () => {
    const streamed = defineRules(({ rule }) => {
      rule({
        name: 'reads-lines',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream) => {
          while ((await stream.read(6)) !== null) {
            // reads 6 bytes at a time: 'hello ' then 'world!'
          }
        },
      });
    });
    const f = tcpSession().handshake().send('up', 'hel').send('up', 'lo wor').send('up', 'ld!').frames();
    const traces: FrameTrace[] = [];
    const r = await replay({ rules: streamed, packets: f, trace: { frames: (n) => n === 4, onFrame: (t) => traces.push(t) } });
    const [held] = traces;
    expect(held).toMatchObject({ frame: 4, verdict: 'accept' });
    const kinds = held?.steps.map((s) => s.step);
    expect(kinds).toContain('stream');
    expect(kinds).toContain('held');
    // Released between packets, once the streamed rule's first read (6 bytes) had what it asked for.
    expect(steps(held, 'released')).toEqual([{ step: 'released', during: 0, rule: 'reads-lines' }]);
    expect(kinds?.indexOf('held')).toBeLessThan(kinds?.indexOf('released') ?? -1);
    expect(r.verdicts.get(4)).toBe('accept');
  });

  it('never changes a verdict, an alert or a flow record', async () => {
    const mixed = defineRules(({ rule, alert }) => {
      rule({
        name: 'flag-evil',
        on: tcpConnection.events.receiveData,
        eval: (flow, data) => {
          if (data.includes('evil')) {
            alert({ description: 'evil' });
            flow.reset();
          }
        },
      });
    });
    const plain = await replay({ rules: mixed, packets: frames });
    const traced = await replay({ rules: mixed, packets: frames, trace: { onFrame: () => undefined } });
    expect(traced.verdicts).toEqual(plain.verdicts);
    expect(traced.reasons).toEqual(plain.reasons);
    expect(traced.alerts).toEqual(plain.alerts);
    expect(traced.flows).toEqual(plain.flows);
    expect(traced.output.map((o) => o.bytes)).toEqual(plain.output.map((o) => o.bytes));
  });
});
