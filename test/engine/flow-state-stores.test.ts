/**
 * flowState stores belong to the rule set that made them: an engine releases a flow's state
 * from its own rules' stores, and `ctl reload` (replaceRules) swaps the stores with the rules
 * instead of adding every reload's stores to one global list that each ended flow walks.
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createEngine, defineRules, flowState, tcpConnection } from 'palisade';
import { tcpSession } from 'palisade/testing';
import { releaseFlowState, runSetup, type RuleContext } from '../../core/rules.ts';

const sink = (): Writable => new Writable({ write: (_c, _e, done) => { done(); } });

describe('flowState stores', () => {
  it('a setup owns the stores it makes and those its module made just before; the next setup owns none of them', () => {
    const moduleLevel = flowState(() => ({ n: 0 }));
    let inSetup: ((flow: object) => { n: number }) | undefined;
    const set = defineRules(() => {
      inSetup = flowState(() => ({ n: 0 }));
    });
    const ctx = {} as RuleContext;
    const stores = runSetup(set, ctx);
    expect(stores).toHaveLength(2);
    const flow = {};
    moduleLevel(flow).n = 5;
    inSetup?.(flow);
    releaseFlowState(stores, flow);
    expect(moduleLevel(flow).n).toBe(0); // released, then made afresh
    expect(runSetup(defineRules(() => undefined), ctx)).toHaveLength(0);
  });

  it('after 100 reloads an engine still counts and releases per-flow state with the current rules (each setup owns one store)', () => {
    const seen: number[] = [];
    const make = (): ReturnType<typeof defineRules> =>
      defineRules(({ rule }) => {
        const count = flowState(() => ({ packets: 0 }));
        rule({ name: 'count', on: tcpConnection.events.receivePacket, eval: (flow) => { count(flow).packets++; } });
        rule({ name: 'end', on: tcpConnection.events.endConnection, eval: (flow) => { seen.push(count(flow).packets); } });
      });
    const engine = createEngine({ rules: make(), alerts: sink(), log: sink() });
    for (let i = 0; i < 100; i++) engine.replaceRules(make());
    const stores = runSetup(make(), { rule: () => undefined } as unknown as RuleContext);
    expect(stores).toHaveLength(1);
    const frames = tcpSession().handshake().send('up', 'x').close().frames();
    frames.forEach((f, i) => engine.push(f, { secs: 1_700_000_000 + i, nsecs: 0 }, 1));
    engine.close();
    expect(seen).toEqual([frames.length]);
  });
});
