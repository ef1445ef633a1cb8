/** The passiveDns module: a log line per answer record over the dig/dnsmasq captures, the data as a zone file writes it, and aggregation. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, dns, type RuleSet } from 'palisade';
import { passiveDns, type PassiveDnsOptions } from 'palisade/rules';
import { replay, udpExchange } from 'palisade/testing';

const install = (options?: PassiveDnsOptions): RuleSet => defineRules((ctx) => { passiveDns(ctx, options); });
const capture = (name: string): string => fileURLToPath(new URL(`../captures/dns/${name}.pcap`, import.meta.url));

/** The module's lines, without the logger's own fields. */
async function lines(options: PassiveDnsOptions | undefined, input: { capture?: string; packets?: Buffer[] }): Promise<Record<string, unknown>[]> {
  const r = await replay({ rules: install(options), ...input });
  expect(r.stats.ruleErrors).toBe(0);
  const own = ['level', 'time', 'pid', 'hostname', 'msg', 'rules'];
  return r.logs.filter((l) => l.msg === 'passive dns').map((l) => {
    expect(l.level).toBe('info');
    return Object.fromEntries(Object.entries(l).filter(([k]) => !own.includes(k)));
  });
}

/** Every record of every response in a capture, as the dissector decodes them (OPT left out). */
async function recordsIn(name: string, sections: ('answers' | 'additional')[] = ['answers']): Promise<{ name: string; type: string }[]> {
  const seen: { name: string; type: string }[] = [];
  const rules = defineRules(({ rule }) => {
    rule({
      name: 'records',
      on: dns.events.response,
      eval: (_flow, r) => {
        for (const s of sections) for (const rec of r[s]) if (rec.typeName !== 'OPT') seen.push({ name: rec.name, type: rec.typeName });
      },
    });
  });
  await replay({ rules, capture: capture(name) });
  return seen;
}

/** A DNS response for one question, with answer records of [type, rdata, ttl]. */
function response(id: number, qname: string, answers: [type: number, rdata: Buffer][], rcode = 0): Buffer {
  const name = (n: string): Buffer => Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const head = Buffer.from([id >> 8, id & 0xff, 0x81, 0x80 | rcode, 0, 1, 0, answers.length, 0, 0, 0, 0]);
  const question = Buffer.concat([name(qname), Buffer.from([0, 1, 0, 1])]);
  const records = answers.map(([type, rdata]) => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(60, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([Buffer.from([0xc0, 12]), fixed, rdata]);
  });
  return Buffer.concat([head, question, ...records]);
}

describe('passiveDns', () => {
  it('over UDP: one line per answer record, with the query, the data as text, ttl, rcode, client and server', async () => {
    const got = await lines(undefined, { capture: capture('udp') });
    expect(got.map((l) => ({ name: l.name, type: l.type }))).toEqual(await recordsIn('udp'));
    expect(got[0]).toEqual({ section: 'answers', query: 'host.pal.test', name: 'host.pal.test', type: 'A', data: '10.0.0.4', ttl: 300, rcode: 'NOERROR', client: '127.0.0.1', server: '127.0.0.1' });
    // A CNAME chain: both records name the query that brought them.
    expect(got.filter((l) => l.query === 'www.pal.test').map((l) => [l.name, l.type, l.data])).toEqual([
      ['www.pal.test', 'CNAME', 'host.pal.test'],
      ['host.pal.test', 'A', '10.0.0.4'],
    ]);
    const data = new Map(got.map((l) => [`${String(l.name)} ${String(l.type)}`, l.data]));
    expect(Object.fromEntries([...data].filter(([k]) => !k.startsWith('big.')))).toEqual({
      'host.pal.test A': '10.0.0.4',
      'host.pal.test AAAA': 'fd00::4',
      'www.pal.test CNAME': 'host.pal.test',
      'pal.test MX': '10 mail.pal.test',
      'txt.pal.test TXT': '"v=spf1 -all" "second string"',
      '_sip._udp.pal.test SRV': '10 20 5060 sip.pal.test',
      '4.0.0.10.in-addr.arpa PTR': 'host.pal.test',
      '9.0.0.10.in-addr.arpa PTR': 'printer.pal.test',
      '4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa PTR': 'host.pal.test',
      'pal.test CAA': '128 issue "letsencrypt.org"',
      'svc.pal.test HTTPS': '1 . mandatory=alpn,port alpn=h2,h3 port=8443 ipv4hint=10.0.0.1,10.0.0.2 ech=AAYRIjNEqrs= ipv6hint=fd00::1 key65001="abc"',
      'alias.pal.test SVCB': '0 svc.pal.test',
      'dname.pal.test DNAME': 'other.example',
      'odd.pal.test TYPE65534': '\\# 4 deadbeef',
      'naptr.pal.test NAPTR': '\\# 35 0064000a0153075349502b44325500045f736970045f7564700370616c047465737400',
      'auth.test SOA': 'ns.auth.test hostmaster.auth.test 2024010101 1200 180 1209600 600',
      'auth.test NS': 'ns.auth.test',
      'www.auth.test A': '10.1.0.1',
      'HoSt.PaL.tEsT A': '10.0.0.4',
    });
    expect(String(data.get('big.pal.test TXT'))).toMatch(/^"s00000+" "s01000+" .* "s11000+"$/);
    // The NXDOMAIN and REFUSED responses carry no record: no line.
    expect(got.some((l) => l.rcode !== 'NOERROR')).toBe(false);
  });

  it('over TCP: the same lines, one per record of each message', async () => {
    const got = await lines(undefined, { capture: capture('tcp') });
    expect(got.map((l) => ({ name: l.name, type: l.type }))).toEqual(await recordsIn('tcp'));
    expect(got).toContainEqual(expect.objectContaining({ query: 'svc.pal.test', type: 'HTTPS' }));
  });

  it('types, sections and unanswered choose what is logged', async () => {
    const a = await lines({ types: ['a', 'TYPE65534'] }, { capture: capture('udp') });
    expect(new Set(a.map((l) => l.type))).toEqual(new Set(['A', 'TYPE65534']));
    const withAdditional = await lines({ sections: ['answers', 'additional'], types: ['A', 'MX'] }, { capture: capture('udp') });
    expect(withAdditional.filter((l) => l.query === 'pal.test').map((l) => [l.section, l.name, l.type])).toEqual([
      ['answers', 'pal.test', 'MX'],
      ['additional', 'mail.pal.test', 'A'],
    ]);
    expect(withAdditional.some((l) => l.type === 'OPT')).toBe(false);

    const unanswered = await lines({ unanswered: true }, { capture: capture('udp') });
    expect(unanswered.filter((l) => l.data === null).map((l) => [l.name, l.type, l.rcode, l.ttl])).toEqual([
      ['nothere.pal.test', 'A', 'NXDOMAIN', null],
      ['nothere.auth.test', 'A', 'NXDOMAIN', null],
      ['we\\.ird\\032x.pal.test', 'A', 'NXDOMAIN', null],
      ['host.pal.test', 'A', 'REFUSED', null],
      // Cut to fit UDP (TC): dig asks again over TCP.
      ['big.pal.test', 'TXT', 'NOERROR', null],
    ]);
  });

  it('aggregate: one line per distinct record at exit, counted, names without case, first and last seen', async () => {
    const every = await lines(undefined, { capture: capture('udp') });
    const got = await lines({ aggregate: true }, { capture: capture('udp') });
    const host = got.filter((l) => l.type === 'A' && l.data === '10.0.0.4');
    // host.pal.test's A came six times: asked for itself, through www's CNAME, and as HoSt.PaL.tEsT.
    expect(host).toEqual([{ name: 'host.pal.test', type: 'A', data: '10.0.0.4', rcode: 'NOERROR', ttl: 300, count: 6, first: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown, last: expect.any(String) as unknown }]);
    expect(String(host[0]?.first) < String(host[0]?.last)).toBe(true);
    expect(got.length).toBe(new Set(every.map((l) => JSON.stringify([String(l.name).toLowerCase(), l.type, l.data]))).size);
    expect(got.reduce((n, l) => n + Number(l.count), 0)).toBe(every.length);
  });

  it('aggregate with maxEntries: a full table writes the record seen longest ago early, and no sighting is lost', async () => {
    const every = await lines(undefined, { capture: capture('udp') });
    const small = await lines({ aggregate: true, maxEntries: 2 }, { capture: capture('udp') });
    expect(small.reduce((n, l) => n + Number(l.count), 0)).toBe(every.length);
    // host.pal.test's A is pushed out between its sightings: more than one line for it.
    expect(small.filter((l) => l.name === 'host.pal.test' && l.type === 'A').length).toBeGreaterThan(1);
  });

  it('names client and server by port 53 when the capture starts with the response; TXT bytes escaped', async () => {
    const txt = Buffer.from([5, ...Buffer.from('a"b\\c', 'latin1'), 2, 0x01, 0xff]);
    const a = Buffer.from([10, 9, 0, 7]);
    const frames = udpExchange({ client: '10.0.0.53:53', server: '192.168.10.10:40000' }).send('up', response(7, 'x.example', [[16, txt], [1, a]])).frames();
    expect(await lines(undefined, { packets: frames })).toEqual([
      { section: 'answers', query: 'x.example', name: 'x.example', type: 'TXT', data: '"a\\"b\\\\c" "\\001\\255"', ttl: 60, rcode: 'NOERROR', client: '192.168.10.10', server: '10.0.0.53' },
      { section: 'answers', query: 'x.example', name: 'x.example', type: 'A', data: '10.9.0.7', ttl: 60, rcode: 'NOERROR', client: '192.168.10.10', server: '10.0.0.53' },
    ]);
    // A malformed A (3 bytes) has no data to show: null, the record still logged.
    const bad = udpExchange({ client: '10.0.0.53:53', server: '192.168.10.10:40000' }).send('up', response(8, 'y.example', [[1, Buffer.from([1, 2, 3])]])).frames();
    expect((await lines(undefined, { packets: bad })).map((l) => [l.type, l.data])).toEqual([['A', null]]);
  });

  it('writes the lines docs/rules.md shows for its example over the UDP capture', async () => {
    const page = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('## passiveDns'));
    const shown = /^```text\n([\s\S]*?)^```$/m.exec(section)?.[1]?.trim().split('\n') ?? [];
    expect(shown.length).toBeGreaterThan(0);
    const example = await import('../../docs/examples/rules-passive-dns.ts');
    const r = await replay({ rules: example.default, capture: capture('udp') });
    const withoutFile = (l: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'rules'));
    expect(r.logs.map(withoutFile)).toEqual(shown.map((l) => withoutFile(JSON.parse(l) as Record<string, unknown>)));
  });

  it('refuses at load, naming the rule file line, the option and the value', async () => {
    const refused = async (options: unknown, message: RegExp): Promise<void> => {
      await expect(replay({ rules: install(options as PassiveDnsOptions), packets: [] })).rejects.toMatchObject({ code: 'PAL_ERR_RULE_INVALID', message: expect.stringMatching(message) as unknown });
    };
    await refused({ type: ['A'] }, /^test\/rules\/passive-dns\.test\.ts:\d+: passiveDns 'passive-dns': options has no option 'type' \(the options are name, types, sections, unanswered, aggregate, maxEntries\)$/);
    await refused({ types: [] }, /types is empty, which logs nothing; leave it out to log every type$/);
    await refused({ types: ['A', 'A AAAA'] }, /types\[1\] must be a record type \('A', 'MX', 'TYPE65534'\), not 'A AAAA'$/);
    await refused({ types: ['TYPE70000'] }, /types\[0\] must be a record type .*, not 'TYPE70000'$/);
    await refused({ sections: ['answer'] }, /sections\[0\] must be 'answers', 'authority' or 'additional', not 'answer'$/);
    await refused({ maxEntries: 100 }, /maxEntries needs aggregate: true; without it nothing is kept$/);
    await refused({ aggregate: true, maxEntries: 0 }, /maxEntries must be a positive integer, not 0$/);
    await refused({ aggregate: 'yes' }, /aggregate must be true or false, not 'yes'$/);
  });
});
