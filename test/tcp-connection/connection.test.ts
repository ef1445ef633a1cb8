/**
 * The tcp_connection dissector end to end: events, reassembly, actions and the flow log, over
 * sessions built byte by byte (testing/session.ts).
 */
import { describe, expect, it } from 'vitest';
import { defineRules, tcpConnection, type TcpFlow } from 'palisade';
import { replay, tcpSession } from 'palisade/testing';
import { Chain } from '../dissectors/frames.ts';

/** Records every connection event as a line, and each direction's reassembled stream. */
function recorder() {
  const events: string[] = [];
  const streams = new Map<number, { up: Buffer[]; down: Buffer[]; offsets: string[] }>();
  const rules = defineRules(({ rule }) => {
    rule({ on: tcpConnection.events.newConnection, eval: (flow, tcp) => events.push(`new ${flow.id} ${flow.client.port}->${flow.server.port} syn=${tcp.flags.syn}`) });
    rule({ on: tcpConnection.events.receiveData, eval: (flow, data, dir, offset) => {
      const s = streams.get(flow.id) ?? { up: [], down: [], offsets: [] };
      streams.set(flow.id, s);
      s[dir].push(Buffer.from(data));
      s.offsets.push(`${dir}@${offset}`);
    } });
    rule({ on: tcpConnection.events.anomaly, eval: (flow, a) => events.push(`anomaly ${flow.id} ${a.kind} ${a.direction}`) });
    rule({ on: tcpConnection.events.endConnection, eval: (flow) => events.push(`end ${flow.id} ${flow.endReason ?? '?'}`) });
  });
  const text = (id: number, dir: 'up' | 'down'): string => Buffer.concat(streams.get(id)?.[dir] ?? []).toString('latin1');
  return { rules, events, streams, text };
}

describe('connection tracking', () => {
  it('raises newConnection once, receiveData in order with offsets, endConnection once (fin)', async () => {
    const r = recorder();
    const frames = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\n\r\n').send('down', 'HTTP/1.1 200 OK\r\n\r\nhello', { segments: 3 }).close().frames();
    const out = await replay({ rules: r.rules, packets: frames });
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'end 1 fin']);
    expect(r.text(1, 'up')).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(r.text(1, 'down')).toBe('HTTP/1.1 200 OK\r\n\r\nhello');
    expect(r.streams.get(1)?.offsets).toEqual(['up@0', 'down@0', 'down@8', 'down@16']);
    expect(out.flows).toMatchObject([{ conn_state: 'SF', 'id.orig_p': 40000, 'id.resp_p': 80, orig_bytes: 18, resp_bytes: 24, end_reason: 'fin' }]);
    expect(out.flows[0]?.history).toMatch(/^ShAD.*F/i);
    expect(out.dropped).toEqual([]);
  });

  it('counts packets, payload and IP bytes each way in flow.stats, as the flow log does', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.receivePacket, eval: (flow, _tcp, dir) => seen.push(`${dir} ${flow.stats[dir].packets}`) });
      rule({ on: tcpConnection.events.endConnection, eval: (flow) => seen.push(JSON.stringify(flow.stats)) });
    });
    const frames = tcpSession().handshake().send('up', 'ping').send('down', 'pong!').close().frames();
    const out = await replay({ rules, packets: frames });
    const flow = out.flows[0];
    expect(seen.slice(0, 3)).toEqual(['up 1', 'down 1', 'up 2']);
    const stats = JSON.parse(seen[seen.length - 1] ?? '{}') as { up: Record<string, number>; down: Record<string, number> };
    expect(stats).toEqual({
      up: { packets: flow?.orig_pkts, bytes: 4, ipBytes: flow?.orig_ip_bytes },
      down: { packets: flow?.resp_pkts, bytes: 5, ipBytes: flow?.resp_ip_bytes },
    });
    expect(stats.up.packets).toBeGreaterThan(3);
  });

  it('delivers out-of-order segments in order, and an exact retransmission once', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'abcdefghijkl', { segments: 4, ack: false });
    // Frames 3..6 are the four segments: deliver the last first, and resend one.
    s.reorder(3, 6).reorder(4, 5);
    s.resend('up', undefined, { at: 3 });
    const out = await replay({ rules: r.rules, packets: s.close().frames() });
    expect(r.text(1, 'up')).toBe('abcdefghijkl');
    expect(out.flows[0]?.history).toContain('T');
    expect(out.dropped).toEqual([]);
  });

  it('an inconsistent retransmission raises overlap-different-data and goes out normalised: first copy, valid checksum', async () => {
    const r = recorder();
    // Not yet acknowledged: the receiver would take the second copy if it missed the first.
    const s = tcpSession().handshake().send('up', 'USER alice\r\n', { ack: false }).resend('up', 'USER mallo\r\n', { at: 0 }).close();
    const frames = s.frames();
    const out = await replay({ rules: r.rules, packets: frames });
    expect(r.text(1, 'up')).toBe('USER alice\r\n');
    expect(r.events).toContain('anomaly 1 overlap-different-data up');
    expect(out.flows[0]?.history).toContain('I');
    // The resent frame is forwarded, rewritten to what the rules saw, its TCP checksum right.
    const resentId = frames.findIndex((f) => f.includes(Buffer.from('mallo'))) + 1;
    expect(out.dropped).toEqual([]);
    const sent = out.output.find((o) => o.id === resentId);
    expect(sent?.bytes.includes('USER alice')).toBe(true);
    expect(sent?.bytes.includes('mallo')).toBe(false);
    const c = new Chain();
    expect(c.run(sent?.bytes ?? Buffer.alloc(0))).toBe('tcp');
    expect([c.tcp.verifyChecksum(), c.ipv4.verifyChecksum()]).toEqual([true, true]);
    // Only the payload and its checksum changed.
    const original = frames[resentId - 1] as Buffer;
    const changed = [...original.keys()].filter((i) => original[i] !== sent?.bytes[i]);
    expect(changed.every((i) => (i >= 14 + 20 + 16 && i < 14 + 20 + 18) || i >= original.length - 12)).toBe(true);
  });

  it('an inconsistent retransmission under drop-packet is dropped whole; first wins', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'USER alice\r\n', { ack: false }).resend('up', 'USER mallo\r\n', { at: 0 }).close();
    const frames = s.frames();
    const out = await replay({ rules: r.rules, packets: frames, config: { tcp: { policies: { 'overlap-different-data': 'drop-packet' } } } });
    expect(r.text(1, 'up')).toBe('USER alice\r\n');
    const resentId = frames.findIndex((f) => f.includes(Buffer.from('mallo'))) + 1;
    expect(out.dropped).toEqual([resentId]);
  });

  it('is correct across sequence number wraparound', async () => {
    const r = recorder();
    const data = 'x'.repeat(3000) + 'END';
    const frames = tcpSession({ isn: { client: 0xfffffc00, server: 0xffffffff } }).handshake().send('up', data).send('down', 'ok').close().frames();
    await replay({ rules: r.rules, packets: frames });
    expect(r.text(1, 'up')).toBe(data);
    expect(r.text(1, 'down')).toBe('ok');
    expect(r.events.at(-1)).toBe('end 1 fin');
  });

  it('a retransmitted SYN does not open a second connection', async () => {
    const r = recorder();
    const s = tcpSession();
    const syn = s.handshake().frames()[0] as Buffer;
    const frames = [syn, ...s.send('up', 'hi').close().frames()];
    await replay({ rules: r.rules, packets: frames });
    expect(r.events.filter((e) => e.startsWith('new'))).toHaveLength(1);
  });

  it('a RST at the expected sequence number ends the connection (rst); data after it is an anomaly and dropped', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'hello').rst('down');
    const late = tcpSession().handshake().send('up', 'hello').send('up', 'late data').frames().at(-2) as Buffer;
    const frames = [...s.frames(), late];
    const out = await replay({ rules: r.rules, packets: frames });
    // The flow has ended, but it is still in the table: the anomaly event names it.
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'end 1 rst', 'anomaly 1 data-after-rst up']);
    expect(out.stats.anomalies.get('tcp-data-after-rst')).toBe(1);
    expect(out.dropped).toEqual([frames.length]);
    expect(out.flows[0]?.conn_state).toBe('RSTR');
  });

  it('a new SYN on a closed tuple is a new connection (port reuse)', async () => {
    const r = recorder();
    const first = tcpSession({ isn: { client: 1000 } }).handshake().send('up', 'one').close().frames();
    const second = tcpSession({ isn: { client: 900000 } }).handshake().send('up', 'two').close().frames();
    await replay({ rules: r.rules, packets: [...first, ...second] });
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'end 1 fin', 'new 2 40000->80 syn=true', 'end 2 fin']);
    expect(r.text(2, 'up')).toBe('two');
  });

  it('a SYN with another ISN on an open connection ends it with reason reuse', async () => {
    const r = recorder();
    const first = tcpSession({ isn: { client: 1000 } }).handshake().send('up', 'one').frames();
    const second = tcpSession({ isn: { client: 900000 } }).handshake().send('up', 'two').close().frames();
    await replay({ rules: r.rules, packets: [...first, ...second] });
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'end 1 reuse', 'new 2 40000->80 syn=true', 'end 2 fin']);
  });

  it('picks up a connection midstream (policy accept) and marks it', async () => {
    const midstream: boolean[] = [];
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.newConnection, eval: (flow) => midstream.push(flow.midstream) }));
    const frames = tcpSession().handshake().send('up', 'abc').send('down', 'def').close().frames().slice(3);
    const out = await replay({ rules, packets: frames });
    expect(midstream).toEqual([true]);
    expect(out.flows[0]).toMatchObject({ conn_state: 'OTH', midstream: true, 'id.orig_p': 40000 });
  });

  it('midstream policy drop drops the packet with Haka\'s alert', async () => {
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.newConnection, eval: () => undefined }));
    const frames = tcpSession().handshake().send('up', 'abc').frames().slice(3);
    const out = await replay({ rules, packets: frames, config: { tcp: { midstream: 'drop' } } });
    expect(out.dropped).toEqual([1, 2]);
    expect(out.alerts[0]).toMatchObject({ description: 'no connection found for tcp packet' });
  });

  it('ends an idle connection at its timeout, by capture time', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'abc');
    const other = tcpSession({ client: '192.168.10.11:50000' }).handshake().frames();
    // encodePcap stamps frame i at t0 + i s: 10 s timeout, 12 frames later.
    const frames = [...s.frames(), ...Array.from({ length: 12 }, () => other[0] as Buffer)];
    await replay({ rules: r.rules, packets: frames, config: { tcp: { timeouts: { established: 10, embryonic: 100 } } } });
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'new 2 50000->80 syn=true', 'end 1 timeout', 'end 2 shutdown']);
  });

  it('ends every open connection at the end of the capture (shutdown)', async () => {
    const r = recorder();
    await replay({ rules: r.rules, packets: tcpSession().handshake().send('up', 'abc').frames() });
    expect(r.events).toEqual(['new 1 40000->80 syn=true', 'end 1 shutdown']);
  });
});

describe('flow actions', () => {
  it('dropping the SYN refuses the connection: no flow kept, a retransmitted SYN is evaluated again', async () => {
    const seen: number[] = [];
    const rules = defineRules(({ rule, alert }) => rule({
      on: tcpConnection.events.newConnection,
      eval: (flow, tcp) => {
        seen.push(flow.id);
        alert({ description: 'refused', flow });
        tcp.drop();
      },
    }));
    const syn = tcpSession().handshake().frames()[0] as Buffer;
    const out = await replay({ rules, packets: [syn, syn, syn] });
    expect(seen).toEqual([1, 2, 3]);
    expect(out.alerts).toHaveLength(3);
    expect(out.dropped).toEqual([1, 2, 3]);
    expect(out.flows.map((f) => f.end_reason)).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('flow.drop() drops this and every later packet without running rules; endConnection(dropped)', async () => {
    let packets = 0;
    const ends: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receivePacket,
        eval: () => {
          packets++;
        },
      });
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data) => { if (data.includes('evil')) flow.drop(); } });
      rule({ on: tcpConnection.events.endConnection, eval: (flow) => void ends.push(flow.endReason ?? '') });
    });
    const frames = tcpSession().handshake().send('up', 'evil request').send('down', 'reply').close().frames();
    const out = await replay({ rules, packets: frames });
    expect(out.dropped).toEqual(Array.from({ length: frames.length - 3 }, (_, i) => i + 4));
    expect(packets).toBe(4);
    expect(ends).toEqual(['dropped']);
  });

  it('flow.reset() drops the packet and injects RSTs: server→client first, each at the seq its receiver expects', async () => {
    const rules = defineRules(({ rule }) =>
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data, dir) => { if (dir === 'up' && data.includes('rm -rf')) flow.reset(); } }),
    );
    // ISNs 1000000 / 2000000: after 'hello' (5) from the client, the trigger is not forwarded.
    const frames = tcpSession().handshake().send('up', 'hello').send('down', 'ok').send('up', 'rm -rf /').close().frames();
    const out = await replay({ rules, packets: frames });
    expect(out.injected).toHaveLength(2);
    const [toClient, toServer] = out.injected.map((p) => p.bytes);
    const fields = (f: Buffer) => ({ src: f.readUInt32BE(26), seq: f.readUInt32BE(38), ack: f.readUInt32BE(42), flags: f[47], window: f.readUInt16BE(48), ttl: f[22] });
    expect(fields(toClient as Buffer)).toMatchObject({ src: 0xc0a81450, seq: 2000001 + 2, ack: 0, flags: 0x04, window: 0, ttl: 64 });
    expect(fields(toServer as Buffer)).toMatchObject({ src: 0xc0a80a0a, seq: 1000001 + 5, ack: 0, flags: 0x04, window: 0, ttl: 64 });
    // The trigger and everything after it are dropped.
    const trigger = frames.findIndex((f) => f.includes(Buffer.from('rm -rf'))) + 1;
    expect(out.dropped[0]).toBe(trigger);
    expect(out.dropped.at(-1)).toBe(frames.length);
    expect(out.flows[0]?.end_reason).toBe('rst');
  });

  it('flow.halfreset() sends a RST to the server only', async () => {
    const rules = defineRules(({ rule }) =>
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data, dir) => { if (dir === 'down' && data.includes('secret')) flow.halfreset(); } }),
    );
    const frames = tcpSession().handshake().send('up', 'GET /').send('down', 'secret stuff').frames();
    const out = await replay({ rules, packets: frames });
    expect(out.injected).toHaveLength(1);
    const rst = out.injected[0]?.bytes as Buffer;
    // client → server, at the server's expected seq: 1000001 + 5.
    expect([rst.readUInt32BE(26), rst.readUInt32BE(30), rst.readUInt32BE(38), rst[47]]).toEqual([0xc0a80a0a, 0xc0a81450, 1000006, 0x04]);
  });

  it('reset() during the handshake answers the SYN with RST|ACK (a reject)', async () => {
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.newConnection, eval: (flow) => flow.reset() }));
    const out = await replay({ rules, packets: tcpSession().handshake().frames().slice(0, 1) });
    expect(out.injected).toHaveLength(1);
    const rst = out.injected[0]?.bytes as Buffer;
    expect([rst.readUInt32BE(26), rst.readUInt32BE(38), rst.readUInt32BE(42), rst[47]]).toEqual([0xc0a81450, 0, 1000001, 0x14]);
  });

  it('ignoreData() stops receiveData for one direction; bypass() stops every rule', async () => {
    const got: string[] = [];
    let packets = 0;
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.newConnection, eval: (flow: TcpFlow) => flow.ignoreData('down') });
      rule({ on: tcpConnection.events.receivePacket, eval: (flow) => { packets++; if (packets === 5) flow.bypass(); } });
      rule({ on: tcpConnection.events.receiveData, eval: (_f, d, dir) => got.push(`${dir}:${d.toString()}`) });
    });
    await replay({ rules, packets: tcpSession().handshake().send('up', 'a').send('down', 'b').send('up', 'c').close().frames() });
    expect(got).toEqual(['up:a']);
    expect(packets).toBe(5);
  });
});

describe('memory stays bounded', () => {
  it('under a SYN flood: the table holds at most maxFlows, the oldest half-open ones go first', async () => {
    let opened = 0;
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.newConnection, eval: () => opened++ }));
    const frames: Buffer[] = [];
    for (let i = 0; i < 3000; i++) frames.push(tcpSession({ client: `10.${(i >> 8) & 255}.${i & 255}.1:${1024 + i}` }).handshake().frames()[0] as Buffer);
    // replay() stamps frames a second apart: keep the half-open ones from timing out first.
    const out = await replay({ rules, packets: frames, config: { tcp: { maxFlows: 500, timeouts: { embryonic: 86_400 } } } });
    expect(opened).toBe(3000);
    expect(out.flows.filter((f) => f.end_reason === 'memcap')).toHaveLength(2500);
    expect(out.dropped).toEqual([]);
  });

  it('under a SYN flood: half-open connections stay within tcp.maxEmbryonic, established ones are untouched', async () => {
    const frames: Buffer[] = [...tcpSession({ client: '192.168.1.1:5000' }).handshake().send('up', 'before').frames()];
    for (let i = 0; i < 2000; i++) frames.push(tcpSession({ client: `10.${(i >> 8) & 255}.${i & 255}.1:${1024 + i}` }).handshake().frames()[0] as Buffer);
    frames.push(...tcpSession({ client: '192.168.1.1:5000' }).handshake().send('up', 'before').send('up', 'after').frames().slice(-2));
    const got: string[] = [];
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.receiveData, eval: (_f, data) => got.push(data.toString()) }));
    const out = await replay({ rules, packets: frames, config: { tcp: { maxEmbryonic: 300, timeouts: { embryonic: 86_400, established: 86_400 } } } });
    // The table never held more than 300 half-open flows (+ the established one): 1700 forgotten.
    expect(out.flows.filter((f) => f.end_reason === 'memcap')).toHaveLength(1700);
    expect(got).toEqual(['before', 'after']);
  });

  it('under endless out-of-order data: held bytes never pass the caps', async () => {
    let maxHeld = 0;
    const { createEngine } = await import('palisade');
    const { Writable } = await import('node:stream');
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const rules = defineRules(({ rule }) => rule({ on: tcpConnection.events.receiveData, eval: () => undefined }));
    const engine = createEngine({ rules, alerts: sink, log: sink, config: { tcp: { reassembly: { maxBytes: 65536, memcap: 200_000, maxSegments: 1000 } } } });
    let t = 0;
    for (let c = 0; c < 10; c++) {
      const s = tcpSession({ client: `10.0.0.${c + 1}:4000` }).handshake();
      // A hole at offset 0 that never fills, then 1000-byte segments past it.
      for (let i = 1; i < 300; i++) s.segment('up', { offset: i * 1000, data: Buffer.alloc(1000, i) });
      for (const f of s.frames()) {
        engine.push(f, { secs: 1_700_000_000 + t++, nsecs: 0 }, 1);
        maxHeld = Math.max(maxHeld, engine.reassemblyMemory);
      }
    }
    expect(maxHeld).toBeLessThanOrEqual(200_000);
    expect(maxHeld).toBeGreaterThan(100_000);
    expect(engine.stats.anomalies.get('tcp-reassembly-memcap')).toBeGreaterThan(0);
    engine.close();
    expect(engine.reassemblyMemory).toBe(0);
  });
});

describe('windows', () => {
  it('data far outside the receiver window is not buffered: anomaly out-of-window', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'in window');
    // 2^30 bytes ahead: no receiver window (even scaled) reaches that far.
    s.segment('up', { offset: 2 ** 30 + 9, data: 'far away' });
    const out = await replay({ rules: r.rules, packets: s.close().frames() });
    expect(r.events).toContain('anomaly 1 out-of-window up');
    expect(r.text(1, 'up')).toBe('in window');
    expect(out.stats.anomalies.get('tcp-out-of-window')).toBe(1);
  });

  it('bytes sent into a zero window are not given to rules: the receiver drops them, and other bytes may come in their place', async () => {
    const r = recorder();
    const s = tcpSession().handshake().send('up', 'hello ');
    // The server's window closes; the client's probe carries bytes the server throws away.
    s.segment('down', { offset: 0, window: 0 });
    s.segment('up', { offset: 6, data: 'EVIL' });
    // The window opens; other bytes come at the same offset, and these the server takes.
    s.segment('down', { offset: 0, window: 65535 });
    s.send('up', 'GOOD');
    const out = await replay({ rules: r.rules, packets: s.close().frames() });
    expect(r.text(1, 'up')).toBe('hello GOOD');
    expect(r.events.filter((e) => e.startsWith('anomaly'))).toEqual(['anomaly 1 out-of-window up']);
    expect(out.stats.anomalies.get('tcp-out-of-window')).toBe(1);
    expect(out.stats.anomalies.get('tcp-overlap-different-data')).toBeUndefined();
  });
});

describe('flowState', () => {
  it('keeps typed state per flow, readable in endConnection, then released', async () => {
    const seen: string[] = [];
    let kept: object | undefined;
    let bytes: ((flow: object) => { up: number; down: number }) | undefined;
    const rules = defineRules(({ rule, flowState }) => {
      const state = flowState(() => ({ up: 0, down: 0 }));
      bytes = state;
      rule({ on: tcpConnection.events.receiveData, eval: (flow, data, dir) => { state(flow)[dir] += data.length; } });
      rule({
        on: tcpConnection.events.endConnection,
        eval: (flow) => {
          seen.push(`${flow.id}: ${state(flow).up}/${state(flow).down}`);
          kept = flow;
        },
      });
    });
    const a = tcpSession().handshake().send('up', 'abc').send('down', 'defgh').close().frames();
    const b = tcpSession({ client: '192.168.10.11:40001' }).handshake().send('up', 'xy').close().frames();
    await replay({ rules, packets: [...a, ...b] });
    expect(seen).toEqual(['1: 3/5', '2: 2/0']);
    // Released: asking again starts from the initial state.
    expect(kept && bytes?.(kept)).toEqual({ up: 0, down: 0 });
  });
});
