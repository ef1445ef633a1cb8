// The engine's turn (docs/architecture.md, "A turn"): a fault out of a push (the output threw)
// closes its turn all the same, so the next frame is judged in a turn of its own, with its
// alerts written and its outboxes drained.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createEngine, defineRules, tcp, tcpConnection } from 'palisade';
import { tcpSession } from 'palisade/testing';
import type { AlertRecord, FlowRecord } from 'palisade';

const nowhere = new Writable({ write: (_c, _e, done) => done() });

describe('a turn', () => {
  it('closes when the output throws: later frames alert, end flows and reach the output', () => {
    const alerts: AlertRecord[] = [];
    const flows: FlowRecord[] = [];
    const out: number[] = [];
    let fail = true;
    const rules = defineRules(({ rule, alert }) => {
      rule({ name: 'see', on: tcp.events.receivePacket, eval: (pkt) => void alert({ description: `frame ${pkt.timestamp.secs}` }) });
      rule({ name: 'cut', on: tcpConnection.events.receiveData, eval: (flow) => flow.reset() });
    });
    const engine = createEngine({
      rules,
      alerts: nowhere,
      log: nowhere,
      onAlert: (a) => alerts.push(a),
      onFlow: (f) => flows.push(f),
      output: {
        forward: (_b, _s, _n, _l, id) => {
          if (fail) {
            fail = false;
            throw new Error('disk full');
          }
          out.push(id);
        },
        inject: () => undefined,
      },
    });
    const frames = tcpSession().handshake().send('up', 'data').frames();
    expect(() => engine.push(frames[0] as Buffer, { secs: 1, nsecs: 0 }, 1)).toThrow('disk full');
    for (let i = 1; i < frames.length; i++) engine.push(frames[i] as Buffer, { secs: i + 1, nsecs: 0 }, 1);
    // Each frame's alert was written at the end of its turn, the first one's too.
    expect(alerts.map((a) => a.description)).toEqual(frames.map((_, i) => `frame ${i + 1}`));
    expect(out).toEqual([2, 3]);
    // The data frame reset the flow: its record was written in that frame's turn, not later.
    expect(flows).toHaveLength(1);
    expect(flows[0]?.drop_reason).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'cut', frame: 4 });
    expect(alerts[3]).toMatchObject({ action: 'blocked', reason: { kind: 'flow-action', rule: 'cut' } });
  });
});
