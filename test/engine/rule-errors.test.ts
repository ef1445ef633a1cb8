import { describe, expect, it } from 'vitest';
import { defineRules, tcp, tcpConnection } from 'palisade';
import { ethernet, replay, tcpSegment, tcpSession } from 'palisade/testing';

const seg = (dstport: number) => ethernet(tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport, flags: 'S' }));

const throwing = (after: string[]) =>
  defineRules(({ rule }) => {
    rule({
      name: 'broken',
      on: tcp.events.receivePacket,
      eval: (pkt) => {
        if (pkt.dstport === 22) throw new Error('boom on 22');
      },
    });
    rule({ name: 'next', on: tcp.events.receivePacket, eval: (pkt) => after.push(`next ${pkt.dstport}`) });
  });

describe('a rule that throws', () => {
  it('is isolated: logged with its name, counted, alerted; the packet is dropped (fail-closed default)', async () => {
    const after: string[] = [];
    const r = await replay({ rules: throwing(after), packets: [seg(22), seg(80)] });
    expect(r.stats.ruleErrors).toBe(1);
    expect(r.alerts).toMatchObject([{ rule: 'broken', description: 'rule error: boom on 22', error: 'boom on 22', packet: 1 }]);
    expect(r.logs).toEqual(
      expect.arrayContaining([expect.objectContaining({ level: 'error', rule: 'broken', msg: expect.stringContaining('boom on 22') as string })]),
    );
    // Dropped: later listeners skip it (Haka). The next packet is handled normally.
    expect(r.dropped).toEqual([1]);
    expect(after).toEqual(['next 80']);
  });

  it('with ruleErrorPolicy accept, the packet passes and the next rule still runs', async () => {
    const after: string[] = [];
    const r = await replay({ rules: throwing(after), packets: [seg(22)], config: { ruleErrorPolicy: 'accept' } });
    expect(r.dropped).toEqual([]);
    expect(after).toEqual(['next 22']);
    expect(r.stats.ruleErrors).toBe(1);
  });

  it('whatever it throws (no toString, a message getter that throws, undefined) is a counted rule error, never a crash', async () => {
    const hostile = new Error('unused');
    Object.defineProperty(hostile, 'message', {
      get: () => {
        throw new Error('the message getter throws');
      },
    });
    const values: unknown[] = [Object.create(null), hostile, undefined, 42, 'plain string'];
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'hostile',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          throw values[pkt.dstport - 1];
        },
      });
    });
    const r = await replay({ rules, packets: values.map((_, i) => seg(i + 1)) });
    expect(r.stats.ruleErrors).toBe(values.length);
    expect(r.dropped).toEqual([1, 2, 3, 4, 5]);
    expect(r.alerts.map((a) => a.description)).toEqual([
      'rule error: [object Object]',
      'rule error: [object Error]',
      'rule error: undefined',
      'rule error: 42',
      'rule error: plain string',
    ]);
  });

  it('an async eval on a plain event that rejects is a counted rule error and drops its flow (drop policy), not an unhandled rejection', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'async-check',
        on: tcpConnection.events.receivePacket,
        eval: async (flow, pkt) => {
          await Promise.resolve();
          if (pkt.payload.includes('bad')) throw new Error(`async rule failed on flow ${flow.id}`);
        },
      });
    });
    const packets = tcpSession({ server: '192.168.20.80:80' }).handshake().send('up', 'bad request\n').send('up', 'more\n').send('down', 'answer\n').frames();
    const r = await replay({ rules, packets });
    expect(r.stats.ruleErrors).toBe(1);
    expect(r.alerts).toMatchObject([{ rule: 'async-check', description: 'rule error: async rule failed on flow 1' }]);
    // The packet carrying 'bad' was judged before the rule failed (4); its flow is dropped from
    // the next packet on.
    expect(r.dropped).toEqual(Array.from({ length: packets.length - 4 }, (_, i) => i + 5));
    expect(r.flows[0]?.end_reason).toBe('dropped');
  });

  it('inside a group, is isolated per rule and names that rule', async () => {
    const rules = defineRules(({ ruleGroup }) => {
      const g = ruleGroup({ name: 'g', on: tcp.events.receivePacket });
      g.rule({ name: 'bad', eval: () => JSON.parse('{') as unknown });
    });
    const r = await replay({ rules, packets: [seg(80)] });
    expect(r.alerts[0]).toMatchObject({ rule: 'bad' });
    expect(r.alerts[0]?.description).toMatch(/^rule error: /);
  });
});

describe('a rule file that does not register', () => {
  it('names the file and line when eval is missing', async () => {
    const rules = defineRules(({ rule }) => {
      // @ts-expect-error deliberately broken
      rule({ name: 'no-eval', on: tcp.events.receivePacket });
    });
    await expect(replay({ rules, packets: [] })).rejects.toMatchObject({
      code: 'PAL_ERR_RULE_INVALID',
      message: expect.stringMatching(/rule-errors\.test\.ts:\d+: rule 'no-eval' has no eval function/) as string,
    });
  });

  it('rejects an event that is not a palisade event', async () => {
    const rules = defineRules(({ rule }) => {
      // @ts-expect-error deliberately broken
      rule({ on: (tcp.events as Record<string, unknown>).receivePackets, eval: () => true });
    });
    await expect(replay({ rules, packets: [] })).rejects.toMatchObject({
      code: 'PAL_ERR_RULE_INVALID',
      message: expect.stringContaining("'on' is missing") as string,
    });
  });
});
