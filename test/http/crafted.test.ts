/**
 * The HTTP dissector on crafted streams: every request-smuggling shape the anomalies name, the
 * limits, segments of one byte and out of order, chunked bodies with extensions and trailers,
 * a gap inside a message, and policies that refuse a connection.
 */
import { describe, expect, it } from 'vitest';
import { tcpSession } from '../../testing.ts';
import { only, runHttp } from './events.ts';

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

/** One connection: the client's bytes, the server's answer, a close. */
function exchange(up: string, down = OK, segments?: number): Buffer[] {
  return tcpSession()
    .handshake()
    .send('up', up, segments === undefined ? {} : { segments })
    .send('down', down)
    .close()
    .frames();
}

const kinds = (seen: Awaited<ReturnType<typeof runHttp>>['seen']): string[] => only(seen, 'anomaly').map((a) => a.kind);

describe('http: request smuggling shapes', () => {
  it('Content-Length with Transfer-Encoding: anomaly cl-te, chunked frames it', async () => {
    const r = await runHttp({ packets: exchange('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n') });
    expect(kinds(r.seen)).toEqual(['cl-te']);
    expect(only(r.seen, 'request')[0]?.framing).toBe('chunked');
    expect(r.bodies.get('1 up')).toBe('abc');
    expect(r.result.stats.anomalies.get('http-cl-te')).toBe(1);
  });

  it('duplicate Content-Length: equal values frame the body, differing ones make the framing invalid and parsing end', async () => {
    const same = await runHttp({ packets: exchange('POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc' + GET) });
    expect(kinds(same.seen)).toEqual(['duplicate-content-length']);
    expect(only(same.seen, 'request').map((q) => q.uri)).toEqual(['/', '/']);
    const differ = await runHttp({ packets: exchange('POST / HTTP/1.1\r\nContent-Length: 3, 30\r\n\r\nabc' + GET) });
    expect(kinds(differ.seen)).toEqual(['duplicate-content-length']);
    expect(only(differ.seen, 'request')).toHaveLength(1);
    expect(only(differ.seen, 'request')[0]?.framing).toBe('invalid');
  });

  it('invalid Content-Length (sign, hex, spaces inside): anomaly, framing invalid', async () => {
    for (const v of ['+3', '0x3', '3 3', '-1', '1234567890123456']) {
      const r = await runHttp({ packets: exchange(`POST / HTTP/1.1\r\nContent-Length: ${v}\r\n\r\nabc`) });
      expect(kinds(r.seen), v).toEqual(['invalid-content-length']);
      expect(only(r.seen, 'request')[0]?.framing, v).toBe('invalid');
    }
  });

  it('Transfer-Encoding whose last coding is not chunked, or chunked twice: invalid', async () => {
    for (const te of ['gzip', 'chunked, gzip', 'chunked, chunked']) {
      const r = await runHttp({ packets: exchange(`POST / HTTP/1.1\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`) });
      expect(kinds(r.seen), te).toEqual(['invalid-transfer-encoding']);
    }
  });

  it('obs-fold joins the value with a space; bare LF line ends; whitespace before the colon', async () => {
    const fold = await runHttp({ packets: exchange('GET / HTTP/1.1\r\nX-A: one\r\n  two\r\nHost: a\r\n\r\n') });
    expect(kinds(fold.seen)).toEqual(['obs-fold']);
    expect(only(fold.seen, 'request')[0]?.headers).toEqual([
      ['X-A', 'one two'],
      ['Host', 'a'],
    ]);
    const lf = await runHttp({ packets: exchange('GET / HTTP/1.1\nHost: a\n\n', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n') });
    expect(kinds(lf.seen)).toEqual(['bare-lf', 'bare-lf']);
    expect(only(lf.seen, 'transactionEnd')[0]?.complete).toBe(true);
    const colon = await runHttp({ packets: exchange('GET / HTTP/1.1\r\nHost : a\r\n\r\n') });
    expect(kinds(colon.seen)).toEqual(['space-before-colon']);
    expect(only(colon.seen, 'request')[0]?.headers).toEqual([['Host', 'a']]);
  });

  it('invalid chunk sizes end parsing', async () => {
    for (const body of ['zz\r\nabc\r\n0\r\n\r\n', '\r\nabc', '3\r\nabcX\r\n', '1000000000000000\r\n']) {
      const r = await runHttp({ packets: exchange(`POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${body}${GET}`) });
      expect(kinds(r.seen), JSON.stringify(body)).toEqual(['invalid-chunk-size']);
      expect(only(r.seen, 'request'), JSON.stringify(body)).toHaveLength(1);
    }
  });
});

describe('http: framing and segmentation', () => {
  it('chunked with extensions and trailers, one byte per segment, decodes to the same events as whole', async () => {
    const req = 'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5 ; name="v"\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n';
    const whole = await runHttp({ packets: exchange(req) });
    const bytes = await runHttp({ packets: exchange(req, OK, req.length) });
    expect(whole.bodies.get('1 up')).toBe('Wikipedia');
    expect(bytes.bodies.get('1 up')).toBe('Wikipedia');
    const shape = (r: typeof whole): string[] => r.seen.filter((s) => s.ev !== 'requestBody').map((s) => JSON.stringify(s));
    expect(shape(bytes)).toEqual(shape(whole));
    expect(kinds(whole.seen)).toEqual([]);
  });

  it('out-of-order segments: the request is parsed once the stream is in order', async () => {
    const s = tcpSession().handshake();
    const req = 'GET /late HTTP/1.1\r\nHost: a\r\n\r\n';
    s.resend('up', req.slice(10), { at: 10 }).resend('up', req.slice(0, 10), { at: 0 });
    const r = await runHttp({ packets: s.send('down', OK).close().frames() });
    expect(only(r.seen, 'request').map((q) => q.uri)).toEqual(['/late']);
  });

  it('a request line of 16 KiB passes http.maxStartLine: anomaly, parsing ends, the flow goes on as bytes', async () => {
    const long = `GET /${'a'.repeat(16 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`;
    const r = await runHttp({ packets: exchange(long) });
    expect(kinds(r.seen)).toEqual(['start-line-too-long']);
    expect(only(r.seen, 'request')).toEqual([]);
    // Nothing dropped: the default policy lets the flow go on.
    expect(r.result.dropped).toEqual([]);
    const raised = await runHttp({ packets: exchange(long) }, { http: { maxStartLine: 20000 } });
    expect(only(raised.seen, 'request')).toHaveLength(1);
  });

  it('a header section past http.maxHeaderBytes: anomaly header-too-large', async () => {
    const big = `GET / HTTP/1.1\r\n${Array.from({ length: 40 }, (_, i) => `X-${i}: ${'v'.repeat(100)}\r\n`).join('')}\r\n`;
    const r = await runHttp({ packets: exchange(big) }, { http: { maxHeaderBytes: 2048 } });
    expect(kinds(r.seen)).toEqual(['header-too-large']);
  });

  it('a response to HEAD has no body whatever its Content-Length; the next response parses', async () => {
    const r = await runHttp({ packets: exchange('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n' + OK) });
    expect(only(r.seen, 'transactionEnd').map((t) => `${t.status} ${t.complete}`)).toEqual(['200 true', '200 true']);
    expect(r.bodies.get('1 down')).toBe('ok');
  });

  it('a response with neither Content-Length nor chunked runs to the close (RFC 9112 §6.3 item 8): its whole body, then the transaction ends complete', async () => {
    const r = await runHttp({ packets: exchange('GET /old HTTP/1.0\r\n\r\n', 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\nuntil the FIN\n', 3) });
    expect(only(r.seen, 'response')[0]?.framing).toBe('until-close');
    expect(r.bodies.get('1 down')).toBe('all of it\nuntil the FIN\n');
    expect(only(r.seen, 'transactionEnd').map((t) => `${t.status} ${t.complete}`)).toEqual(['200 true']);
    expect(kinds(r.seen)).toEqual([]);
  });

  it('a gap inside a message: anomaly gap, the transaction ends incomplete', async () => {
    const head = 'POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n';
    const frames = tcpSession().handshake().send('up', head + 'b'.repeat(100), { segments: 3, ack: false }).ack('down').close().frames();
    // The second segment is not in the capture: the server acknowledged it, and the client went on past it.
    frames.splice(4, 1);
    const r = await runHttp({ packets: frames });
    expect(kinds(r.seen)).toEqual(['gap']);
    expect(only(r.seen, 'transactionEnd')).toEqual([expect.objectContaining({ complete: false })]);
  });

  it('a server that speaks first: detection waits for the client, whose request is then parsed with its answer', async () => {
    const s = tcpSession().handshake().send('down', 'HELLO\r\n').send('up', GET).send('down', OK).close();
    const r = await runHttp({ packets: s.frames() });
    expect(r.seen.map((e) => e.ev)).toEqual(['request', 'response', 'responseBody', 'transactionEnd']);
    expect(kinds(r.seen)).toEqual([]);
  });

  it('after a request line that does not parse, neither direction is parsed any more', async () => {
    const r = await runHttp({ packets: exchange('GET /a b HTTP/1.1\r\n\r\n') });
    expect(kinds(r.seen)).toEqual(['invalid-start-line']);
    expect(only(r.seen, 'response')).toEqual([]);
  });
});

describe('http: policies', () => {
  it('reset-flow on cl-te resets the connection inside the packet that completed the head; the drop names the policy', async () => {
    const r = await runHttp({ packets: exchange('POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n') }, { http: { policies: { 'cl-te': 'reset-flow' } } });
    expect(r.result.dropped.length).toBeGreaterThan(0);
    expect(r.result.reasons.get(r.result.dropped[0] as number)).toEqual({ kind: 'policy', policy: 'http.policies.cl-te', anomaly: 'http-cl-te' });
    expect(r.result.injected.length).toBe(2);
    expect(r.result.flows[0]?.end_reason).toBe('rst');
    // The request reached no rule: the policy came first, with the head's anomalies.
    expect(only(r.seen, 'request')).toEqual([]);
  });

  it('rejects a policy that does not exist, naming the key', async () => {
    await expect(runHttp({ packets: exchange(GET) }, { http: { policies: { 'cl-te': 'drop-packet' } } })).rejects.toThrow(/http\.policies\.cl-te/);
  });
});
