/**
 * The HTTP dissector over real traffic: curl and Node clients against a Node `http` server,
 * recorded in network namespaces by samples/http/make-capture.sh (its header lists the cases).
 * What palisade parses is checked against what tshark decodes from the same capture.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { only, runHttp, type HttpRun } from './events.ts';

const capture = fileURLToPath(new URL('../../samples/http/input.pcap', import.meta.url));

/** tshark's requests and responses, per TCP stream (0-based, in the order connections opened). */
function tsharkMessages(): { requests: Map<number, string[]>; responses: Map<number, number[]> } {
  const out = execFileSync('tshark', ['-r', capture, '-Y', 'http', '-T', 'fields', '-e', 'tcp.stream', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code', '-E', 'separator=|'], {
    encoding: 'utf8',
  });
  const requests = new Map<number, string[]>();
  const responses = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [stream, methods, uris, codes] = line.split('|') as [string, string, string, string];
    const s = Number(stream);
    if (methods !== '') {
      const m = methods.split(',');
      uris.split(',').forEach((u, i) => {
        requests.set(s, [...(requests.get(s) ?? []), `${m[i] ?? ''} ${u}`]);
      });
    }
    if (codes !== '') for (const c of codes.split(',')) responses.set(s, [...(responses.get(s) ?? []), Number(c)]);
  }
  return { requests, responses };
}

describe('http over real traffic', () => {
  let run: HttpRun;
  beforeAll(async () => {
    run = await runHttp({ capture });
  });

  it('parses every request and response tshark decodes, on ports 80 and 8080', () => {
    const ts = tsharkMessages();
    const requests = new Map<number, string[]>();
    const responses = new Map<number, number[]>();
    for (const r of only(run.seen, 'request')) requests.set(r.flow - 1, [...(requests.get(r.flow - 1) ?? []), `${r.method} ${r.uri}`]);
    for (const r of only(run.seen, 'response')) responses.set(r.flow - 1, [...(responses.get(r.flow - 1) ?? []), r.status]);
    expect(requests).toEqual(ts.requests);
    // tshark lists each response once, interim ones included; it lists a request at the frame
    // that completes its body, after a 100 Continue that palisade sees after the request's head.
    expect(responses).toEqual(ts.responses);
    expect(requests.size).toBe(10);
    expect(only(run.seen, 'anomaly')).toEqual([]);
  });

  it('pairs responses with requests, keep-alive and pipelined, and ends every transaction once, complete', () => {
    const ends = only(run.seen, 'transactionEnd');
    expect(ends.map((t) => `${t.flow} ${t.uri} ${t.status}`)).toEqual([
      '1 /index.html 200',
      '1 /admin/../etc/passwd 200',
      '2 /index.html 200',
      '3 /cached 304',
      '4 /upload 201',
      '5 /old 200',
      '6 /chunked 200',
      '7 /upload-chunked 201',
      '8 /p1 200',
      '8 /p2 200',
      '8 /p3 200',
      '9 /chat 101',
      '10 /x 200',
    ]);
    expect(ends.every((t) => t.complete)).toBe(true);
    const pipelined = only(run.seen, 'response').filter((r) => r.flow === 8);
    expect(pipelined.map((r) => r.for)).toEqual(['/p1', '/p2', '/p3']);
  });

  it('normalises the path as a server resolves it, and keeps the target as sent', () => {
    const r = only(run.seen, 'request').find((q) => q.uri.includes('..'));
    expect(r).toMatchObject({ uri: '/admin/../etc/passwd', path: '/etc/passwd' });
  });

  it('frames bodies: Content-Length, chunked both ways (trailer included), HEAD and 304 without, and the HTTP/1.0 answer (Node gives it a Content-Length)', () => {
    const framing = (flow: number): string[] => run.seen.filter((s) => s.flow === flow && (s.ev === 'request' || s.ev === 'response')).map((s) => (s as { framing: string }).framing);
    expect(framing(2)).toEqual(['none', 'none']); // HEAD: its answer's Content-Length frames nothing
    expect(framing(3)).toEqual(['none', 'none']); // 304
    expect(framing(6)).toEqual(['none', 'chunked']);
    expect(framing(7)).toEqual(['chunked', 'chunked']);
    expect(run.bodies.get('6 down')).toBe('first piece\nsecond piece\n');
    expect(run.bodies.get('7 up')).toBe('a'.repeat(3000));
    expect(run.bodies.get('4 up')).toBe('a'.repeat(3000));
    expect(run.bodies.get('5 down')).toBe('you asked for /old\n');
    expect(run.bodies.has('2 down')).toBe(false);
    const v10 = only(run.seen, 'request').find((q) => q.flow === 5);
    expect(v10?.version).toBe('HTTP/1.0');
    expect(framing(5)).toEqual(['none', 'content-length']);
  });

  it('marks the 100 Continue interim, before the body it let through', () => {
    const flow4 = run.seen.filter((s) => s.flow === 4).map((s) => (s.ev === 'response' ? `${s.ev} ${s.status} ${s.interim}` : s.ev));
    expect(flow4[0]).toBe('request');
    expect(flow4[1]).toBe('response 100 true');
    expect(flow4.indexOf('requestBody')).toBeGreaterThan(1);
    expect(flow4.slice(-3)).toEqual(['response 201 false', 'responseBody', 'transactionEnd']);
    expect(only(run.seen, 'transactionEnd').find((t) => t.flow === 4)?.interim).toBe(1);
  });

  it('stops at the upgrade: the WebSocket bytes after 101 are no HTTP and no anomaly', () => {
    const flow9 = run.seen.filter((s) => s.flow === 9).map((s) => s.ev);
    expect(flow9).toEqual(['request', 'response', 'transactionEnd']);
  });

  it('names the protocol in every flow record', () => {
    expect(run.result.flows.map((f) => f.app_proto)).toEqual(Array(10).fill('http'));
    expect(run.result.stats.anomalies.size).toBe(0);
  });

  it('a header written a byte at a time is one request, with its fields in order and their stream offsets', () => {
    const r = only(run.seen, 'request').find((q) => q.flow === 10);
    expect(r?.headers).toEqual([
      ['Host', 'evil.example'],
      ['Connection', 'close'],
    ]);
  });
});
