/** The httpRequestPolicy module: methods, path traversal and size limits, each refused before the request reaches the server. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { httpRequestPolicy, type HttpRequestPolicyOptions } from 'palisade/rules';
import { replay, tcpSession, type ReplayResult } from 'palisade/testing';

const install = (options?: HttpRequestPolicyOptions): RuleSet => defineRules((ctx) => { httpRequestPolicy(ctx, options); });
const sample = (path: string): string => fileURLToPath(new URL(`../../samples/${path}`, import.meta.url));

/** The TCP payload of an Ethernet/IPv4 frame, and its destination port. */
function segment(frame: Uint8Array): { port: number; data: Buffer } {
  const b = Buffer.from(frame);
  const tcp = 14 + ((b[14] as number) & 0x0f) * 4;
  return { port: b.readUInt16BE(tcp + 2), data: b.subarray(tcp + ((b[tcp + 12] as number) >> 4) * 4, 14 + b.readUInt16BE(16)) };
}

/** What the clients' segments carried to servers on `port` past palisade (the crafted RSTs left out). */
const toServer = (r: ReplayResult, port = 80): string =>
  r.output.filter((p) => !p.injected).map((p) => segment(p.bytes)).filter((s) => s.port === port).map((s) => s.data.toString('latin1')).join('');

const request = (line: string, headers = 'Host: shop.example\r\n'): Buffer[] => tcpSession().handshake().send('up', `${line}\r\n${headers}\r\n`).close().frames();
const descriptions = (r: ReplayResult): (string | undefined)[] => r.alerts.map((a) => a.description);

describe('httpRequestPolicy', () => {
  const rules = install();

  it('over the HTTP capture: resets connection 1 at its /admin/../etc/passwd, after /index.html went through', async () => {
    const r = await replay({ rules, capture: sample('http/input.pcap') });
    expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.method?.description, a.flow?.id])).toEqual([['http-request-policy', 'http path traversal: /admin/../etc/passwd', 'high', 'http-path-traversal', 1]]);
    const first = r.flows.find((f) => f.uid === 'C1');
    expect(first?.end_reason).toBe('rst');
    expect(r.injected).toHaveLength(2);
    const sent = toServer(r);
    expect(sent).toContain('GET /index.html HTTP/1.1');
    expect(sent).not.toContain('/etc/passwd');
    // The other nine connections (HEAD, POST, chunked, pipelined, a WebSocket upgrade…) pass.
    expect(r.flows.filter((f) => f.uid !== 'C1').map((f) => f.end_reason)).not.toContain('rst');
    expect(r.flows).toHaveLength(10);
    expect((await replay({ rules, capture: sample('haka/httpfilter/httpfilter.pcap') })).alerts).toEqual([]);
  });

  it.each([
    '/a/../b',
    '/..',
    '/%2e%2e/etc/passwd',
    '/%2E%2e/etc/passwd',
    '/.%2E/etc/passwd',
    '/..%2fetc%2fpasswd',
    '/static/..%5c..%5cwin.ini',
    '/static/..\\win.ini',
    '/..;/manager/html',
    'http://shop.example/a/../../etc/passwd',
    '/a/b/..?x=1',
  ])('refuses the traversal %s', async (target) => {
    const r = await replay({ rules, packets: request(`GET ${target} HTTP/1.1`) });
    expect(descriptions(r)).toEqual([`http path traversal: ${target}`]);
    expect(r.dropped[0]).toBe(4);
    expect(toServer(r)).toBe('');
  });

  it.each(['/a..b/', '/..a/x', '/file..txt', '/...', '/search?q=../../etc/passwd', '/%252e%252e/x', '/a/%2e/b', '*'])('lets %s through', async (target) => {
    const r = await replay({ rules, packets: request(`${target === '*' ? 'OPTIONS' : 'GET'} ${target} HTTP/1.1`) });
    expect(r.alerts).toEqual([]);
    expect(r.dropped).toEqual([]);
  });

  it('allows the default methods only; methods and traversal can be set', async () => {
    for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) expect((await replay({ rules, packets: request(`${m} / HTTP/1.1`) })).alerts, m).toEqual([]);
    const trace = await replay({ rules, packets: request('TRACE / HTTP/1.1') });
    expect(trace.alerts.map((a) => [a.description, a.severity, a.method?.description])).toEqual([['http method not allowed: TRACE', 'medium', 'http-method-not-allowed']]);
    expect(toServer(trace)).toBe('');
    expect(descriptions(await replay({ rules, packets: request('CONNECT shop.example:443 HTTP/1.1') }))).toEqual(['http method not allowed: CONNECT']);

    const getOnly = install({ methods: ['GET'] });
    expect(descriptions(await replay({ rules: getOnly, packets: request('POST / HTTP/1.1', 'Host: a\r\nContent-Length: 0\r\n') }))).toEqual(['http method not allowed: POST']);
    const any = install({ methods: false, traversal: false });
    expect((await replay({ rules: any, packets: request('PROPFIND /a/../b HTTP/1.1') })).alerts).toEqual([]);
  });

  it('each limit set is a check of its own, with its own description; a request breaking several is reset once', async () => {
    const limits = install({ maxUriLength: 20, maxHeaderCount: 3, maxHeaderValueLength: 16, maxHostLength: 12 });
    expect((await replay({ rules: limits, packets: request('GET /exactly-twenty-char HTTP/1.1', 'Host: twelve.chars\r\nA: 1\r\nB: 0123456789abcdef\r\n') })).alerts).toEqual([]);
    const cases: [string, string, string][] = [
      ['GET /twenty-one-chars/xyz HTTP/1.1', 'Host: a\r\n', 'http request target too long: 21 bytes (limit 20)'],
      ['GET / HTTP/1.1', 'Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n', 'too many http header fields: 4 (limit 3)'],
      ['GET / HTTP/1.1', 'Host: a\r\nCookie: 0123456789abcdefg\r\n', 'http header value too long: Cookie, 17 bytes (limit 16)'],
      ['GET / HTTP/1.1', 'Host: thirteen.char\r\n', 'http Host too long: 13 bytes (limit 12)'],
    ];
    for (const [line, headers, description] of cases) {
      const r = await replay({ rules: limits, packets: request(line, headers) });
      expect(descriptions(r), description).toEqual([description]);
      expect(r.alerts[0]?.targets).toEqual([{ address: '192.168.20.80', service: 'tcp/80' }]);
      expect(toServer(r)).toBe('');
    }
    // Unset, a limit is no check: the defaults read no size.
    expect((await replay({ rules, packets: request(`GET /${'x'.repeat(5000)} HTTP/1.1`, `Host: ${'h'.repeat(300)}\r\nCookie: ${'c'.repeat(9000)}\r\n`) })).alerts).toEqual([]);

    const everything = await replay({ rules: limits, packets: request('TRACE /a/../twenty-one-chars HTTP/1.1', 'Host: thirteen.char\r\nA: 1\r\nB: 2\r\nC: 0123456789abcdefg\r\n') });
    expect(everything.alerts.map((a) => a.method?.description)).toEqual(['http-method-not-allowed', 'http-path-traversal', 'http-uri-too-long', 'http-too-many-headers', 'http-header-value-too-long', 'http-host-too-long']);
    expect(everything.injected).toHaveLength(2);
  });

  it("action 'alert' lets the request through; 'drop' drops the connection silently; severity sets every alert's", async () => {
    const alertOnly = await replay({ rules: install({ action: 'alert', severity: 'low' }), packets: request('GET /%2e%2e/x HTTP/1.1') });
    expect(alertOnly.alerts.map((a) => [a.severity, a.action])).toEqual([['low', 'allowed']]);
    expect(toServer(alertOnly)).toContain('GET /%2e%2e/x HTTP/1.1');
    const drop = await replay({ rules: install({ action: 'drop' }), packets: request('GET /%2e%2e/x HTTP/1.1') });
    expect(drop.injected).toEqual([]);
    expect(drop.flows[0]?.end_reason).toBe('dropped');
    expect(toServer(drop)).toBe('');
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as HttpRequestPolicyOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ maxUriLenght: 10 }, /^test\/rules\/http-request-policy\.test\.ts:\d+: httpRequestPolicy 'http-request-policy': options has no option 'maxUriLenght' \(the options are name, methods, traversal, maxUriLength, /);
    await refused({ methods: [] }, /methods is empty, which allows no request; give false to allow any method$/);
    await refused({ methods: ['GET', 'GET /'] }, /methods\[1\] must be a method name, a token .*, not 'GET \/'$/);
    await refused({ methods: 'GET' }, /methods must be a list, not 'GET'$/);
    await refused({ maxHeaderCount: 0 }, /maxHeaderCount must be a positive integer, not 0$/);
    await refused({ maxHostLength: 2.5 }, /maxHostLength must be a positive integer, not 2\.5$/);
    await refused({ traversal: 'yes' }, /traversal must be true or false, not 'yes'$/);
    await refused({ action: 'deny' }, /action must be 'reset', 'drop' or 'alert', not 'deny'$/);
  });
});
