/**
 * engine.replaceRules() (`palisade ctl reload`): new rules, the same flow table; what the new
 * rules listen to decides what new connections get (reassembly for a first receiveData rule).
 */
import { describe, expect, it } from 'vitest';
import { createEngine, defineFlowDissector, defineRules, flowEvent, tcpConnection, type TcpFlow } from '../../index.ts';
import { allEvents } from '../../core/events.ts';
import { tcpSession } from '../../testing.ts';

describe('engine.replaceRules', () => {
  it('turns reassembly on for new connections when the new rules are the first to want data', () => {
    const seen: string[] = [];
    const before = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: (flow) => seen.push(`new:${flow.server.port}`) });
    });
    const after = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: (flow) => seen.push(`new:${flow.server.port}`) });
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data) => seen.push(`data:${flow.server.port}:${data.toString()}`) });
    });
    const engine = createEngine({ rules: before, alerts: 'stdout', log: 'stderr' });
    let t = 0;
    const push = (frames: Buffer[]): void => {
      for (const f of frames) engine.push(f, { secs: ++t, nsecs: 0 }, 1);
    };
    push(tcpSession({ server: '192.168.20.80:80' }).handshake().send('up', 'one').frames());
    engine.replaceRules(after);
    // The open connection keeps what it had; a new one is reassembled for the new rule.
    push(tcpSession({ server: '192.168.20.80:80' }).send('up', 'two').frames());
    push(tcpSession({ server: '192.168.20.81:81', client: '192.168.10.11:41000' }).handshake().send('up', 'three').frames());
    engine.close();
    expect(seen).toContain('new:80');
    expect(seen).toContain('new:81');
    expect(seen).toContain('data:81:three');
    expect(seen.filter((s) => s.startsWith('data:80'))).toEqual([]);
  });

  it('a flow dissector defined again (its module reloaded) keeps its events: the registry does not grow, new rules hear it', async () => {
    // What a reloaded rule module does: its dissector, and a rule on its event, made afresh.
    const load = (heard: string[]) => {
      const lines = defineFlowDissector({
        name: 'reload-lines',
        events: { line: flowEvent<[flow: TcpFlow, line: string]>() },
        receiveStreamed: async (flow, stream, _direction, emit) => {
          for await (const line of stream.lines()) emit.line(flow, line);
        },
      });
      return defineRules(({ rule }) => {
        lines.onPort(80);
        rule({ on: lines.events.line, eval: (_flow, line) => heard.push(line) });
      });
    };
    const first: string[] = [];
    const engine = createEngine({ rules: load(first), alerts: 'stdout', log: 'stderr' });
    const size = allEvents().length;
    const later: string[] = [];
    for (let i = 0; i < 5; i++) engine.replaceRules(load(later));
    expect(allEvents().length).toBe(size);
    let t = 0;
    for (const f of tcpSession({ server: '192.168.20.80:80' }).handshake().send('up', 'one\ntwo\n').close().frames()) {
      engine.push(f, { secs: ++t, nsecs: 0 }, 1);
      await engine.settle();
    }
    engine.close();
    await engine.settle();
    expect(first).toEqual([]);
    expect(later).toEqual(['one', 'two']);
  });
});
