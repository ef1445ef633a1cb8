import { describe, expect, it } from 'vitest';
import { defineRules, udpConnection } from 'palisade';
import { replay, udpExchange } from 'palisade/testing';

describe('udpConnection through the engine', () => {
  it('raises newConnection, receiveData both ways and endConnection; logs the flow', async () => {
    const events: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: udpConnection.events.newConnection, eval: (flow, udp) => events.push(`new ${flow.client.ip}:${flow.client.port} ${udp.dstport}`) });
      rule({ on: udpConnection.events.receiveData, eval: (_f, data, dir, offset) => events.push(`${dir}@${offset} ${data.toString()}`) });
      rule({ on: udpConnection.events.endConnection, eval: (flow) => events.push(`end ${flow.endReason ?? '?'}`) });
    });
    const frames = udpExchange({ client: '10.0.0.1:5353', server: '10.0.0.53:53' }).send('up', 'query').send('down', 'answer').send('up', 'again').frames();
    const r = await replay({ rules, packets: frames });
    expect(events).toEqual(['new 10.0.0.1:5353 53', 'up@0 query', 'down@0 answer', 'up@5 again', 'end shutdown']);
    expect(r.flows).toMatchObject([{ proto: 'udp', conn_state: 'SF', orig_pkts: 2, resp_pkts: 1, orig_bytes: 10, resp_bytes: 6 }]);
  });

  it('flow.drop() drops the rest of the flow', async () => {
    const rules = defineRules(({ rule }) =>
      rule({ on: udpConnection.events.receiveData, eval: (flow, data) => { if (data.includes('evil')) flow.drop(); } }),
    );
    const frames = udpExchange().send('up', 'fine').send('up', 'evil').send('down', 'reply').send('up', 'more').frames();
    const r = await replay({ rules, packets: frames });
    expect(r.dropped).toEqual([2, 3, 4]);
    expect(r.flows[0]?.end_reason).toBe('dropped');
  });

  it('shares flow ids with TCP connections (engine-unique uids)', async () => {
    const { tcpSession } = await import('palisade/testing');
    const { tcpConnection } = await import('palisade');
    const rules = defineRules(({ rule }) => {
      rule({ on: udpConnection.events.newConnection, eval: () => undefined });
      rule({ on: tcpConnection.events.newConnection, eval: () => undefined });
    });
    const frames = [...tcpSession().handshake().close().frames(), ...udpExchange().send('up', 'x').frames()];
    const r = await replay({ rules, packets: frames });
    expect(r.flows.map((f) => f.uid).sort()).toEqual(['C1', 'C2']);
  });
});
