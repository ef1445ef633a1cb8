/**
 * `ctl trace` without namespaces: the flow selection the command line gives, a queue's trace
 * over a real engine (one at a time, ended after N traces), and the whole request over a real
 * control socket, down to the engine, where a client that goes away leaves no tracer behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { createEngine, defineRules, tcpConnection, type FrameTrace } from 'palisade';
import { tcpSession } from 'palisade/testing';
import { flowMatcher, parseFlowSelection } from '../../core/trace/flow-selection.ts';
import { traceRequest } from '../../core/cli/ctl.ts';
import { QueueTrace, type QueueTraceEnd } from '../../core/inline/queue-trace.ts';
import { TraceRequests, type TraceTarget } from '../../core/inline/trace-requests.ts';
import { listenControl, request } from '../../core/inline/control.ts';

const key = (client: string, server: string, flow = 1, proto: 'tcp' | 'udp' = 'tcp') => ({ proto, flow, client, server });

describe('ctl trace: the flow selection', () => {
  it('a 5-tuple matches its connection whichever way round it is written, and nothing else', () => {
    const select = parseFlowSelection(['tcp', '10.0.0.2:80', '10.0.0.1:40000']);
    expect(select).toEqual({ proto: 'tcp', a: '10.0.0.2:80', b: '10.0.0.1:40000' });
    const match = flowMatcher(select);
    expect(match(key('10.0.0.1:40000', '10.0.0.2:80'))).toBe(true);
    expect(match(key('10.0.0.2:80', '10.0.0.1:40000'))).toBe(true);
    expect(match(key('10.0.0.1:40001', '10.0.0.2:80'))).toBe(false);
    expect(match(key('10.0.0.1:40000', '10.0.0.2:80', 1, 'udp'))).toBe(false);
    expect(flowMatcher(parseFlowSelection(['udp', '10.0.0.1:5353', '10.0.0.9:53']))(key('10.0.0.1:5353', '10.0.0.9:53', 4, 'udp'))).toBe(true);
  });

  it('IPv6 endpoints are written as the engine writes them (RFC 5952, in brackets)', () => {
    const select = parseFlowSelection(['tcp', '[FD77:201:0:0::1]:40000', '[fd77:201::2]:9000']);
    expect(select).toEqual({ proto: 'tcp', a: '[fd77:201::1]:40000', b: '[fd77:201::2]:9000' });
    expect(flowMatcher(select)(key('[fd77:201::1]:40000', '[fd77:201::2]:9000'))).toBe(true);
  });

  it('a flow id is a number or a flow record uid, and matches that flow of any protocol', () => {
    expect(parseFlowSelection(['12'])).toEqual({ flow: 12 });
    expect(parseFlowSelection(['C12'])).toEqual({ flow: 12 });
    const match = flowMatcher({ flow: 12 });
    expect(match(key('a:1', 'b:2', 12))).toBe(true);
    expect(match(key('a:1', 'b:2', 12, 'udp'))).toBe(true);
    expect(match(key('a:1', 'b:2', 13))).toBe(false);
  });

  it.each([
    [[], /takes a flow id \(12 or C12\) or a 5-tuple/],
    [['tcp', '10.0.0.1:40000'], /needs two endpoints after tcp/],
    [['icmp', '10.0.0.1:1', '10.0.0.2:2'], /not 'icmp 10.0.0.1:1 10.0.0.2:2'/],
    [['tcp', '10.0.0.1', '10.0.0.2:80'], /'10.0.0.1' is not an endpoint: write ip:port/],
    [['tcp', '10.0.0.1:70000', '10.0.0.2:80'], /'10.0.0.1:70000' has port 70000; ports go up to 65535/],
    [['tcp', '10.0.0.256:1', '10.0.0.2:80'], /has '10.0.0.256', which is not an IPv4 address/],
    [['tcp', 'fd77::1:80', '10.0.0.2:80'], /is not an endpoint/],
    [['tcp', '[10.0.0.1]:80', '10.0.0.2:80'], /not an IPv6 address/],
    [['0'], /flow ids count from 1/],
    [['D12'], /not 'D12'/],
  ])('%j is a usage error saying what to write', (words, message) => {
    expect(() => parseFlowSelection(words)).toThrow(message);
    expect(() => parseFlowSelection(words)).toThrow(expect.objectContaining({ code: 'PAL_ERR_USAGE' }) as Error);
  });

  it('the command line gives a request with the defaults, and refuses a bad count or queue', () => {
    expect(traceRequest(['C3'], {}, 60)).toEqual({ cmd: 'trace', select: { flow: 3 }, packets: 10, seconds: 60 });
    expect(traceRequest(['3'], { packets: '2', queue: '1' }, 5)).toEqual({ cmd: 'trace', select: { flow: 3 }, packets: 2, seconds: 5, queue: 1 });
    expect(() => traceRequest(['3'], { packets: '0' }, 60)).toThrow(/--packets takes a number of traces, 1 to 10000, not '0'/);
    expect(() => traceRequest(['3'], { packets: 'many' }, 60)).toThrow(/--packets/);
    expect(() => traceRequest(['3'], { queue: '-1' }, 60)).toThrow(/--queue takes a queue number \(0 to 65535\), not '-1'/);
  });
});

// 1-3 handshake, 4 "hello", 5 its ACK, 6 "world", 7 its ACK: one connection, and another one.
const first = tcpSession().handshake().send('up', 'hello').send('up', 'world').frames();
const other = tcpSession({ client: '192.168.10.11:40001', server: '192.168.20.80:80' }).handshake().send('up', 'other').frames();
const rules = defineRules(({ rule }) => {
  rule({ name: 'sees-data', on: tcpConnection.events.receiveData, eval: () => undefined });
});
const quiet = () => new Writable({ write: (_c: Buffer, _e, done) => { done(); } });
let clock = 1_800_000_000;
const push = (engine: ReturnType<typeof createEngine>, frames: Buffer[]): string[] => frames.map((f) => engine.push(f, { secs: clock++, nsecs: 0 }, 1));

describe('ctl trace: a queue traces one request at a time', () => {
  it('traces only the selected flow, N frames, then ends by itself; verdicts are those untraced', () => {
    const traced = createEngine({ rules, alerts: quiet(), log: quiet() });
    const plain = createEngine({ rules, alerts: quiet(), log: quiet() });
    const q = new QueueTrace(0, traced);
    const traces: FrameTrace[] = [];
    const ends: QueueTraceEnd[] = [];
    q.start(1, parseFlowSelection(['tcp', '192.168.20.80:80', '192.168.10.10:40000']), 3, (t) => traces.push(t), (e) => ends.push(e));
    expect(q.active).toBe(true);
    const frames = [...other.slice(0, 3), ...first];
    expect(push(traced, frames)).toEqual(push(plain, frames));
    // The other connection's handshake came first: frames 4-6 are the first three of this one.
    expect(traces.map((t) => t.frame)).toEqual([4, 5, 6]);
    for (const t of traces) expect(t.steps).toContainEqual(expect.objectContaining({ step: 'flow', client: '192.168.10.10:40000', server: '192.168.20.80:80' }));
    expect(ends).toEqual(['packets']);
    expect(q.active).toBe(false);
    traced.close();
    plain.close();
  });

  it('a second trace is refused with PAL_ERR_TRACE_BUSY; a stop names its own trace; a trace that throws fails no packet', () => {
    const engine = createEngine({ rules, alerts: quiet(), log: quiet() });
    const q = new QueueTrace(2, engine);
    const ends: QueueTraceEnd[] = [];
    q.start(
      1,
      { flow: 1 },
      100,
      () => {
        throw new Error('the channel is gone');
      },
      (e) => ends.push(e),
    );
    expect(() => {
      q.start(2, { flow: 1 }, 1, () => undefined, () => undefined);
    }).toThrow(expect.objectContaining({ code: 'PAL_ERR_TRACE_BUSY', message: expect.stringMatching(/^queue 2 is tracing for another palisade ctl trace already/) as string }) as Error);
    expect(push(engine, first.slice(0, 4))).toEqual(['accept', 'accept', 'accept', 'accept']);
    expect(engine.stats.ruleErrors).toBe(0);
    q.stop(2);
    expect(q.active).toBe(true);
    q.stop(1);
    expect(ends).toEqual(['stopped']);
    expect(q.active).toBe(false);
    q.start(3, { flow: 1 }, 1, () => undefined, (e) => ends.push(e));
    q.close();
    expect(ends).toEqual(['stopped', 'shutdown']);
    engine.close();
  });
});

describe('ctl trace over the control socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pal-trace-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** One queue, its engine traced by QueueTrace as a worker's is; what crosses the worker's channel is left out. */
  async function setUp(name: string) {
    const engine = createEngine({ rules, alerts: quiet(), log: quiet() });
    const q = new QueueTrace(0, engine);
    let nextId = 1;
    const target: TraceTarget = {
      queue: 0,
      alive: true,
      trace: (select, packets, onTrace, onEnd) => {
        const id = nextId++;
        q.start(id, select, packets, onTrace, onEnd);
        return Promise.resolve(() => {
          q.stop(id);
        });
      },
    };
    const requests = new TraceRequests(() => [target]);
    const path = join(dir, name);
    const server = await listenControl(path, (req, session) => (req.cmd === 'trace' ? requests.run(req, session) : Promise.resolve(null)));
    return { engine, q, path, server };
  }

  const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  };

  it('streams a tracing line, then each trace with its queue, then the summary', async () => {
    const { engine, path, server } = await setUp('stream.sock');
    const lines: Record<string, unknown>[] = [];
    const reply = request(path, { cmd: 'trace', select: { flow: 1 }, packets: 2, seconds: 10 }, 15_000, { onLine: (l) => lines.push(l) });
    await waitFor(() => lines.length > 0, 'the tracing line');
    expect(lines[0]).toEqual({ type: 'tracing', flow: 'flow 1', queues: [0], packets: 2, seconds: 10 });
    push(engine, first);
    expect(await reply).toEqual({ ok: true, result: { traces: 2, missed: 0, packets: 2, seconds: 10, queues: [0], ended: 'packets' } });
    expect(lines.slice(1).map((l) => [l.queue, l.type, l.frame])).toEqual([
      [0, 'trace', 1],
      [0, 'trace', 2],
    ]);
    server.close();
    engine.close();
  });

  it('a client that goes away stops the tracing: the engine traces nothing more, and the queue takes a new trace', async () => {
    const { engine, q, path, server } = await setUp('gone.sock');
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.write(`${JSON.stringify({ cmd: 'trace', select: { flow: 1 }, packets: 5, seconds: 30 })}\n`);
    await waitFor(() => text.includes('"tracing"'), 'the tracing line');
    push(engine, first.slice(0, 1));
    await waitFor(() => text.includes('"trace"'), 'the first trace');
    expect(q.active).toBe(true);
    socket.destroy();
    await waitFor(() => !q.active, 'the queue to stop tracing');
    // Nothing is traced any more: a trace would have to go somewhere.
    expect(engine.stats.traceTurn).toBeNull();
    // The queue is free for the next client, at once.
    const lines: Record<string, unknown>[] = [];
    const again = request(path, { cmd: 'trace', select: { flow: 1 }, packets: 1, seconds: 10 }, 15_000, { onLine: (l) => lines.push(l) });
    await waitFor(() => lines.length > 0, 'the second tracing line');
    push(engine, first.slice(1, 2));
    expect(await again).toMatchObject({ ok: true, result: { traces: 1, ended: 'packets' } });
    server.close();
    engine.close();
  });

  it('a second client on a tracing queue gets PAL_ERR_TRACE_BUSY; the timeout ends a trace that sees no packet', async () => {
    const { engine, path, server } = await setUp('busy.sock');
    const lines: Record<string, unknown>[] = [];
    const firstReply = request(path, { cmd: 'trace', select: { flow: 9 }, packets: 5, seconds: 0.3 }, 15_000, { onLine: (l) => lines.push(l) });
    await waitFor(() => lines.length > 0, 'the tracing line');
    const busy = await request(path, { cmd: 'trace', select: { flow: 1 }, seconds: 10 }, 15_000);
    expect(busy).toMatchObject({ ok: false, error: { code: 'PAL_ERR_TRACE_BUSY', message: expect.stringContaining('queue 0 is tracing') as string } });
    expect(await firstReply).toMatchObject({ ok: true, result: { traces: 0, ended: 'timeout' } });
    const noQueue = await request(path, { cmd: 'trace', select: { flow: 1 }, queue: 3 }, 15_000);
    expect(noQueue).toMatchObject({ ok: false, error: { code: 'PAL_ERR_USAGE', message: expect.stringContaining('--queue 3: palisade runs queue 0 only') as string } });
    const badTuple = await request(path, { cmd: 'trace', select: { proto: 'tcp', a: '10.0.0.1', b: '10.0.0.2:80' } }, 15_000);
    expect(badTuple).toMatchObject({ ok: false, error: { code: 'PAL_ERR_USAGE', message: expect.stringContaining('is not a flow id') as string } });
    server.close();
    engine.close();
  });
});
