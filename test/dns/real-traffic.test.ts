/**
 * Real DNS traffic (dig against dnsmasq, test/captures/dns/make-captures.sh), replayed through
 * palisade and parsed: every message, field by field, as tshark decodes it (tshark-dns.ts says
 * where the two write a value differently, and why), then the cases the captures were made for.
 * tshark is required (CI installs it): without it this suite fails, it does not skip.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDnsMessage, type DnsMessage } from '../../dissectors/dns/message.ts';
import type { DnsRecord } from '../../dissectors/dns/record.ts';
import { captured, capturePath, type Captured } from './captured.ts';
import { palisadeShape, tsharkDns, tsharkShape } from './tshark-dns.ts';

function parsed(messages: Buffer[]): DnsMessage[] {
  return messages.map((b) => {
    const m = parseDnsMessage(b);
    if (m === null) throw new Error(`a captured message of ${b.length} bytes did not parse`);
    return m;
  });
}

const byQuestion = (ms: DnsMessage[], name: string, type: number, response = true): DnsMessage => {
  const m = ms.find((x) => x.qr === response && x.questions[0]?.name === name && x.questions[0].type === type);
  if (m === undefined) throw new Error(`no ${response ? 'response' : 'query'} for ${name} type ${type}`);
  return m;
};

const answer = (m: DnsMessage, i = 0): DnsRecord => {
  const r = m.answers[i];
  if (r === undefined) throw new Error(`no answer ${i}`);
  return r;
};

describe.each(['udp.pcap', 'tcp.pcap'] as const)('%s', (file) => {
  let cap: Captured;
  let messages: DnsMessage[];
  beforeAll(async () => {
    cap = await captured(file);
    messages = parsed(cap.messages);
  });

  it('parses every message as tshark decodes it, field by field', () => {
    const theirs = tsharkDns(capturePath(file)).map(tsharkShape);
    expect(theirs.length).toBeGreaterThan(file === 'udp.pcap' ? 50 : 10);
    expect(messages.map(palisadeShape)).toEqual(theirs);
  });

  it('finds nothing wrong in any of them', () => {
    for (const m of messages) {
      expect(m.anomalies).toEqual([]);
      expect(m.partial).toBe(false);
    }
    expect(cap.anomalies).toEqual([]);
  });
});

describe('the cases of the UDP capture', () => {
  let ms: DnsMessage[];
  beforeAll(async () => {
    ms = parsed((await captured('udp.pcap')).messages);
  });

  it('escapes a dot and a space inside a label, which tshark prints raw', () => {
    const q = byQuestion(ms, 'we\\.ird\\032x.pal.test', 1, false);
    expect(q.questions[0]?.name).toBe('we\\.ird\\032x.pal.test');
    // tshark's text for it, 'we.ird x.pal.test', reads as four labels, and tshark counts four:
    // the text cannot tell a dot in a label from one between labels.
    const layer = tsharkDns(capturePath('udp.pcap')).find((l) => l['dns.id'] === `0x${q.id.toString(16).padStart(4, '0')}`);
    const tq = Object.values(layer?.Queries as Record<string, Record<string, string>>)[0];
    expect(tq?.['dns.qry.name']).toBe('we.ird x.pal.test');
    expect(tq?.['dns.count.labels']).toBe('4');
    expect(byQuestion(ms, 'we\\.ird\\032x.pal.test', 1).rcode).toBe(3);
  });

  it('keeps 0x20 mixed case as sent, in the question and the answer dnsmasq copied it into', () => {
    const r = byQuestion(ms, 'HoSt.PaL.tEsT', 1);
    expect(r.questions[0]?.name).toBe('HoSt.PaL.tEsT');
    expect(answer(r)).toEqual({ name: 'HoSt.PaL.tEsT', type: 1, typeName: 'A', class: 1, ttl: 300, data: '10.0.0.4' });
  });

  it('decodes an AAAA, over IPv4 and IPv6 alike', () => {
    const answers = ms.filter((m) => m.qr && m.questions[0]?.type === 28).map((m) => answer(m));
    expect(answers.length).toBe(2);
    for (const r of answers) expect(r).toMatchObject({ typeName: 'AAAA', data: 'fd00::4' });
  });

  it('decodes an HTTPS record: mandatory, alpn, port, both hints, ech, and an unknown key raw', () => {
    const r = answer(byQuestion(ms, 'svc.pal.test', 65));
    expect(r.typeName).toBe('HTTPS');
    if (r.typeName !== 'HTTPS') return;
    expect(r.data).toEqual({
      priority: 1,
      target: '.',
      params: {
        keys: [0, 1, 3, 4, 5, 6, 65001],
        mandatory: [1, 3],
        alpn: ['h2', 'h3'],
        port: 8443,
        ipv4hint: ['10.0.0.1', '10.0.0.2'],
        ech: Buffer.from('000611223344aabb', 'hex'),
        ipv6hint: ['fd00::1'],
        others: [{ key: 65001, value: Buffer.from('abc') }],
      },
    });
    expect(answer(byQuestion(ms, 'alias.pal.test', 64)).data).toEqual({ priority: 0, target: 'svc.pal.test', params: { keys: [], others: [] } });
  });

  it('keeps an unknown type raw and names it TYPE65534 (RFC 3597), and a known one it does not decode raw too', () => {
    expect(answer(byQuestion(ms, 'odd.pal.test', 65534))).toEqual({ name: 'odd.pal.test', type: 65534, typeName: 'TYPE65534', class: 1, ttl: 300, data: Buffer.from('deadbeef', 'hex') });
    const naptr = answer(byQuestion(ms, 'naptr.pal.test', 35));
    expect(naptr.typeName).toBe('NAPTR');
    expect(Buffer.isBuffer(naptr.data)).toBe(true);
  });

  it('reads NXDOMAIN with and without the SOA of the zone in the authority section', () => {
    expect(byQuestion(ms, 'nothere.pal.test', 1)).toMatchObject({ rcode: 3, aa: false, answers: [], authority: [] });
    const auth = byQuestion(ms, 'nothere.auth.test', 1);
    expect(auth).toMatchObject({ rcode: 3, aa: true, answers: [] });
    expect(auth.authority).toEqual([
      { name: 'auth.test', type: 6, typeName: 'SOA', class: 1, ttl: 600, data: { mname: 'ns.auth.test', rname: 'hostmaster.auth.test', serial: 2024010101, refresh: 1200, retry: 180, expire: 1209600, minimum: 600 } },
    ]);
  });

  it('reads EDNS: the DO bit, NSID, client subnet and cookie options, and a message without EDNS', () => {
    const q = ms.find((m) => !m.qr && m.edns?.dnssecOk === true);
    expect(q?.edns).toMatchObject({ udpSize: 1232, version: 0, dnssecOk: true });
    expect(q?.edns?.options.map((o) => o.code)).toEqual([3, 8, 10]);
    // Client subnet (RFC 7871 §6): family 1, source prefix 24, scope 0, 10.0.0.
    expect(q?.edns?.options[1]?.data).toEqual(Buffer.from([0, 1, 24, 0, 10, 0, 0]));
    const plain = ms.filter((m) => m.edns === null);
    expect(plain.map((m) => m.qr)).toEqual([false, true]);
    expect(plain[1]?.additional).toEqual([]);
  });

  it('reads the CD and AD bits as dig sets them', () => {
    const cd = ms.filter((m) => !m.qr && m.cd);
    expect(cd.length).toBe(1);
    expect(cd[0]?.ad).toBe(false);
    expect(ms.filter((m) => !m.qr && m.ad).length).toBe(ms.filter((m) => !m.qr).length - 1);
  });

  it('reads a 3 KB TXT over UDP whole, and the truncated (TC) answer to a 1232-byte buffer', () => {
    const big = ms.filter((m) => m.qr && m.questions[0]?.name === 'big.pal.test');
    expect(big.map((m) => m.tc)).toEqual([false, true]);
    const r = answer(big[0] as DnsMessage);
    if (r.typeName !== 'TXT') throw new Error(r.typeName);
    expect(r.data?.length).toBe(12);
    expect(r.data?.map((s) => s.length)).toEqual(Array(12).fill(249));
    expect(big[1]).toMatchObject({ answers: [], partial: false, anomalies: [] });
  });

  it('reads an opcode other than QUERY and the REFUSED it got', () => {
    expect(ms.filter((m) => m.opcode === 2).map((m) => [m.qr, m.rcode])).toEqual([
      [false, 0],
      [true, 5],
    ]);
  });
});

describe('the cases of the TCP capture', () => {
  it('delivers two queries on one connection (dig +keepopen), and both answers', async () => {
    const cap = await captured('tcp.pcap');
    const questions = cap.streams.map((s) => parsed(s.messages).map((m) => `${m.qr ? 'answer' : 'query'} ${m.questions[0]?.name ?? '?'}`));
    expect(questions).toContainEqual(['query host.pal.test', 'query txt.pal.test']);
    expect(questions).toContainEqual(['answer host.pal.test', 'answer txt.pal.test']);
  });

  it('reads the 3 KB TXT that a TC answer sent there', async () => {
    const ms = parsed((await captured('tcp.pcap')).messages);
    const txt = ms.find((m) => m.qr && m.questions[0]?.name === 'big.pal.test');
    expect(txt?.tc).toBe(false);
    expect(txt?.answers[0]?.data).toHaveLength(12);
  });
});
