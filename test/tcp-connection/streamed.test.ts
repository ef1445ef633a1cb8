/**
 * Streamed rules (design §3): TcpStream reads across segments, packets held until every
 * streamed rule has read their bytes, a reset keeping the forbidden bytes out of the output,
 * the hold cap, flow.send(), rule errors, and flow dissectors with typed events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, defineFlowDissector, defineRules, flowEvent, packet, tcp, tcpConnection, type TcpFlow } from '../../index.ts';
import { openCapture } from '../../core/io/capture.ts';
import { replay, tcpSession, type OutputPacket } from '../../testing.ts';
import { dissectLink, LinkLayer } from '../../dissectors/link.ts';
import { dissectIpv4, Ipv4Packet } from '../../dissectors/ipv4.ts';
import { dissectTcp, TcpPacket } from '../../dissectors/tcp.ts';
import { Packet } from '../../dissectors/packet.ts';
import { Stats } from '../../core/stats.ts';
import { KEPT_FRAME_OVERHEAD } from '../../dissectors/tcp-connection/hold.ts';

interface Seg {
  id: number;
  injected: boolean;
  srcport: number;
  flags: number;
  seq: number;
  payload: Buffer;
}

/** Decodes the output frames' TCP headers with palisade's own dissectors. */
function segments(output: readonly OutputPacket[]): Seg[] {
  const stats = new Stats();
  return output.map((o) => {
    const pkt = new Packet();
    pkt.point(o.bytes, o.secs, o.nsecs, o.linkType, o.id);
    const link = new LinkLayer();
    const ip = new Ipv4Packet();
    const t = new TcpPacket();
    if (!dissectLink(o.linkType, o.bytes, link, stats) || !dissectIpv4(ip, pkt, o.bytes, link.offset, stats) || !dissectTcp(t, ip, stats)) {
      throw new Error(`output frame ${o.id} is not TCP/IPv4`);
    }
    return { id: o.id, injected: o.injected, srcport: t.srcport, flags: t.flagsByte, seq: t.seq, payload: Buffer.from(t.payload) };
  });
}

/** What the server received: the client's payload in the output, in order. */
const upBytes = (output: readonly OutputPacket[]): string =>
  segments(output)
    .filter((s) => s.srcport === 40000 && !s.injected)
    .map((s) => s.payload.toString('latin1'))
    .join('');

describe('streamed rules', () => {
  it('reads lines across segments and sees every byte once, in order', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'lines',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          for await (const line of stream.lines()) seen.push(`${direction}:${line}`);
          seen.push(`${direction}:eof@${stream.position}`);
        },
      });
    });
    const pcap = tcpSession()
      .handshake()
      .send('up', 'HELO a\r\nMAIL FR', { segments: 3 })
      .send('up', 'OM:<x>\r\nRCPT', { segments: 2 })
      .send('down', '250 ok\n')
      .send('up', ' TO:<y>\r\n')
      .close()
      .pcap();
    const r = await replay({ rules, pcap });
    expect(seen.filter((l) => l.startsWith('up:'))).toEqual(['up:HELO a', 'up:MAIL FROM:<x>', 'up:RCPT TO:<y>', 'up:eof@36']);
    expect(seen.filter((l) => l.startsWith('down:'))).toEqual(['down:250 ok', 'down:eof@7']);
    // Nothing dropped, every frame went out, the stream intact.
    expect(r.dropped).toEqual([]);
    expect(r.output.filter((o) => !o.injected)).toHaveLength(r.verdicts.size);
    expect(upBytes(r.output)).toBe('HELO a\r\nMAIL FROM:<x>\r\nRCPT TO:<y>\r\n');
  });

  it('read(n) waits for n bytes across segments; read() returns what has arrived', async () => {
    const got: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction === 'down') return;
          const head = await stream.read(6);
          got.push(`${head?.toString()}@${stream.position}`);
          for (let c = await stream.read(); c !== null; c = await stream.read()) got.push(c.toString());
          got.push(`eof:${String(stream.eof)}`);
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'abcdefgh', { segments: 4 }).send('up', 'ij').close().pcap();
    await replay({ rules, pcap });
    expect(got[0]).toBe('abcdef@6');
    expect(got.slice(1, -1).join('')).toBe('ghij');
    expect(got.at(-1)).toBe('eof:true');
  });

  it('misusing a stream (a negative read, two reads at once) is a coded rule error, PAL_ERR_RULE_INVALID', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'negative',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction === 'up') await stream.read(-1);
        },
      });
      rule({
        name: 'two-at-once',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction === 'up') await Promise.all([stream.read(100), stream.read(100)]);
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'hello\r\n').close().pcap();
    const r = await replay({ rules, pcap, config: { ruleErrorPolicy: 'accept' } });
    const errors = r.logs.filter((l) => l.rule !== undefined).map((l) => [l.rule, (l.err as { message: string }).message]);
    expect(errors).toEqual([
      ['negative', 'PAL_ERR_RULE_INVALID: TcpStream.read(-1): want a non-negative integer'],
      ['two-at-once', 'PAL_ERR_RULE_INVALID: TcpStream: one read at a time (await the previous read first)'],
    ]);
  });

  it('a reset keeps every byte from the forbidden line onward out of the output, and sends the RSTs', async () => {
    const rules = defineRules(({ rule, alert }) => {
      rule({
        name: 'no-debug',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (flow, stream, direction) => {
          if (direction !== 'up') return;
          for await (const line of stream.lines()) {
            if (line.includes('DEBUG')) {
              alert({ description: 'debug command' });
              flow.reset();
              return;
            }
          }
        },
      });
    });
    const pcap = tcpSession()
      .handshake()
      .send('up', 'HELO a\r\n')
      .send('down', '250 hi\r\n')
      // The forbidden command arrives split over 5 segments, then more data follows.
      .send('up', 'DEBUG everything\r\n', { segments: 5 })
      .send('up', 'QUIT\r\n')
      .close()
      .pcap();
    const r = await replay({ rules, pcap });
    // The server got the first line, and not one byte of the forbidden one or after it.
    expect(upBytes(r.output)).toBe('HELO a\r\n');
    // Two RSTs, server→client first (Haka), at what each receiver expects: only forwarded bytes count.
    const rsts = segments(r.injected);
    expect(rsts).toHaveLength(2);
    expect(rsts.map((s) => s.srcport)).toEqual([80, 40000]);
    expect(rsts[1]?.seq).toBe(1000001 + 'HELO a\r\n'.length);
    expect(rsts[0]?.seq).toBe(2000001 + '250 hi\r\n'.length);
    // The five held segments were dropped, not forwarded.
    expect(r.dropped.length).toBeGreaterThanOrEqual(5);
    expect(r.flows[0]?.end_reason).toBe('rst');
    // The alert names the rule and the frame that completed the line (the 5th DEBUG segment).
    expect(r.alerts).toEqual([expect.objectContaining({ rule: 'no-debug', description: 'debug command', packet: 12 })]);
  });

  it('holds a packet until the rule has read it; data it never asks for goes at the end of the stream', async () => {
    const order: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction !== 'up') return;
          await stream.read(3);
          order.push(`read3@${stream.position}`);
          // Stops reading: the rest is released when its run ends (end of stream).
          await new Promise((resolve) => setTimeout(resolve, 5));
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'abcdef', { segments: 2 }).close().pcap();
    const r = await replay({ rules, pcap });
    expect(order).toEqual(['read3@3']);
    expect(upBytes(r.output)).toBe('abcdef');
    expect(r.dropped).toEqual([]);
  });

  it('a held frame going out fires packet.sendPacket like every frame; a rule there can still drop it', async () => {
    const sent: number[] = [];
    const rules = defineRules(({ rule, alert }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction !== 'up') return;
          // Reads a line at a time: each frame waits until the next read says the rule is done with it.
          while ((await stream.readLine()) !== null) continue;
        },
      });
      rule({
        name: 'no-two',
        on: packet.events.sendPacket,
        eval: (pkt) => {
          sent.push(pkt.id);
          if (pkt.bytes.includes('two')) {
            alert({ description: 'two' });
            pkt.drop();
          }
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'one\n').send('up', 'two\n').send('up', 'three\n').close().pcap();
    const r = await replay({ rules, pcap });
    const out = r.output.filter((o) => !o.injected).map((o) => o.id);
    // Every frame went through packet.sendPacket exactly once, the held ones when released.
    expect([...sent].sort((a, b) => a - b)).toEqual([...out, ...r.dropped].sort((a, b) => a - b));
    expect(new Set(sent).size).toBe(sent.length);
    // The data frame the sendPacket rule dropped (held, then released) never reached the server.
    expect(r.dropped).toHaveLength(1);
    expect(upBytes(r.output)).toBe('one\nthree\n');
    // Its alert names that frame, not the packet being handled when it was released.
    expect(r.alerts.map((a) => [a.rule, a.packet])).toEqual([['no-two', r.dropped[0]]]);
  });

  it('a frame held for a run that then ends on its own goes out at once, without settle() or a next packet (inline)', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        // Returns before reading (a rule for other ports): what its stream held goes when the run ends.
        eval: () => Promise.resolve(),
      });
    });
    const forwarded: number[] = [];
    const engine = createEngine({ rules, alerts: 'stdout', log: 'stderr', output: { forward: (_b, _s, _n, _l, id) => forwarded.push(id) } });
    const frames = tcpSession().handshake().send('up', 'hello', { ack: false }).frames();
    const verdicts = frames.map((f, i) => engine.push(f, { secs: 1_700_000_000 + i, nsecs: 0 }, 1));
    // The data frame was held: its verdict waits for the run.
    expect(verdicts.at(-1)).toBe('pending');
    // As a queue worker does between batches: let the event loop turn, call nothing.
    await new Promise((resolve) => setImmediate(resolve));
    expect(forwarded).toEqual(frames.map((_, i) => i + 1));
    engine.close();
  });

  it('a held frame counts at what it costs, not only its bytes: each of 40 one-byte segments held takes its frame and 256 more', async () => {
    const { Writable } = await import('node:stream');
    const nowhere = new Writable({ write: (_c, _e, done) => { done(); } });
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        // Reads nothing before the end: every data frame is held.
        eval: async (_flow, stream) => {
          await stream.read(1 << 30);
        },
      });
    });
    const frames = tcpSession().handshake().send('up', 'x'.repeat(40), { segments: 40, ack: false }).frames();
    const engine = createEngine({ rules, alerts: nowhere, log: nowhere });
    for (const [i, f] of frames.entries()) {
      engine.push(f, { secs: 1_700_000_000 + i, nsecs: 0 }, 1);
      if (engine.busy) await engine.settle();
    }
    // The handshake's three frames go at once; the 40 data frames wait, each a whole frame.
    const held = frames.slice(3).reduce((n, f) => n + f.length + KEPT_FRAME_OVERHEAD, 0);
    expect(frames.length).toBe(43);
    expect(engine.heldMemory).toBe(held);
    // And the memcap counts them so.
    expect(engine.memory).toBeGreaterThanOrEqual(held);
    engine.flush();
    await engine.settle();
    engine.close();
    expect(engine.heldMemory).toBe(0);
  });

  it('caps what is held: past tcp.hold.maxBytes the hold-cap anomaly releases it and the stream ends truncated', async () => {
    let truncated = false;
    let maxHeld = 0;
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        // Never reads until the stream ends: everything waits for it.
        eval: async (_flow, stream) => {
          await stream.read(1 << 30);
          truncated ||= stream.truncated;
        },
      });
    });
    const data = Buffer.alloc(200_000, 0x61);
    const pcap = tcpSession({ mss: 1000 }).handshake().send('up', data).close().pcap();
    const dir = mkdtempSync(join(tmpdir(), 'palisade-hold-'));
    try {
      writeFileSync(join(dir, 'c.pcap'), pcap);
      const forwarded: number[] = [];
      const engine = createEngine({
        rules,
        config: { tcp: { hold: { maxBytes: 32768 } } },
        alerts: 'stdout',
        log: 'stderr',
        output: { forward: (_b, _s, _n, _l, id) => forwarded.push(id) },
      });
      const reader = openCapture(join(dir, 'c.pcap'));
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        engine.push(rec.data, rec, rec.linkType);
        if (engine.busy) await engine.settle();
        maxHeld = Math.max(maxHeld, engine.heldMemory);
      }
      reader.close();
      engine.flush();
      await engine.settle();
      engine.close();
      expect(maxHeld).toBeLessThanOrEqual(32768);
      expect(maxHeld).toBeGreaterThan(16384);
      expect(engine.stats.anomalies.get('tcp-hold-cap')).toBe(1);
      expect(truncated).toBe(true);
      // Every frame went out in the end (policy accept), each once.
      expect(new Set(forwarded).size).toBe(forwarded.length);
      expect(forwarded.length).toBe(engine.stats.packets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flow.send() releases what the rule has read without waiting for its next read', async () => {
    const events: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (flow, stream, direction) => {
          if (direction !== 'up') return;
          await stream.read(4);
          flow.send('up');
          // Busy with something else for a while: only send() lets the segment go meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 30));
          events.push('rule-done');
          await stream.read(1000);
        },
      });
    });
    const engine = createEngine({
      rules,
      alerts: 'stdout',
      log: 'stderr',
      output: { forward: (_b, _s, _n, _l, id) => events.push(`fwd:${id}`) },
    });
    const frames = tcpSession().handshake().send('up', 'abcd', { ack: false }).frames();
    let ts = 0;
    const verdicts = frames.map((f) => engine.push(f, { secs: ++ts, nsecs: 0 }, 1));
    expect(verdicts).toEqual(['accept', 'accept', 'accept', 'pending']);
    await engine.settle();
    engine.close();
    expect(events).toEqual(['fwd:1', 'fwd:2', 'fwd:3', 'fwd:4', 'rule-done']);
  });

  it('an exception in a streamed rule is a rule error: logged, alerted, the flow dropped (fail closed)', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'throws',
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream, direction) => {
          if (direction !== 'up') return;
          await stream.readLine();
          throw new Error('parser bug');
        },
      });
    });
    const pcap = tcpSession().handshake().send('up', 'one\n').send('up', 'two\n').close().pcap();
    const r = await replay({ rules, pcap });
    expect(r.stats.ruleErrors).toBe(1);
    expect(r.alerts).toContainEqual(expect.objectContaining({ rule: 'throws', description: 'rule error: parser bug' }));
    expect(upBytes(r.output)).toBe('');
    expect(r.flows[0]?.end_reason).toBe('dropped');
  });
});

describe('flow dissectors', () => {
  interface Command {
    verb: string;
    args: string;
  }
  const lineProto = defineFlowDissector({
    name: 'lineproto',
    events: {
      command: flowEvent<[flow: TcpFlow, command: Command]>(),
      reply: flowEvent<[flow: TcpFlow, code: number]>(),
    },
    async receiveStreamed(flow, stream, direction, emit) {
      for await (const line of stream.lines()) {
        if (direction === 'up') {
          const [verb = '', ...rest] = line.split(' ');
          emit.command(flow, { verb: verb.toUpperCase(), args: rest.join(' ') });
        } else {
          emit.reply(flow, Number(line.slice(0, 3)));
        }
      }
    },
  });

  it('onPort enables it; rules get its typed events and can reset through its flow', async () => {
    const commands: string[] = [];
    const replies: number[] = [];
    const rules = defineRules(({ rule }) => {
      lineProto.onPort(25);
      rule({
        on: lineProto.events.command,
        eval: (flow, cmd) => {
          commands.push(cmd.verb);
          if (cmd.verb === 'EXPN') flow.reset();
        },
      });
      rule({ on: lineProto.events.reply, eval: (_flow, code) => replies.push(code) });
    });
    const smtp = tcpSession({ server: '192.168.20.25:25' })
      .handshake()
      .send('down', '220 hello\r\n')
      .send('up', 'HELO x\r\n')
      .send('down', '250 ok\r\n')
      .send('up', 'EXPN staff\r\n', { segments: 3 })
      .send('up', 'QUIT\r\n')
      .close();
    // Not port 25: the dissector stays off.
    const other = tcpSession({ server: '192.168.20.26:2525', client: '192.168.10.11:41000' }).handshake().send('up', 'EXPN x\r\n').close();
    const r = await replay({ rules, packets: [...smtp.frames(), ...other.frames()] });
    expect(commands).toEqual(['HELO', 'EXPN']);
    expect(replies).toEqual([220, 250]);
    expect(upBytes(r.output)).toBe('HELO x\r\n');
    expect(r.injected).toHaveLength(2);
    expect(r.flows.map((f) => f.end_reason)).toEqual(['rst', 'fin']);
  });

  it('reassembles only the flows it is enabled on', async () => {
    const { Writable } = await import('node:stream');
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const rules = defineRules(({ rule }) => {
      lineProto.onPort(25);
      rule({ on: lineProto.events.command, eval: () => undefined });
    });
    const engine = createEngine({ rules, alerts: sink, log: sink });
    /** Reassembly memory after a session whose first bytes never come (what follows waits out of order). */
    const buffered = (server: string): number => {
      const s = tcpSession({ server, client: '192.168.10.11:41000' }).handshake();
      s.segment('up', { offset: 10, data: Buffer.from('VRFY x\r\n') });
      for (const f of s.frames()) engine.push(f, { secs: 1_700_000_000, nsecs: 0 }, 1);
      return engine.reassemblyMemory;
    };
    expect(buffered('192.168.20.26:2525')).toBe(0);
    expect(buffered('192.168.20.25:25')).toBeGreaterThan(0);
    engine.close();
  });

  it('onPort outside defineRules is a coded error', () => {
    expect(() => {
      lineProto.onPort(25);
    }).toThrow(/inside defineRules/);
  });
});

describe('reassembly on demand', () => {
  it('a rule listening only to anomalies gets the stream ones (overlap-different-data)', async () => {
    const kinds: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: tcpConnection.events.anomaly, eval: (_flow, a) => kinds.push(a.kind) });
    });
    const pcap = tcpSession().handshake().send('up', 'hello world', { ack: false }).resend('up', 'HELLO world').close().pcap();
    const r = await replay({ rules, pcap });
    expect(kinds).toEqual(['overlap-different-data']);
    // The default policy, normalize, forwards the copy that differs rewritten to the first one.
    expect(r.dropped).toEqual([]);
    expect(r.output.find((o) => o.id === 5)?.bytes.includes('hello world')).toBe(true);
  });
});

describe('holding segments carried in IP fragments', () => {
  it('holds every fragment of the datagram; a reset drops them all, so the line never arrives', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (flow, stream, direction) => {
          if (direction !== 'up') return;
          for await (const line of stream.lines()) {
            if (line.startsWith('VRFY')) {
              flow.reset();
              return;
            }
          }
        },
      });
    });
    const session = tcpSession().handshake().send('up', 'HELO a\r\n').send('up', 'VRFY root\r\n', { fragment: 8 }).close();
    const frames = session.frames();
    const r = await replay({ rules, packets: frames });
    // The fragments of the VRFY segment were held, then dropped with the flow: none went out.
    const out = new Set(r.output.filter((o) => !o.injected).map((o) => o.id));
    const fragmentIds = [...r.verdicts.keys()].filter((id) => {
      const f = frames[id - 1] as Buffer;
      return f.readUInt16BE(12) === 0x0800 && (f.readUInt16BE(20) & 0x3fff) !== 0;
    });
    expect(fragmentIds.length).toBeGreaterThanOrEqual(2);
    for (const id of fragmentIds) {
      expect(out.has(id)).toBe(false);
      expect(r.verdicts.get(id)).toBe('drop');
    }
    expect(r.injected).toHaveLength(2);
    expect(upBytes(r.output)).toBe('HELO a\r\n');
  });
});

describe('a held frame dropped by a later rule', () => {
  it('leaves its queue: dropped, not released later, and its bytes no longer counted as held', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        options: { streamed: true },
        eval: async (_flow, stream) => {
          for (let line = await stream.readLine(); line !== null; line = await stream.readLine()) {
            // Reads every line and finds nothing: only the later rule drops.
          }
        },
      });
      // tcp.sendPacket runs after the tracker held the frame: dropping it there cancels the hold.
      rule({ on: tcp.events.sendPacket, eval: (pkt) => (pkt.payload.includes('bad') ? pkt.drop() : undefined) });
    });
    const forwarded: number[] = [];
    const engine = createEngine({ rules, alerts: 'stdout', log: 'stderr', output: { forward: (_b, _s, _n, _l, id) => forwarded.push(id) } });
    let t = 0;
    const verdicts: string[] = [];
    for (const f of tcpSession().handshake().send('up', 'ok ').send('up', 'bad\n', { ack: false }).frames()) {
      verdicts.push(engine.push(f, { secs: ++t, nsecs: 0 }, 1));
      await engine.settle();
    }
    // 'ok ' (frame 4) waits for its line; 'bad\n' (frame 6) is dropped by the later rule.
    expect(verdicts).toEqual(['accept', 'accept', 'accept', 'pending', 'accept', 'drop']);
    // The rule read the line ('ok bad'): frame 4 went; frame 6 left its queue, nothing is held.
    expect(engine.heldMemory).toBe(0);
    engine.flush();
    await engine.settle();
    engine.close();
    expect(forwarded).toEqual([1, 2, 3, 5, 4]);
    expect(engine.stats.dropped).toBe(1);
  });
});
