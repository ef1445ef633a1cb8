/**
 * UdpTracker driven directly: real dissected datagrams in, events and verdicts out, the clock
 * moved by hand as the engine's would be by packet timestamps.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ArgsOf } from '../../core/events.ts';
import type { UdpPacket } from '../../dissectors/udp.ts';
import { udpConnectionEvents, type UdpFlow } from '../../dissectors/udp-connection/index.ts';
import { Harness, frame, pair } from './harness.ts';

const dns = pair('10.0.0.1', 5000, '10.0.0.2', 53);

describe('udp flows', () => {
  it('opens one flow per 4-tuple; the first sender is the client; replies find the same flow', () => {
    const h = new Harness();
    expect(h.push(dns.up('q1'))).toBe('accept');
    expect(h.push(dns.down('r1'))).toBe('accept');
    expect(h.push(dns.up('q2'))).toBe('accept');
    // Another source port, another server, the server speaking first: three more flows.
    h.push(frame({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 5001, dstport: 53, payload: 'x' }));
    h.push(frame({ src: '10.0.0.1', dst: '10.0.0.3', srcport: 5000, dstport: 53, payload: 'y' }));
    h.push(frame({ src: '10.0.0.9', dst: '10.0.0.1', srcport: 123, dstport: 123, payload: 'z' }));
    expect(h.events.filter((e) => e.startsWith('new'))).toEqual([
      'new 1 10.0.0.1:5000->10.0.0.2:53',
      'new 2 10.0.0.1:5001->10.0.0.2:53',
      'new 3 10.0.0.1:5000->10.0.0.3:53',
      'new 4 10.0.0.9:123->10.0.0.1:123',
    ]);
    expect(h.tracker.table.size).toBe(4);
  });

  it('raises receiveData for every datagram, empty ones too, with per-direction offsets', () => {
    const h = new Harness();
    h.push(dns.up('abc'));
    h.push(dns.down('hello'));
    h.push(dns.up('de'));
    h.push(dns.down(''));
    h.push(dns.up('f'));
    expect(h.events).toEqual([
      'new 1 10.0.0.1:5000->10.0.0.2:53',
      'data 1 up@0 abc',
      'data 1 down@0 hello',
      'data 1 up@3 de',
      'data 1 down@5 ',
      'data 1 up@5 f',
    ]);
    const flow = h.logged[0] ?? h.tracker.table.oldest(0);
    expect(flow?.stats).toEqual({
      up: { packets: 3, bytes: 6, ipBytes: 3 * 28 + 6 },
      down: { packets: 2, bytes: 5, ipBytes: 2 * 28 + 5 },
    });
  });

  it('exposes the flow fields rules read', () => {
    const h = new Harness();
    let seen: UdpFlow | undefined;
    let port = 0;
    h.rules.newConnection = (flow, udp) => {
      seen = flow;
      port = udp.dstport; // the view is re-pointed after the event
    };
    h.now = 1234.5;
    h.push(dns.up('q'));
    h.now = 1236;
    h.push(dns.down('r'));
    expect(port).toBe(53);
    expect(seen).toMatchObject({
      id: 1,
      client: { ip: '10.0.0.1', port: 5000 },
      server: { ip: '10.0.0.2', port: 53 },
      srcip: '10.0.0.1',
      dstip: '10.0.0.2',
      srcport: 5000,
      dstport: 53,
      startTime: 1234.5,
      lastTime: 1236,
      endReason: undefined,
      dropped: false,
    });
  });

  it('counts the data a capture cut off: offsets jump as the header lengths say', () => {
    const h = new Harness();
    const whole = dns.up('A'.repeat(100));
    h.push(whole.subarray(0, whole.length - 60), whole.length);
    h.push(dns.up('B'));
    expect(h.events.slice(1)).toEqual([`data 1 up@0 ${'A'.repeat(40)}`, 'data 1 up@100 B']);
    expect(h.stats.anomalies.get('snaplen-truncated')).toBe(1);
  });

  it('tracks IPv6 flows beside IPv4 ones, by address bytes', () => {
    const h = new Harness();
    const v6 = pair('fd00::1', 40000, 'fd00::2', 53);
    h.push(v6.up('q6'));
    h.push(dns.up('q4'));
    h.push(v6.down('r6'));
    h.push(frame({ src: 'fd00::1', dst: 'fd00::3', srcport: 40000, dstport: 53, payload: 'other' }));
    expect(h.events).toEqual([
      'new 1 [fd00::1]:40000->[fd00::2]:53',
      'data 1 up@0 q6',
      'new 2 10.0.0.1:5000->10.0.0.2:53',
      'data 2 up@0 q4',
      'data 1 down@0 r6',
      'new 3 [fd00::1]:40000->[fd00::3]:53',
      'data 3 up@0 other',
    ]);
    h.shutdown();
    const flow = h.logged.find((f) => f.id === 1);
    expect(flow?.stats.down).toEqual({ packets: 1, bytes: 2, ipBytes: 40 + 8 + 2 });
  });

  it('skips receiveData (and the payload view) when no rule listens to it', () => {
    const h = new Harness();
    h.wantData = false;
    h.push(dns.up('q'));
    h.push(dns.down('r'));
    expect(h.events).toEqual(['new 1 10.0.0.1:5000->10.0.0.2:53']);
    expect(h.tracker.table.oldest(0)?.stats.down.bytes).toBe(1);
  });
});

describe('actions', () => {
  it('dropping the first datagram refuses the flow: nothing kept, the next one is new again', () => {
    const h = new Harness();
    let refuse = 2;
    h.rules.newConnection = (flow, udp) => {
      if (refuse === 2) udp.drop();
      else if (refuse === 1) flow.drop();
      refuse--;
    };
    expect(h.push(dns.up('a'))).toBe('drop');
    expect(h.tracker.table.size).toBe(0);
    expect(h.push(dns.up('b'))).toBe('drop');
    expect(h.tracker.table.size).toBe(0);
    expect(h.push(dns.up('c'))).toBe('accept');
    expect(h.events).toEqual([
      'new 1 10.0.0.1:5000->10.0.0.2:53',
      'end 1 dropped',
      'new 2 10.0.0.1:5000->10.0.0.2:53',
      'end 2 dropped',
      'new 3 10.0.0.1:5000->10.0.0.2:53',
      'data 3 up@0 c',
    ]);
    expect(h.logged.map((f) => [f.id, f.endReason])).toEqual([
      [1, 'dropped'],
      [2, 'dropped'],
    ]);
  });

  it('a refused datagram never evicts a kept flow', () => {
    const h = new Harness({ maxFlows: 1, timeout: 60 });
    h.push(dns.up('kept'));
    h.rules.newConnection = (flow) => {
      flow.drop();
    };
    expect(h.push(frame({ src: '10.6.6.6', dst: '10.0.0.2', srcport: 666, dstport: 53, payload: 'x' }))).toBe('drop');
    expect(h.tracker.table.size).toBe(1);
    expect(h.events).toEqual(['new 1 10.0.0.1:5000->10.0.0.2:53', 'data 1 up@0 kept', 'new 2 10.6.6.6:666->10.0.0.2:53', 'end 2 dropped']);
  });

  it('flow.drop() later drops this and every later datagram silently until the timeout', () => {
    const h = new Harness();
    h.rules.receiveData = (flow, data) => {
      if (data.toString() === 'evil') flow.drop();
    };
    expect(h.push(dns.up('ok'))).toBe('accept');
    expect(h.push(dns.down('fine'))).toBe('accept');
    h.now += 1;
    expect(h.push(dns.up('evil'))).toBe('drop');
    h.now += 1;
    expect(h.push(dns.up('more'))).toBe('drop');
    expect(h.push(dns.down('reply'))).toBe('drop');
    expect(h.events).toEqual([
      'new 1 10.0.0.1:5000->10.0.0.2:53',
      'data 1 up@0 ok',
      'data 1 down@0 fine',
      'data 1 up@2 evil',
      'end 1 dropped',
    ]);
    // Kept, marked, refreshed by the late datagrams; forgotten at its timeout with no second end.
    expect(h.tracker.table.size).toBe(1);
    h.at(h.now + 59);
    expect(h.tracker.table.size).toBe(1);
    h.at(h.now + 1);
    expect(h.tracker.table.size).toBe(0);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 1 dropped']);
    expect(h.logged).toHaveLength(1);
    // After the timeout the tuple is new again.
    expect(h.push(dns.up('again'))).toBe('accept');
    expect(h.events.at(-2)).toBe('new 2 10.0.0.1:5000->10.0.0.2:53');
  });

  it('pkt.drop() in receiveData drops that datagram only; offsets still count it', () => {
    const h = new Harness();
    h.rules.receiveData = (_flow, data) => {
      if (data.toString() === 'bad') h.udp.drop();
    };
    expect(h.push(dns.up('bad'))).toBe('drop');
    expect(h.tracker.table.size).toBe(1);
    expect(h.push(dns.up('good'))).toBe('accept');
    expect(h.events).toEqual(['new 1 10.0.0.1:5000->10.0.0.2:53', 'data 1 up@0 bad', 'data 1 up@3 good']);
  });

  it("flow.drop() from another packet's event marks the flow, not the packet being handled", () => {
    const h = new Harness();
    const other = pair('10.0.0.5', 6000, '10.0.0.2', 53);
    let first: UdpFlow | undefined;
    h.rules.newConnection = (flow) => {
      if (first === undefined) first = flow;
      else first.drop();
    };
    h.push(dns.up('a'));
    expect(h.push(other.up('b'))).toBe('accept');
    expect(first?.dropped).toBe(true);
    expect(h.push(dns.down('late'))).toBe('drop');
    expect(h.events).toEqual([
      'new 1 10.0.0.1:5000->10.0.0.2:53',
      'data 1 up@0 a',
      'new 2 10.0.0.5:6000->10.0.0.2:53',
      'data 2 up@0 b',
      'end 1 dropped',
    ]);
  });

  it('bypass() accepts the rest without rules, still counted', () => {
    const h = new Harness();
    h.rules.newConnection = (flow) => {
      flow.bypass();
    };
    expect(h.push(dns.up('a'))).toBe('accept');
    expect(h.push(dns.down('bb'))).toBe('accept');
    expect(h.events).toEqual(['new 1 10.0.0.1:5000->10.0.0.2:53']);
    expect(h.tracker.table.oldest(0)?.stats.down).toEqual({ packets: 1, bytes: 2, ipBytes: 30 });
  });
});

describe('lifecycle', () => {
  it('ends an idle flow at the timeout, by the host clock; activity either way postpones it', () => {
    const h = new Harness({ maxFlows: 100, timeout: 60 });
    h.now = 100;
    h.push(dns.up('q'));
    h.at(130);
    h.push(dns.down('r'));
    h.at(189);
    expect(h.tracker.table.size).toBe(1);
    h.at(190);
    expect(h.tracker.table.size).toBe(0);
    expect(h.events.at(-1)).toBe('end 1 timeout');
    expect(h.logged[0]).toMatchObject({ startTime: 100, lastTime: 130, endReason: 'timeout' });
  });

  it('expires the least recently active flow first, whatever its age', () => {
    const h = new Harness({ maxFlows: 100, timeout: 10 });
    const b = pair('10.0.0.7', 7000, '10.0.0.2', 53);
    h.now = 0;
    h.push(dns.up('a'));
    h.now = 1;
    h.push(b.up('b'));
    h.now = 5;
    h.push(dns.down('a again'));
    h.at(11);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 2 timeout']);
    h.at(15);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 2 timeout', 'end 1 timeout']);
  });

  it('when the table is full the least recently active flow ends with memcap', () => {
    const h = new Harness({ maxFlows: 2, timeout: 60 });
    const b = pair('10.0.0.7', 7000, '10.0.0.2', 53);
    const c = pair('10.0.0.8', 8000, '10.0.0.2', 53);
    h.push(dns.up('a'));
    h.push(b.up('b'));
    h.push(dns.down('a is active again'));
    h.push(c.up('c'));
    expect(h.tracker.table.size).toBe(2);
    expect(h.events.slice(-3)).toEqual(['new 3 10.0.0.8:8000->10.0.0.2:53', 'end 2 memcap', 'data 3 up@0 c']);
    // The evicted tuple comes back as a new flow, evicting the next oldest (flow 1).
    h.push(b.up('b again'));
    expect(h.events.slice(-3)).toEqual(['new 4 10.0.0.7:7000->10.0.0.2:53', 'end 1 memcap', 'data 4 up@0 b again']);
  });

  it('shutdown ends every flow still open, once', () => {
    const h = new Harness();
    const b = pair('10.0.0.7', 7000, '10.0.0.2', 53);
    h.rules.receiveData = (flow, data) => {
      if (data.toString() === 'x') flow.drop();
    };
    h.push(dns.up('a'));
    h.push(b.up('x'));
    h.shutdown();
    expect(h.tracker.table.size).toBe(0);
    expect(h.events.filter((e) => e.startsWith('end'))).toEqual(['end 2 dropped', 'end 1 shutdown']);
    expect(h.logged.map((f) => f.endReason)).toEqual(['dropped', 'shutdown']);
    h.shutdown();
    expect(h.logged).toHaveLength(2);
  });
});

describe('events', () => {
  it('are typed for rule authors', () => {
    expectTypeOf<ArgsOf<typeof udpConnectionEvents.newConnection>>().toEqualTypeOf<[flow: UdpFlow, udp: UdpPacket]>();
    expectTypeOf<ArgsOf<typeof udpConnectionEvents.receiveData>>().toEqualTypeOf<
      [flow: UdpFlow, data: Buffer, direction: 'up' | 'down', offset: number]
    >();
    expectTypeOf<ArgsOf<typeof udpConnectionEvents.endConnection>>().toEqualTypeOf<[flow: UdpFlow]>();
    expectTypeOf<UdpFlow['endReason']>().toEqualTypeOf<'timeout' | 'memcap' | 'dropped' | 'shutdown' | undefined>();
    expect(Object.values(udpConnectionEvents).map((e) => [e.name, e.layer])).toEqual([
      ['udpConnection.newConnection', 'udpConnection'],
      ['udpConnection.receiveData', 'udpConnection'],
      ['udpConnection.endConnection', 'udpConnection'],
    ]);
  });
});
