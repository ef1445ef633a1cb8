/** The nameList module: HTTP hosts, TLS server names and DNS queries against deny and allow lists, refused before they leave. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, dns, type RuleSet } from 'palisade';
import { nameList, type NameListOptions } from 'palisade/rules';
import { replay, tcpSession, udpExchange, type ReplayResult } from 'palisade/testing';

const install = (options: NameListOptions): RuleSet => defineRules((ctx) => { nameList(ctx, options); });
const file = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const httpCapture = file('samples/http/input.pcap');
const tlsCapture = (name: string): string => file(`test/captures/tls/${name}.pcap`);
const dnsCapture = (name: string): string => file(`test/captures/dns/${name}.pcap`);

/** The TCP payload of an Ethernet/IPv4 frame, and its destination port. */
function segment(frame: Uint8Array): { port: number; data: Buffer } {
  const b = Buffer.from(frame);
  const tcp = 14 + ((b[14] as number) & 0x0f) * 4;
  return { port: b.readUInt16BE(tcp + 2), data: b.subarray(tcp + ((b[tcp + 12] as number) >> 4) * 4, 14 + b.readUInt16BE(16)) };
}

/** What the clients' segments carried to servers on `port` past palisade (the crafted RSTs left out). */
const toServer = (r: ReplayResult, port: number): Buffer =>
  Buffer.concat(r.output.filter((p) => !p.injected).map((p) => segment(p.bytes)).filter((s) => s.port === port).map((s) => s.data));

const get = (host: string | null, target = '/'): Buffer[] => tcpSession().handshake().send('up', `GET ${target} HTTP/1.1\r\n${host === null ? '' : `Host: ${host}\r\n`}\r\n`).close().frames();

/** A DNS query for `name` (type A), labels split on dots. */
function query(id: number, name: string): Buffer {
  const head = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

describe('nameList', () => {
  it('tls: a denied server name is reset before any byte of its ClientHello reaches the server', async () => {
    const rules = install({ deny: ['*.palisade.test'] });
    for (const capture of ['tls12', 'tls13']) {
      const r = await replay({ rules, capture: tlsCapture(capture) });
      // '*.palisade.test' holds palisade.test itself: the zone's apex matches, as dns.inZone.
      expect(r.alerts.map((a) => [a.rule, a.description, a.severity, a.method?.description]), capture).toEqual([['name-list', "tls server name is denied: palisade.test (deny list: '*.palisade.test')", 'medium', 'tls-name-denied']]);
      const port = r.alerts[0]?.flow?.server.port ?? 0;
      expect(toServer(r, port).length, capture).toBe(0);
      expect(r.injected, capture).toHaveLength(2);
      expect(r.flows[0]?.end_reason, capture).toBe('rst');
    }
  });

  it('tls: the allow list lets its names through, without case or a final dot, and refuses the others', async () => {
    const allowed = await replay({ rules: install({ allow: ['PALISADE.TEST.'] }), capture: tlsCapture('tls12') });
    expect(allowed.alerts).toEqual([]);
    expect(allowed.dropped).toEqual([]);
    const refused = await replay({ rules: install({ allow: ['www.palisade.test', '*.other.test'] }), capture: tlsCapture('tls12') });
    expect(refused.alerts.map((a) => a.description)).toEqual(['tls server name is not allowed: palisade.test (not on the allow list)']);
    expect(refused.flows[0]?.end_reason).toBe('rst');
  });

  it('http: the Host written a byte at a time is refused with none of it sent; the rest pass', async () => {
    const r = await replay({ rules: install({ deny: ['evil.example'] }), capture: httpCapture });
    expect(r.alerts.map((a) => [a.description, a.flow?.server.port, a.targets])).toEqual([["http host is denied: evil.example (deny list: 'evil.example')", 8080, [{ address: '192.168.20.80', service: 'tcp/8080' }]]]);
    expect(toServer(r, 8080).toString('latin1')).toBe('');
    expect(r.flows.filter((f) => f['id.resp_p'] === 80).map((f) => f.end_reason)).not.toContain('rst');
  });

  it('http: an allow list over the capture lets the nine requests for 192.168.20.80 through and refuses evil.example', async () => {
    const r = await replay({ rules: install({ allow: ['192.168.20.80'] }), capture: httpCapture });
    expect(r.alerts.map((a) => a.description)).toEqual(['http host is not allowed: evil.example (not on the allow list)']);
    expect(r.flows.filter((f) => f.end_reason === 'rst').map((f) => f['id.resp_p'])).toEqual([8080]);
    expect(r.flows).toHaveLength(10);
  });

  it('http: the Host without its port, an IPv6 literal, and the names in an absolute-form or CONNECT target', async () => {
    const deny = install({ deny: ['*.evil.example', 'fd00::66'] });
    const denied = async (frames: Buffer[]): Promise<(string | undefined)[]> => (await replay({ rules: deny, packets: frames })).alerts.map((a) => a.description);
    expect(await denied(get('WWW.Evil.Example:8080'))).toEqual(["http host is denied: WWW.Evil.Example (deny list: '*.evil.example')"]);
    expect(await denied(get('[fd00::66]:80'))).toEqual(["http host is denied: fd00::66 (deny list: 'fd00::66')"]);
    expect(await denied(get('good.example', 'http://user@evil.example:81/x'))).toEqual(["http host is denied: evil.example (deny list: '*.evil.example')"]);
    expect(await denied(tcpSession().handshake().send('up', 'CONNECT a.evil.example:443 HTTP/1.1\r\nHost: a.evil.example:443\r\n\r\n').close().frames())).toEqual(["http host is denied: a.evil.example (deny list: '*.evil.example')"]);
    expect(await denied(get('badevil.example'))).toEqual([]);
    expect(await denied(get(null))).toEqual([]);

    const allow = install({ allow: ['good.example'] });
    const r = await replay({ rules: allow, packets: get('good.example', 'http://evil.example/') });
    expect(r.alerts.map((a) => a.description)).toEqual(['http host is not allowed: evil.example (not on the allow list)']);
    expect(toServer(r, 80).length).toBe(0);
    expect((await replay({ rules: allow, packets: get('good.example:80', 'http://GOOD.example/') })).alerts).toEqual([]);
    // HTTP/1.0 without a Host names nothing: an allow list refuses it.
    const none = await replay({ rules: allow, packets: tcpSession().handshake().send('up', 'GET / HTTP/1.0\r\n\r\n').close().frames() });
    expect(none.alerts.map((a) => a.description)).toEqual(['http host missing: refused by the allow list']);
  });

  it('dns over UDP: every query in the zone is dropped with its datagram and flow, as dns.inZone says; the others pass', async () => {
    const names = new Map<number, string>();
    const collect = defineRules(({ rule }) => rule({ name: 'names', on: dns.events.query, eval: (flow, q) => void names.set(flow.id, q.questions[0]?.name ?? '') }));
    await replay({ rules: collect, capture: dnsCapture('udp') });
    const r = await replay({ rules: install({ deny: ['*.pal.test'] }), capture: dnsCapture('udp') });
    const inZone = [...names].filter(([, n]) => dns.inZone(n, 'pal.test')).map(([id]) => `C${id}`);
    expect(inZone.length).toBeGreaterThan(10);
    expect(inZone.length).toBeLessThan(names.size);
    expect(r.flows.filter((f) => f.end_reason === 'dropped').map((f) => f.uid).sort()).toEqual(inZone.sort());
    expect(r.alerts).toHaveLength(inZone.length);
    expect(r.alerts).toContainEqual(expect.objectContaining({ description: "dns query name is denied: HoSt.PaL.tEsT (deny list: '*.pal.test')", targets: [{ address: '127.0.0.1', service: 'udp/53' }] }));
    // The query's datagram is dropped, and with the flow the response the capture holds.
    expect(r.dropped).toHaveLength(2 * inZone.length);
    expect(r.reasons.get(r.dropped[0] ?? 0)).toMatchObject({ kind: 'flow-action', action: 'drop', rule: 'name-list' });
  });

  it('dns: a crafted query is its dropped datagram; over TCP the connection is reset before the query is forwarded', async () => {
    const frames = [
      ...udpExchange({ client: '192.168.10.10:40001' }).send('up', query(1, 'www.good.example')).frames(),
      ...udpExchange({ client: '192.168.10.10:40002' }).send('up', query(2, 'x.Evil.Example')).frames(),
    ];
    const udp = await replay({ rules: install({ deny: ['*.evil.example'] }), packets: frames });
    expect(udp.dropped).toEqual([2]);
    expect(udp.injected).toEqual([]);

    const tcp = await replay({ rules: install({ deny: ['host.pal.test'] }), capture: dnsCapture('tcp') });
    expect(tcp.alerts.length).toBeGreaterThanOrEqual(2);
    expect(tcp.alerts.every((a) => a.description === "dns query name is denied: host.pal.test (deny list: 'host.pal.test')")).toBe(true);
    const resetFlows = tcp.flows.filter((f) => f.end_reason === 'rst');
    expect(resetFlows).toHaveLength(tcp.alerts.length);
    // None of the reset connections' queries reached the resolver: only the two-byte lengths could have.
    for (const f of resetFlows) {
      const sent = Buffer.concat(tcp.output.filter((p) => !p.injected).map((p) => ({ b: Buffer.from(p.bytes), s: segment(p.bytes) })).filter(({ b, s }) => s.port === 53 && b.readUInt16BE(34) === f['id.orig_p']).map(({ s }) => s.data));
      expect(sent.includes(Buffer.from('host', 'latin1')), f.uid).toBe(false);
    }
  });

  it('reads only the protocols in on; a name on both lists is denied', async () => {
    const tlsOnly = install({ deny: ['evil.example', 'palisade.test'], on: ['tls'] });
    expect((await replay({ rules: tlsOnly, capture: httpCapture })).alerts).toEqual([]);
    expect((await replay({ rules: tlsOnly, capture: tlsCapture('tls13') })).alerts).toHaveLength(1);
    const dnsOnly = install({ deny: ['palisade.test'], on: ['dns'] });
    expect((await replay({ rules: dnsOnly, capture: tlsCapture('tls13') })).alerts).toEqual([]);

    const both = install({ allow: ['*.pal.test'], deny: ['www.pal.test'], on: ['dns'], action: 'alert' });
    const r = await replay({ rules: both, capture: dnsCapture('udp') });
    const described = r.alerts.map((a) => a.description);
    expect(described).toContain("dns query name is denied: www.pal.test (deny list: 'www.pal.test')");
    expect(described).toContain('dns query name is not allowed: auth.test (not on the allow list)');
    expect(described.some((d) => d?.includes('host.pal.test'))).toBe(false);
  });

  it("action 'alert' only alerts; 'drop' drops a TCP connection silently; severity is the alert's", async () => {
    const alertOnly = await replay({ rules: install({ deny: ['palisade.test'], action: 'alert', severity: 'high' }), capture: tlsCapture('tls12') });
    expect(alertOnly.alerts.map((a) => [a.severity, a.action])).toEqual([['high', 'allowed']]);
    expect(alertOnly.dropped).toEqual([]);
    const drop = await replay({ rules: install({ deny: ['palisade.test'], action: 'drop' }), capture: tlsCapture('tls12') });
    expect(drop.injected).toEqual([]);
    expect(drop.flows[0]?.end_reason).toBe('dropped');
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as NameListOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({}, /^test\/rules\/name-list\.test\.ts:\d+: nameList 'name-list': deny and allow are both missing: give a deny list, an allow list, or both$/);
    await refused({ denied: ['a.example'] }, /options has no option 'denied' \(the options are name, deny, allow, on, action, severity\)$/);
    await refused({ deny: [] }, /deny is an empty list, which matches no name; leave it out$/);
    await refused({ deny: 'evil.example' }, /deny must be a list, not 'evil\.example'$/);
    for (const bad of ['http://evil.example', 'evil.example:443', '*.*.example', 'a..example', '*', '*.', 'ev il.example', '']) {
      await refused({ deny: ['ok.example', bad] }, bad === '' ? /deny\[1\] must be a non-empty string, not ''$/ : /deny\[1\] must be a name \('www\.example\.com'\) or a zone \('\*\.example\.com'\), not '/);
    }
    await refused({ allow: ['a.example'], on: [] }, /on is empty, which reads no name/);
    await refused({ allow: ['a.example'], on: ['smtp'] }, /on\[0\] must be 'http', 'tls' or 'dns', not 'smtp'$/);
    await refused({ allow: ['a.example'], action: 'block' }, /action must be 'reset', 'drop' or 'alert', not 'block'$/);
  });
});
