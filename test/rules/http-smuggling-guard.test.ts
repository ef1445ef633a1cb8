/** The httpSmugglingGuard module: each smuggling shape alerted and refused before its head reaches the server. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, type RuleSet } from 'palisade';
import { httpSmugglingGuard, type HttpSmugglingGuardOptions } from 'palisade/rules';
import { replay, tcpSession, type ReplayResult } from 'palisade/testing';

const install = (options?: HttpSmugglingGuardOptions): RuleSet => defineRules((ctx) => { httpSmugglingGuard(ctx, options); });
const sample = (path: string): string => fileURLToPath(new URL(`../../samples/${path}`, import.meta.url));

/** The TCP payload of an Ethernet/IPv4 frame, and its destination port. */
function segment(frame: Uint8Array): { port: number; data: Buffer } {
  const b = Buffer.from(frame);
  const tcp = 14 + ((b[14] as number) & 0x0f) * 4;
  return { port: b.readUInt16BE(tcp + 2), data: b.subarray(tcp + ((b[tcp + 12] as number) >> 4) * 4, 14 + b.readUInt16BE(16)) };
}

/** What the client's segments carried to the server past palisade (the crafted RSTs left out). */
const toServer = (r: ReplayResult, port = 80): string =>
  r.output.filter((p) => !p.injected).map((p) => segment(p.bytes)).filter((s) => s.port === port).map((s) => s.data.toString('latin1')).join('');

const post = (headers: string, body = ''): string => `POST /form HTTP/1.1\r\nHost: shop.example\r\n${headers}\r\n${body}`;

/** A request for each shape, its head whole in one segment. */
const shapes: [kind: string, request: string, severity: string][] = [
  ['cl-te', post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\nG'), 'high'],
  ['duplicate-content-length', post('Content-Length: 3\r\nContent-Length: 4\r\n', 'abcd'), 'high'],
  ['invalid-content-length', post('Content-Length: 3a\r\n', 'abc'), 'high'],
  ['invalid-transfer-encoding', post('Transfer-Encoding: chunked, gzip\r\n', 'x'), 'high'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: shop.example\r\nX-Note: a\r\n folded\r\n\r\n', 'medium'],
  ['bare-lf', 'GET / HTTP/1.1\nHost: shop.example\n\n', 'medium'],
  ['space-before-colon', 'GET / HTTP/1.1\r\nHost : shop.example\r\n\r\n', 'high'],
];

describe('httpSmugglingGuard', () => {
  const rules = install();

  it.each(shapes)('%s: alerts with the kind and its severity, and resets before the head reaches the server', async (kind, request, severity) => {
    const r = await replay({ rules, packets: tcpSession().handshake().send('up', request).close().frames() });
    expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.method])).toEqual([['http-smuggling-guard', `http ${kind} (from the client)`, severity, expect.objectContaining({ description: `http-${kind}` })]]);
    expect(r.alerts[0]).toMatchObject({ action: 'blocked', flow: { server: { ip: '192.168.20.80', port: 80 } }, sources: [{ address: '192.168.10.10' }], targets: [{ address: '192.168.20.80', service: 'tcp/80' }] });
    expect(r.dropped[0]).toBe(4);
    expect(r.reasons.get(4)).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'http-smuggling-guard' });
    expect(r.injected).toHaveLength(2);
    expect(toServer(r)).toBe('');
  });

  it('a head split across segments: none of it leaves', async () => {
    const [, request] = shapes[0] as [string, string, string];
    const r = await replay({ rules, packets: tcpSession().handshake().send('up', request, { segments: 5 }).close().frames() });
    expect(r.alerts).toHaveLength(1);
    expect(toServer(r)).toBe('');
    expect(r.flows[0]?.end_reason).toBe('rst');
  });

  it('invalid-chunk-size in a body: the head went on, the segment with the bad size is dropped with the reset', async () => {
    const s = tcpSession().handshake().send('up', post('Transfer-Encoding: chunked\r\n')).send('up', '3\r\nabc\r\nzz\r\nsmuggled').close();
    const r = await replay({ rules, packets: s.frames() });
    expect(r.alerts.map((a) => [a.description, a.severity])).toEqual([['http invalid-chunk-size (from the client)', 'medium']]);
    expect(toServer(r)).toBe(post('Transfer-Encoding: chunked\r\n'));
    expect(r.injected).toHaveLength(2);
  });

  it('lets the real captures through: no alert, no drop', async () => {
    for (const capture of [sample('http/input.pcap'), sample('haka/httpfilter/httpfilter.pcap')]) {
      const r = await replay({ rules, capture });
      expect(r.alerts, capture).toEqual([]);
      expect(r.dropped, capture).toEqual([]);
      expect(r.injected, capture).toEqual([]);
    }
  });

  it("action 'alert' alerts once per connection and kind; 'drop' drops silently", async () => {
    // A bare LF ends every chunk-size line: one alert for the connection.
    const chunked = tcpSession().handshake().send('up', post('Transfer-Encoding: chunked\r\n')).send('up', '1\na\r\n1\nb\r\n0\n\r\n').close();
    const alertOnly = await replay({ rules: install({ action: 'alert' }), packets: chunked.frames() });
    expect(alertOnly.alerts.map((a) => [a.description, a.action])).toEqual([['http bare-lf (from the client)', 'allowed']]);
    expect(alertOnly.dropped).toEqual([]);
    expect(alertOnly.flows[0]?.end_reason).toBe('fin');
    const drop = await replay({ rules: install({ action: 'drop' }), packets: tcpSession().handshake().send('up', shapes[0]?.[1] ?? '').close().frames() });
    expect(drop.alerts).toHaveLength(1);
    expect(drop.injected).toEqual([]);
    expect(drop.flows[0]?.end_reason).toBe('dropped');
    expect(toServer(drop)).toBe('');
  });

  it('acts on the kinds given only, and reads the server only when told', async () => {
    const folded = tcpSession().handshake().send('up', shapes[4]?.[1] ?? '').close();
    expect((await replay({ rules: install({ kinds: ['cl-te'] }), packets: folded.frames() })).alerts).toEqual([]);
    const invalidHeader = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n').close();
    expect((await replay({ rules, packets: invalidHeader.frames() })).alerts).toEqual([]);
    const opted = await replay({ rules: install({ kinds: ['invalid-header'], severity: 'high' }), packets: invalidHeader.frames() });
    expect(opted.alerts.map((a) => [a.description, a.severity])).toEqual([['http invalid-header (from the client)', 'high']]);

    const response = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n').send('down', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n 2\r\n\r\nok').close();
    expect((await replay({ rules, packets: response.frames() })).alerts).toEqual([]);
    const down = await replay({ rules: install({ direction: 'down', action: 'alert' }), packets: response.frames() });
    expect(down.alerts.map((a) => [a.description, a.sources])).toEqual([['http obs-fold (from the server)', [{ address: '192.168.20.80' }]]]);
    expect((await replay({ rules: install({ direction: 'both', action: 'alert' }), packets: response.frames() })).alerts).toHaveLength(1);
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as HttpSmugglingGuardOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ kind: ['cl-te'] }, /^test\/rules\/http-smuggling-guard\.test\.ts:\d+: httpSmugglingGuard 'http-smuggling-guard': options has no option 'kind' \(the options are name, kinds, direction, action, severity\)$/);
    await refused({ kinds: [] }, /kinds is empty: give at least one anomaly kind/);
    await refused({ kinds: ['cl-te', 'te-cl'] }, /kinds\[1\] must be 'cl-te', .* or 'edit-too-late', not 'te-cl'$/);
    await refused({ action: 'block' }, /action must be 'reset', 'drop' or 'alert', not 'block'$/);
    await refused({ direction: 'in' }, /direction must be 'up', 'down' or 'both', not 'in'$/);
    await refused({ name: 'guard', severity: 'critical' }, /httpSmugglingGuard 'guard': severity must be 'low', 'medium' or 'high', not 'critical'$/);
  });
});
