// Every drop says why (design §11): one case per kind of reason, each checked where a user reads
// it: replay().reasons, the frame's trace (every case runs traced: each dropped frame's trace
// names the same reason), the stats by kind, the flow record, the alerts.
import { describe, expect, it } from 'vitest';
import { defineRules, ipv4, tcp, tcpConnection, udpConnection } from 'palisade';
import { ethernet, ipv4Packet, pcap, replay as plainReplay, tcpSegment, tcpSession, udpDatagram, udpExchange } from 'palisade/testing';
import type { ReplayOptions } from 'palisade/testing';
import type { FrameTrace } from 'palisade';

/** replay() with every frame traced: a dropped frame's trace has verdict drop and the same reason. */
async function replay(options: ReplayOptions): Promise<Awaited<ReturnType<typeof plainReplay>>> {
  const traces = new Map<number, FrameTrace>();
  const r = await plainReplay({ ...options, trace: { onFrame: (t) => traces.set(t.frame, t) } });
  for (const id of r.dropped) {
    const t = traces.get(id);
    // Frames dropped after their push (fragments, held frames) have the trace of their own push.
    if (t === undefined) continue;
    expect(t.verdict, `frame ${id}`).toBe('drop');
    expect(t.reason, `frame ${id}`).toEqual(r.reasons.get(id));
  }
  expect([...traces.values()].filter((t) => t.verdict === 'drop').length).toBeGreaterThan(0);
  return r;
}

const syn = (srcport: number, dstport = 80, flags = 'S') =>
  ethernet(tcpSegment({ src: '192.168.10.10', dst: '192.168.20.80', srcport, dstport, flags }));

describe('drop reasons', () => {
  it('rule: the rule that dropped the packet, with its file and line', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ name: 'pass-web', on: tcp.events.receivePacket, eval: () => undefined });
      rule({
        name: 'block-telnet',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          if (pkt.dstport === 23) pkt.drop();
        },
      });
    });
    const r = await replay({ rules, packets: [syn(40000, 80), syn(40001, 23)] });
    expect(r.dropped).toEqual([2]);
    expect(r.reasons.get(2)).toEqual({ kind: 'rule', rule: 'block-telnet', file: 'test/engine/drop-reasons.test.ts', line: 32 });
    expect(r.reasons.has(1)).toBe(false);
    expect(Object.fromEntries(r.stats.dropsByReason)).toEqual({ rule: 1 });
  });

  it("group-final: a group's final named by the group; a rule of the group by itself", async () => {
    const rules = defineRules(({ ruleGroup }) => {
      const g = ruleGroup({ name: 'allow-list', on: tcp.events.receivePacket, final: (pkt) => pkt.drop() });
      g.rule({ name: 'web', eval: (pkt) => pkt.dstport === 80 });
      g.rule({
        name: 'no-ssh',
        eval: (pkt) => {
          if (pkt.dstport === 22) pkt.drop();
          return false;
        },
      });
    });
    const r = await replay({ rules, packets: [syn(40000, 80), syn(40001, 25), syn(40002, 22)] });
    expect(r.dropped).toEqual([2, 3]);
    expect(r.reasons.get(2)).toMatchObject({ kind: 'group-final', rule: 'allow-list' });
    expect(r.reasons.get(3)).toMatchObject({ kind: 'rule', rule: 'no-ssh' });
  });

  it('flow-action: a reset from receiveData names the rule and the frame; the later frames and the flow record say so', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'no-evil',
        on: tcpConnection.events.receiveData,
        eval: (flow, data) => {
          if (data.includes('evil')) flow.reset();
        },
      });
    });
    const frames = tcpSession().handshake().send('up', 'hello').send('up', 'evil').send('up', 'more').frames();
    const r = await replay({ rules, packets: frames });
    // 1-3 handshake, 4 hello, 5 its ACK, 6 evil: reset there; 7 ACK, 8 more: the flow is gone.
    const evil = 6;
    expect(r.reasons.get(evil)).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'no-evil', frame: evil });
    for (const id of r.dropped.filter((id) => id > evil)) expect(r.reasons.get(id)).toBe(r.reasons.get(evil));
    expect(r.dropped.length).toBeGreaterThan(1);
    expect(r.flows[0]?.drop_reason).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'no-evil', frame: evil });
  });

  it('flow-action on UDP: flow.drop() from newConnection refuses the flow, named', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ name: 'no-dns', on: udpConnection.events.newConnection, eval: (flow) => flow.drop() });
    });
    const r = await replay({ rules, packets: udpExchange().send('up', 'q').frames() });
    expect(r.reasons.get(1)).toMatchObject({ kind: 'flow-action', action: 'drop', rule: 'no-dns', frame: 1 });
    expect(r.flows[0]?.drop_reason).toMatchObject({ kind: 'flow-action', rule: 'no-dns' });
  });

  it('policy: an anomaly policy names the policy key and the anomaly', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: () => undefined });
    });
    // SYN+FIN: invalid flags, drop-packet by default.
    const r = await replay({ rules, packets: [syn(40000, 80, 'SF')] });
    expect(r.reasons.get(1)).toEqual({ kind: 'policy', policy: 'tcp.policies.invalid-flags', anomaly: 'tcp-invalid-flags' });
  });

  it('policy: a midstream packet under tcp.midstream drop', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: () => undefined });
    });
    const r = await replay({ rules, config: { tcp: { midstream: 'drop' } }, packets: [syn(40000, 80, 'A')] });
    expect(r.reasons.get(1)).toEqual({ kind: 'policy', policy: 'tcp.midstream', anomaly: 'tcp-no-connection' });
  });

  it('malformed: the check the header failed, under malformedPolicy drop', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv4.events.receivePacket, eval: () => undefined });
    });
    const good = ethernet(ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, payload: Buffer.alloc(8) }));
    const bad = Buffer.from(good.subarray(0, 14 + 12));
    const r = await replay({ rules, config: { malformedPolicy: 'drop' }, packets: [good, bad] });
    expect(r.dropped).toEqual([2]);
    expect(r.reasons.get(2)).toEqual({ kind: 'malformed', policy: 'malformedPolicy', anomaly: 'ipv4-truncated' });
  });

  it('fragment: a datagram incomplete past fragments.timeout; shutdown: one still incomplete at the end of input', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv4.events.receivePacket, eval: () => undefined });
    });
    const whole = udpDatagram({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 5000, dstport: 53, payload: 'x'.repeat(40) });
    const first = (id: number) => ethernet(ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id, fragOffset: 0, mf: true, payload: whole.subarray(20, 36) }));
    // One frame a second: datagram 9 waits 3 s, past a 2 s timeout; datagram 10 is still waiting at the end.
    const later = ethernet(udpDatagram({ src: '10.0.0.3', dst: '10.0.0.2', srcport: 5000, dstport: 53, payload: 'y' }));
    const r = await replay({ rules, config: { fragments: { timeout: 2 } }, packets: [first(9), later, later, later, first(10)] });
    expect(r.reasons.get(1)).toEqual({ kind: 'fragment', policy: 'fragments', anomaly: 'fragment-incomplete' });
    expect(r.reasons.get(5)).toEqual({ kind: 'shutdown', anomaly: 'fragment-incomplete' });
  });

  it('memcap: a new connection refused with the engine at its memcap', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: () => undefined });
    });
    // 1 MiB (the least memcap) holds about 680 connections; established ones are never forgotten to make room.
    const frames = Array.from({ length: 800 }, (_, i) => tcpSession({ client: `192.168.${10 + (i >> 8)}.${i & 255}:40000` }).handshake().frames()).flat();
    const r = await replay({ rules, config: { memcap: 1024 * 1024 }, pcap: pcap(frames) });
    const first = r.dropped[0] as number;
    expect(first).toBeGreaterThan(3 * 600);
    expect(r.reasons.get(first)).toEqual({ kind: 'memcap', policy: 'memcap', anomaly: 'tcp-flow-table-full' });
  });

  it('hold-cap: frames held past tcp.hold.maxBytes under drop-flow', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream) => {
          await stream.read(1 << 30);
        },
      });
    });
    const frames = tcpSession({ mss: 1000 }).handshake().send('up', Buffer.alloc(20_000, 0x61)).frames();
    const r = await replay({ rules, config: { tcp: { hold: { maxBytes: 8192 }, policies: { 'hold-cap': 'drop-flow' } } }, packets: frames });
    const kinds = new Set([...r.reasons.values()].map((x) => x.kind));
    expect(kinds).toEqual(new Set(['hold-cap']));
    expect(r.reasons.size).toBeGreaterThan(2);
    expect([...r.reasons.values()][0]).toEqual({ kind: 'hold-cap', policy: 'tcp.policies.hold-cap', anomaly: 'tcp-hold-cap' });
    expect(r.flows[0]?.drop_reason?.kind).toBe('hold-cap');
  });

  it('rule-error: a rule that throws under ruleErrorPolicy drop', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'buggy',
        on: tcp.events.receivePacket,
        eval: () => {
          throw new Error('oops');
        },
      });
    });
    const r = await replay({ rules, config: { ruleErrorPolicy: 'drop' }, packets: [syn(40000)] });
    expect(r.reasons.get(1)).toMatchObject({ kind: 'rule-error', rule: 'buggy', file: 'test/engine/drop-reasons.test.ts' });
  });

  it('watchdog: the frame in hand when a rule is stopped by rules.timeoutMs', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'spins',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          // eslint-disable-next-line no-empty
          if (pkt.dstport === 23) for (;;) {}
        },
      });
    });
    const r = await replay({ rules, config: { rules: { timeoutMs: 200 } }, packets: [syn(40000, 80), syn(40001, 23)] });
    expect(r.error?.code).toBe('PAL_ERR_RULE_TIMEOUT');
    expect(r.verdicts.get(1)).toBe('accept');
    expect(r.reasons.get(2)).toEqual({ kind: 'watchdog', rule: 'spins', policy: 'rules.timeoutMs' });
  });

  it("alerts say what was done: blocked with the reason when their packet or their rule's flow action blocked, else allowed", async () => {
    const rules = defineRules(({ rule, alert }) => {
      rule({
        name: 'watch-telnet',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          if (pkt.dstport !== 23) return;
          alert({ description: 'telnet' });
          pkt.drop();
        },
      });
      rule({
        name: 'note-web',
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          if (pkt.dstport === 80 && pkt.flags.syn) alert({ description: 'web' });
        },
      });
      rule({
        name: 'stop-evil',
        on: tcpConnection.events.receiveData,
        eval: (flow, data) => {
          if (!data.includes('evil')) return;
          alert({ description: 'evil' });
          flow.reset();
        },
      });
    });
    const r = await replay({ rules, packets: [syn(40001, 23), ...tcpSession().handshake().send('up', 'evil').frames()] });
    const by = new Map(r.alerts.map((a) => [a.description, a]));
    expect(by.get('telnet')).toMatchObject({ action: 'blocked', reason: { kind: 'rule', rule: 'watch-telnet' } });
    expect(by.get('web')).toMatchObject({ action: 'allowed' });
    expect(by.get('web')?.reason).toBeUndefined();
    expect(by.get('evil')).toMatchObject({ action: 'blocked', reason: { kind: 'flow-action', action: 'reset', rule: 'stop-evil' } });
  });
});
