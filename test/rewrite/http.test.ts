/**
 * HTTP header rewriting on the HTTP dissector (Haka's http module: `request.headers[...] = `):
 * setHeader, addHeader and removeHeader in the request and response events go to the receiver
 * through the stream edits, heads held whole, every later segment renumbered; pipelined
 * requests are each edited, and a bad name or value, or a write after the event, is the rule's
 * PAL_ERR_REWRITE.
 */
import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { defineRules, http } from '../../index.ts';
import type { HttpRequest } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';
import { tsharkFields } from '../tshark-fields.ts';

const C4 = '192.168.10.10';
const S4 = '192.168.20.80';

/** What each side's segments carried in the output, in order, with their relative sequence numbers checked against it. */
function carried(output: { bytes: Buffer }[], src: string): string {
  const pcap = encodePcap(output.map((p, i) => ({ data: p.bytes, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType: 1 });
  const rows = tsharkFields(pcap, ['tcp.seq', 'tcp.payload', 'tcp.checksum.status'], { prefs: ['tcp.check_checksum:TRUE', 'tcp.relative_sequence_numbers:TRUE'], filter: `ip.src == ${src} && tcp.len > 0` });
  let text = '';
  for (const row of rows) {
    expect(Number(row['tcp.seq'])).toBe(1 + text.length);
    expect(row['tcp.checksum.status']).toBe('1');
    text += Buffer.from(row['tcp.payload'] ?? '', 'hex').toString('latin1');
  }
  return text;
}

describe('HTTP header rewriting', () => {
  it('sets, removes and adds request and response fields; pipelined requests each edited; the bodies untouched', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'request-fields',
        on: http.events.request,
        eval: (_flow, req) => {
          req.setHeader('User-Agent', 'palisade');
          req.removeHeader('accept-encoding');
          req.addHeader('X-Seen', req.path);
          seen.push(`${req.path} ${req.headers.get('user-agent') ?? ''}`);
        },
      });
      rule({
        name: 'response-fields',
        on: http.events.response,
        eval: (_flow, res) => {
          res.setHeader('Server', 'hidden');
        },
      });
    });
    const requests =
      'POST /one HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nAccept-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello' +
      'GET /two HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n';
    const responses = 'HTTP/1.1 200 OK\r\nServer: nginx/1.2\r\nContent-Length: 2\r\n\r\nok' + 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80`, mss: 16 }).handshake().send('up', requests).send('down', responses).close().frames();
    const r = await replay({ rules, packets: frames });
    expect(r.stats.ruleErrors).toBe(0);
    // The rules see the fields as they came.
    expect(seen).toEqual(['/one curl/8', '/two ']);
    expect(carried(r.output, C4)).toBe(
      'POST /one HTTP/1.1\r\nHost: a\r\nUser-Agent: palisade\r\nContent-Length: 5\r\nX-Seen: /one\r\n\r\nhello' +
        'GET /two HTTP/1.1\r\nHost: a\r\nUser-Agent: palisade\r\nX-Seen: /two\r\n\r\n',
    );
    expect(carried(r.output, S4)).toBe('HTTP/1.1 200 OK\r\nServer: hidden\r\nContent-Length: 2\r\n\r\nok' + 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nServer: hidden\r\n\r\n');
  });

  it("a bad field name or value, or a write after the event, is the rule's PAL_ERR_REWRITE", async () => {
    let kept: HttpRequest | null = null;
    const messages: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'bad-name',
        on: http.events.request,
        eval: (_flow, req) => {
          kept = req;
          req.setHeader('Bad Name', 'x');
        },
      });
      rule({
        name: 'bad-value',
        on: http.events.request,
        eval: (_flow, req) => {
          req.addHeader('X-Split', 'a\r\nInjected: yes');
        },
      });
      rule({
        name: 'too-late',
        on: http.events.transactionEnd,
        eval: () => {
          kept?.removeHeader('Host');
        },
      });
    });
    const frames = tcpSession({ client: `${C4}:40000`, server: `${S4}:80` }).handshake().send('up', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n').send('down', 'HTTP/1.1 204 No Content\r\n\r\n').close().frames();
    const r = await replay({ rules, packets: frames, config: { ruleErrorPolicy: 'accept' } });
    for (const l of r.logs) if (l.level === 'error') messages.push(`${String(l.rule)}: ${(l.err as { message?: string }).message ?? ''}`);
    expect(messages).toEqual([
      'bad-name: PAL_ERR_REWRITE: http setHeader: "Bad Name" is not a field name (RFC 9110 §5.1: a token)',
      'bad-value: PAL_ERR_REWRITE: http addHeader: the value of X-Split holds a line end or NUL: a field value cannot (RFC 9110 §5.5)',
      'too-late: PAL_ERR_REWRITE: http removeHeader: headers are written in the request or response event, while the head is held',
    ]);
    // Nothing was written: the request went as it came.
    expect(carried(r.output, C4)).toBe('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });
});
