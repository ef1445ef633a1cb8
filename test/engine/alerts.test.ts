import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createEngine, defineRules, flowState, ipv4, tcp } from 'palisade';
import { ethernet, replay, tcpSegment } from 'palisade/testing';

const seg = ethernet(tcpSegment({ src: '192.168.1.5', dst: '10.1.2.3', srcport: 1234, dstport: 443, flags: 'S' }));

describe('alert()', () => {
  it('a packet time past what a Date holds (a lying pcapng if_tsresol) still gives alert and log lines, the time clamped', () => {
    const alerts: string[] = [];
    const logs: string[] = [];
    const rules = defineRules(({ rule, alert, log }) => {
      rule({
        name: 'every-packet',
        on: tcp.events.receivePacket,
        eval: () => {
          alert({ description: 'seen' });
          log.info('seen');
        },
      });
    });
    const sink = (into: string[]) => new Writable({ write: (c: Buffer, _e, done) => { into.push(...c.toString().trim().split('\n')); done(); } });
    const engine = createEngine({ rules, alerts: sink(alerts), log: sink(logs) });
    // 1.7e15 s: a microsecond count read as seconds.
    expect(engine.push(seg, { secs: 1_700_000_000_000_000, nsecs: 0 }, 1)).toBe('accept');
    engine.close();
    expect(engine.stats.ruleErrors).toBe(0);
    expect((JSON.parse(alerts[0] ?? '{}') as { time?: string }).time).toBe('+275760-09-13T00:00:00.000Z');
    expect(logs.some((l) => l.includes('"seen"'))).toBe(true);
  });

  it('writes one JSON line with Haka fields, stamped with packet time, and update() re-emits it', () => {
    const lines: string[] = [];
    const rules = defineRules(({ rule, alert }) => {
      rule({
        name: 'tls-to-10',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          const a = alert({
            description: 'tls to the 10 net',
            severity: 'medium',
            confidence: 'high',
            method: { description: 'port match', ref: 'cwe:1' },
            sources: [pkt.ip.src],
            targets: [{ address: ipv4.addr(pkt.ip.dst), service: 'tcp/443' }],
          });
          a.update({ completion: 'failed' });
        },
      });
    });
    const engine = createEngine({
      rules,
      alerts: new Writable({ write: (c: Buffer, _e, done) => { lines.push(...c.toString().trim().split('\n')); done(); } }),
      log: new Writable({ write: (_c, _e, done) => { done(); } }),
    });
    engine.push(seg, { secs: 1_700_000_000, nsecs: 500_000_000 }, 1);
    engine.close();
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toEqual({
      time: '2023-11-14T22:13:20.500Z',
      type: 'alert',
      id: 1,
      rule: 'tls-to-10',
      packet: 1,
      action: 'allowed',
      severity: 'medium',
      confidence: 'high',
      description: 'tls to the 10 net',
      method: { description: 'port match', ref: 'cwe:1' },
      sources: [{ address: '192.168.1.5' }],
      targets: [{ address: '10.1.2.3', service: 'tcp/443' }],
    });
    expect(second).toMatchObject({ id: 1, update: true, completion: 'failed', description: 'tls to the 10 net' });
    expect(engine.stats.alerts).toBe(2);
  });

  it('takes an id only for an alert that is written: one that throws on its fields uses none', async () => {
    const rules = defineRules(({ rule, alert }) => {
      rule({
        name: 'bad-then-good',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          // An address that is not one: building the record throws, before any line is written.
          expect(() => alert({ description: 'bad', sources: [null as never] })).toThrow(TypeError);
          alert({ description: 'good', sources: [pkt.ip.src] });
        },
      });
      rule({
        name: 'throws-uncaught',
        on: tcp.events.receivePacket,
        eval: () => {
          alert({ description: 'never written', targets: [{ address: undefined as never }] });
        },
      });
    });
    const r = await replay({ rules, packets: [seg, seg] });
    expect(r.alerts.map((a) => [a.id, a.rule, a.description])).toEqual([
      [1, 'bad-then-good', 'good'],
      [2, 'throws-uncaught', expect.stringMatching(/^rule error: /)],
      [3, 'bad-then-good', 'good'],
      [4, 'throws-uncaught', expect.stringMatching(/^rule error: /)],
    ]);
  });

  it('names a rule without a name by its file and line', async () => {
    const rules = defineRules(({ rule, alert }) => {
      rule({ on: tcp.events.receivePacket, eval: () => alert({ description: 'x' }) });
    });
    const r = await replay({ rules, packets: [seg] });
    expect(r.alerts[0]?.rule).toMatch(/^test\/engine\/alerts\.test\.ts:\d+$/);
  });
});

describe('flowState', () => {
  it('gives each key its own typed state, created on first use', () => {
    const counter = flowState(() => ({ n: 0 }));
    const a = {};
    const b = {};
    counter(a).n++;
    counter(a).n++;
    counter(b).n++;
    expect(counter(a).n).toBe(2);
    expect(counter(b).n).toBe(1);
  });
});

describe('addresses', () => {
  it('networks contain integers, address objects and text alike', () => {
    const net = ipv4.network('192.168.10.0/24');
    expect(net.contains('192.168.10.77')).toBe(true);
    expect(net.contains(ipv4.addr('192.168.11.1'))).toBe(false);
    expect(net.contains(0xc0a80a01)).toBe(true);
    expect(net.toString()).toBe('192.168.10.0/24');
    expect(ipv4.network(ipv4.addr('10.1.2.3'), 8).toString()).toBe('10.0.0.0/8');
    expect(() => ipv4.network('10.0.0.0/33')).toThrow(/PAL_ERR_RULE_INVALID|not an IPv4 network/);
    expect(() => ipv4.addr('10.0.0.256')).toThrow(/not an IPv4 address/);
  });
});
