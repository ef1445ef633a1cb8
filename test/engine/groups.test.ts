import { describe, expect, it } from 'vitest';
import { defineRules, tcp } from 'palisade';
import { ethernet, replay, tcpSegment } from 'palisade/testing';

const syn = (dstport: number) =>
  ethernet(tcpSegment({ src: '192.168.10.10', dst: '192.168.20.80', srcport: 40000, dstport, flags: 'S' }));

describe('ruleGroup (Haka semantics)', () => {
  it('stops at the first rule returning true and skips final', async () => {
    const calls: string[] = [];
    const rules = defineRules(({ ruleGroup }) => {
      const g = ruleGroup({
        name: 'filter',
        on: tcp.events.receivePacket,
        init: () => calls.push('init'),
        final: (pkt) => {
          calls.push('final');
          pkt.drop();
        },
      });
      g.rule({ name: 'first', eval: () => (calls.push('first'), false) });
      g.rule({ name: 'second', eval: (pkt) => (calls.push('second'), pkt.dstport === 80) });
      g.rule({ name: 'third', eval: () => (calls.push('third'), true) });
    });
    const r = await replay({ rules, packets: [syn(80)] });
    expect(calls).toEqual(['init', 'first', 'second']);
    expect(r.dropped).toEqual([]);
  });

  it('runs final when no rule returns true', async () => {
    const calls: string[] = [];
    const rules = defineRules(({ ruleGroup, alert }) => {
      const g = ruleGroup({
        name: 'filter',
        on: tcp.events.receivePacket,
        final: (pkt) => {
          calls.push('final');
          alert({ description: 'refused', targets: [pkt.ip.dst] });
          pkt.drop();
        },
      });
      g.rule({ name: 'web', eval: (pkt) => (calls.push('web'), pkt.dstport === 80) });
      g.rule({ name: 'dns', eval: (pkt) => (calls.push('dns'), pkt.dstport === 53) });
    });
    const r = await replay({ rules, packets: [syn(22)] });
    expect(calls).toEqual(['web', 'dns', 'final']);
    expect(r.dropped).toEqual([1]);
    expect(r.alerts).toMatchObject([{ rule: 'filter', description: 'refused', targets: [{ address: '192.168.20.80' }], packet: 1 }]);
  });

  it('honours a custom continue, which sees each return value and the event arguments', async () => {
    const seen: unknown[] = [];
    const rules = defineRules(({ ruleGroup }) => {
      const g = ruleGroup({
        name: 'all-must-pass',
        on: tcp.events.receivePacket,
        // Stop at the first rule that returns false: an AND of rules.
        continue: (ret, pkt) => {
          seen.push([ret, pkt.dstport]);
          return ret === true;
        },
        final: () => seen.push('final'),
      });
      g.rule({ eval: () => true });
      g.rule({ eval: (pkt) => pkt.dstport !== 22 });
      g.rule({ eval: () => true });
    });
    await replay({ rules, packets: [syn(80), syn(22)] });
    expect(seen).toEqual([[true, 80], [true, 80], [true, 80], 'final', [true, 22], [false, 22]]);
  });

  it('a drop inside a group stops the group', async () => {
    const calls: string[] = [];
    const rules = defineRules(({ ruleGroup }) => {
      const g = ruleGroup({ name: 'g', on: tcp.events.receivePacket, continue: () => true, final: () => calls.push('final') });
      g.rule({
        eval: (pkt) => {
          calls.push('a');
          pkt.drop();
        },
      });
      g.rule({ eval: () => calls.push('b') });
    });
    const r = await replay({ rules, packets: [syn(80)] });
    expect(calls).toEqual(['a']);
    expect(r.dropped).toEqual([1]);
  });
});
