// Crafted messages: the header, the sections and their counts, RDATA of every decoded type
// right and wrong, EDNS, and the anomalies each mistake gives. The captures cover well-formed
// traffic (real-traffic.test.ts); these cover what no server sends.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { dnsAnomalies, type DnsAnomalyKind } from '../../dissectors/dns/anomalies.ts';
import { parseDnsMessage, type DnsMessage } from '../../dissectors/dns/message.ts';
import { sameName } from '../../dissectors/dns/name-compare.ts';
import { className, opcodeName, rcodeName, typeName } from '../../dissectors/dns/parameters.ts';
import type { DnsRecord } from '../../dissectors/dns/record.ts';
import type { DnsMx } from '../../dissectors/dns/rdata.ts';
import { pcap, udpExchange } from 'palisade/testing';
import { tsharkFields } from '../tshark-fields.ts';
import { header, name, opt, pointer, question, record, u16, u32 } from './build.ts';

const RESPONSE = 0x8180;

function parse(...parts: Buffer[]): DnsMessage {
  const m = parseDnsMessage(Buffer.concat(parts));
  if (m === null) throw new Error('no message');
  return m;
}

const kinds = (m: DnsMessage): DnsAnomalyKind[] => m.anomalies.map((a) => a.kind);

/** The data of the first answer. */
const data = (m: DnsMessage): unknown => m.answers[0]?.data;

/** One answer to a question for `owner`, its RDATA `rdata`. */
const answerOf = (type: number, rdata: Buffer, owner = 'x.test'): DnsMessage => parse(header({ flags: RESPONSE, qd: 1, an: 1 }), question(owner, type), record(pointer(12), type, rdata));

describe('the header', () => {
  it('reads every flag and field where RFC 1035 §4.1.1 and RFC 4035 §3.2 put it', () => {
    // QR, opcode 5 (UPDATE), AA, TC, RD, RA, Z, AD, CD, rcode 9.
    const m = parse(header({ id: 0xbeef, flags: 0b1_0101_1_1_1_1_1_1_1_1001, qd: 0, an: 0 }));
    expect(m).toMatchObject({ id: 0xbeef, qr: true, opcode: 5, aa: true, tc: true, rd: true, ra: true, z: true, ad: true, cd: true, rcode: 9 });
    expect(parse(header({ flags: 0 }))).toMatchObject({ qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false, rcode: 0 });
  });

  it('returns null for fewer than 12 bytes, never throwing', () => {
    for (let n = 0; n < 12; n++) expect(parseDnsMessage(header().subarray(0, n))).toBeNull();
  });

  it('names opcodes, rcodes, types and classes, and writes unknown ones as RFC 3597 §5 does', () => {
    expect([opcodeName(0), opcodeName(5), opcodeName(9)]).toEqual(['QUERY', 'UPDATE', 'OPCODE9']);
    expect([rcodeName(3), rcodeName(16), rcodeName(4000)]).toEqual(['NXDOMAIN', 'BADVERS', 'RCODE4000']);
    expect([typeName(65), typeName(255), typeName(65534)]).toEqual(['HTTPS', 'ANY', 'TYPE65534']);
    expect([className(1), className(3), className(32)]).toEqual(['IN', 'CH', 'CLASS32']);
  });
});

describe('sections and counts', () => {
  it('reads a message with zero questions, as some responses are (no anomaly)', () => {
    const m = parse(header({ flags: RESPONSE, qd: 0, an: 1 }), record('a.test', 1, Buffer.from([1, 2, 3, 4])));
    expect(m).toMatchObject({ questions: [], partial: false, anomalies: [], length: m.length });
    expect(m.answers).toEqual([{ name: 'a.test', type: 1, typeName: 'A', class: 1, ttl: 300, data: '1.2.3.4' }]);
    expect(parse(header({ qd: 0 }))).toMatchObject({ questions: [], answers: [], partial: false, anomalies: [], length: 12 });
  });

  it('reads all three sections in order, and the counts as sent', () => {
    const m = parse(
      header({ flags: RESPONSE, qd: 1, an: 1, ns: 1, ar: 2 }),
      question('www.test'),
      record(pointer(12), 1, Buffer.from([10, 0, 0, 1])),
      record('test', 2, name('ns.test')),
      record('ns.test', 1, Buffer.from([10, 0, 0, 53])),
      opt({ udpSize: 4096 }),
    );
    expect(m.counts).toEqual({ questions: 1, answers: 1, authority: 1, additional: 2 });
    expect(m.questions).toEqual([{ name: 'www.test', type: 1, typeName: 'A', class: 1 }]);
    expect(m.answers.map((r) => r.name)).toEqual(['www.test']);
    expect(m.authority).toMatchObject([{ typeName: 'NS', data: 'ns.test' }]);
    expect(m.additional.map((r) => r.typeName)).toEqual(['A', 'OPT']);
    expect(m.anomalies).toEqual([]);
  });

  it('counts larger than the records present: count-mismatch, partial, what came kept', () => {
    const m = parse(header({ flags: RESPONSE, qd: 1, an: 3 }), question('a.test'), record(pointer(12), 1, Buffer.from([1, 1, 1, 1])));
    expect(kinds(m)).toEqual(['count-mismatch']);
    expect(m.anomalies[0]?.detail).toBe('answer 2 of 3: the message ends at 40');
    expect(m).toMatchObject({ partial: true, length: 40 });
    expect(m.answers).toHaveLength(1);
    expect(kinds(parse(header({ qd: 2 }), question('a.test')))).toEqual(['multiple-questions', 'count-mismatch']);
  });

  it('a truncated record, in its fixed fields or its RDATA: truncated-record', () => {
    const whole = Buffer.concat([header({ flags: RESPONSE, qd: 1, an: 1 }), question('a.test'), record(pointer(12), 1, Buffer.from([1, 1, 1, 1]))]);
    for (const cut of [whole.length - 1, whole.length - 4, whole.length - 8, whole.length - 13]) {
      const m = parseDnsMessage(whole.subarray(0, cut));
      expect(m && kinds(m)).toEqual(['truncated-record']);
      expect(m?.partial).toBe(true);
      expect(m?.answers).toEqual([]);
      expect(m?.questions).toHaveLength(1);
    }
    // A question cut inside its name, or its type.
    expect(kinds(parse(header({ qd: 1 }), Buffer.from([3, 0x61])))).toEqual(['truncated-record']);
    expect(kinds(parse(header({ qd: 1 }), name('a'), Buffer.from([0])))).toEqual(['truncated-record']);
  });

  it('with TC set, a message cut short is what its sender said: partial, no anomaly', () => {
    const tc = 0x8380;
    const m = parse(header({ flags: tc, qd: 1, an: 5 }), question('a.test'), record(pointer(12), 1, Buffer.from([1, 1, 1, 1])), Buffer.from([0xc0, 12, 0, 1]));
    expect(m).toMatchObject({ tc: true, partial: true, anomalies: [] });
    expect(m.answers).toHaveLength(1);
  });

  it('bytes after the last record counted: trailing-bytes', () => {
    const m = parse(header({ qd: 1 }), question('a.test'), Buffer.from('junk'));
    expect(kinds(m)).toEqual(['trailing-bytes']);
    expect(m).toMatchObject({ partial: false, length: 12 + 12 });
  });

  it('a bad owner name stops the parse with its anomaly', () => {
    const m = parse(header({ flags: RESPONSE, qd: 1, an: 2 }), question('a.test'), record(pointer(12), 1, Buffer.from([1, 1, 1, 1])), pointer(40), Buffer.alloc(14));
    expect(kinds(m)).toEqual(['pointer-loop']);
    expect(m).toMatchObject({ partial: true, length: 40 });
    expect(m.answers).toHaveLength(1);
    expect(kinds(parse(header({ qd: 1 }), pointer(2), Buffer.alloc(4)))).toEqual(['pointer-out-of-range']);
    expect(kinds(parse(header({ qd: 1 }), name('x'.repeat(64)), Buffer.alloc(4)))).toEqual(['label-too-long']);
  });

  it('notes each kind once, with its first detail', () => {
    const bad = (n: number): Buffer => record('a.test', 1, Buffer.alloc(n));
    const m = parse(header({ flags: RESPONSE, an: 3 }), bad(3), bad(5), record('a.test', 1, Buffer.from([9, 9, 9, 9])));
    expect(m.anomalies).toEqual([{ kind: 'bad-rdata', detail: 'A RDATA of 3 bytes' }]);
    expect(m.answers.map((r) => r.data)).toEqual([null, null, '9.9.9.9']);
  });

  it('declares every kind it reports, with a text', () => {
    for (const [kind, doc] of Object.entries(dnsAnomalies)) expect(doc.length, kind).toBeGreaterThan(20);
  });
});

describe('names in messages', () => {
  it('keeps a 0x20 mixed-case name as sent, in the question and in a pointer to it; sameName compares', () => {
    const m = parse(header({ flags: RESPONSE, qd: 1, an: 2 }), question('WwW.ExAmPlE.cOm'), record(pointer(12), 1, Buffer.from([1, 2, 3, 4])), record('www.example.com', 1, Buffer.from([6, 6, 6, 6])));
    expect(m.questions[0]?.name).toBe('WwW.ExAmPlE.cOm');
    expect(m.answers.map((r) => r.name)).toEqual(['WwW.ExAmPlE.cOm', 'www.example.com']);
    // A rule can tell an answer that did not copy the question's case (a spoofing sign) and still match it.
    expect(m.answers.map((r) => r.name === m.questions[0]?.name)).toEqual([true, false]);
    expect(m.answers.every((r) => sameName(r.name, 'www.example.com'))).toBe(true);
  });
});

describe('RDATA', () => {
  it('decodes A and AAAA as text', () => {
    expect(data(answerOf(1, Buffer.from([192, 0, 2, 1])))).toBe('192.0.2.1');
    expect(data(answerOf(28, Buffer.from('20010db8000000000000000000000001', 'hex')))).toBe('2001:db8::1');
    expect(data(answerOf(28, Buffer.from('00000000000000000000ffffc0000201', 'hex')))).toBe('::ffff:192.0.2.1');
  });

  it('decodes names, compressed or not: NS, CNAME, PTR, DNAME', () => {
    for (const type of [2, 5, 12, 39]) {
      expect(data(answerOf(type, name('target.test')))).toBe('target.test');
      // A pointer to the question's name.
      expect(data(answerOf(type, Buffer.concat([Buffer.from([3]), Buffer.from('sub'), pointer(12)])))).toBe('sub.x.test');
    }
  });

  it('decodes MX, SOA, SRV and TXT', () => {
    expect(data(answerOf(15, Buffer.concat([u16(10), name('mx.test')])))).toEqual({ preference: 10, exchange: 'mx.test' });
    expect(data(answerOf(6, Buffer.concat([name('ns.test'), name('admin.test'), u32(1), u32(2), u32(3), u32(4), u32(0xffffffff)])))).toEqual({
      mname: 'ns.test',
      rname: 'admin.test',
      serial: 1,
      refresh: 2,
      retry: 3,
      expire: 4,
      minimum: 0xffffffff,
    });
    expect(data(answerOf(33, Buffer.concat([u16(1), u16(2), u16(443), name('.')])))).toEqual({ priority: 1, weight: 2, port: 443, target: '.' });
    expect(data(answerOf(16, Buffer.from([2, 0x68, 0x69, 0, 2, 0xe9, 0xff])))).toEqual(['hi', '', '\u00e9\u00ff']);
  });

  it('decodes CAA (RFC 8659)', () => {
    expect(data(answerOf(257, Buffer.concat([Buffer.from([0x80, 5]), Buffer.from('issue'), Buffer.from('ca.example')])))).toEqual({ flags: 0x80, critical: true, tag: 'issue', value: 'ca.example' });
    expect(data(answerOf(257, Buffer.from([0, 0])))).toBeNull();
  });

  it('decodes SVCB params and refuses keys out of order, a compressed target, or a value against its syntax', () => {
    const svcb = (...params: Buffer[]): Buffer => Buffer.concat([u16(1), name('.'), ...params]);
    const param = (key: number, value: Buffer): Buffer => Buffer.concat([u16(key), u16(value.length), value]);
    expect(data(answerOf(64, svcb(param(2, Buffer.alloc(0)), param(3, u16(853)))))).toEqual({ priority: 1, target: '.', params: { keys: [2, 3], noDefaultAlpn: true, port: 853, others: [] } });
    const bad: [string, Buffer][] = [
      ['out of order', svcb(param(3, u16(853)), param(1, Buffer.from([2, 0x68, 0x32])))],
      ['repeated', svcb(param(3, u16(853)), param(3, u16(853)))],
      ['port of 3 bytes', svcb(param(3, Buffer.alloc(3)))],
      ['empty alpn id', svcb(param(1, Buffer.from([0])))],
      ['alpn id overrunning', svcb(param(1, Buffer.from([5, 0x68])))],
      ['ipv4hint of 5 bytes', svcb(param(4, Buffer.alloc(5)))],
      ['ipv6hint empty', svcb(param(6, Buffer.alloc(0)))],
      ['no-default-alpn with a value', svcb(param(2, Buffer.alloc(1)))],
      ['mandatory odd', svcb(param(0, Buffer.alloc(3)))],
      ['param header cut', Buffer.concat([svcb(), Buffer.from([0, 3, 0])])],
      ['param value overrunning', Buffer.concat([svcb(), u16(3), u16(4), u16(853)])],
      ['compressed target', Buffer.concat([u16(1), pointer(12)])],
      ['too short', Buffer.from([0, 1])],
    ];
    for (const [what, rdata] of bad) {
      const m = answerOf(65, rdata);
      expect(data(m), what).toBeNull();
      expect(kinds(m), what).toEqual(['bad-rdata']);
    }
  });

  it('keeps every other type raw, a copy that outlives the message bytes', () => {
    const bytes = Buffer.concat([header({ flags: RESPONSE, an: 1 }), record('k.test', 48, Buffer.from('key material'))]);
    const m = parseDnsMessage(bytes);
    bytes.fill(0);
    expect(m?.answers[0]).toEqual({ name: 'k.test', type: 48, typeName: 'DNSKEY', class: 1, ttl: 300, data: Buffer.from('key material') });
  });

  it('RDATA against its type: data null and bad-rdata, and the next record still read', () => {
    const cases: [string, number, Buffer][] = [
      ['A of 3', 1, Buffer.alloc(3)],
      ['AAAA of 4', 28, Buffer.alloc(4)],
      ['CNAME with a byte after its name', 5, Buffer.concat([name('a.test'), Buffer.from([0])])],
      ['NS overrunning RDLENGTH', 2, Buffer.from([5, 0x61])],
      ['MX of 2', 15, u16(10)],
      ['SOA short of its numbers', 6, Buffer.concat([name('a'), name('b'), Buffer.alloc(19)])],
      ['SRV of 6', 33, Buffer.alloc(6)],
      ['TXT overrunning', 16, Buffer.from([4, 0x61])],
      ['OPT option overrunning', 41, Buffer.concat([u16(10), u16(8), Buffer.alloc(4)])],
      ['OPT option header cut', 41, Buffer.from([0, 10, 0])],
    ];
    for (const [what, type, rdata] of cases) {
      const m = parse(header({ flags: RESPONSE, ar: 2 }), record('.', type, rdata), record('ok.test', 1, Buffer.from([1, 2, 3, 4])));
      expect(m.additional[0]?.data, what).toBeNull();
      expect(kinds(m), what).toEqual(['bad-rdata']);
      expect(m.additional[1]?.data, what).toBe('1.2.3.4');
    }
  });

  it('a name anomaly inside RDATA is reported as itself, and the record kept with data null', () => {
    // The CNAME's RDATA, at 30, points to itself.
    const loop = parse(header({ flags: RESPONSE, an: 2 }), record('a.test', 5, pointer(30)), record('b.test', 1, Buffer.from([1, 2, 3, 4])));
    expect(kinds(loop)).toEqual(['pointer-loop']);
    expect(loop.answers.map((r) => r.data)).toEqual([null, '1.2.3.4']);
  });
});

describe('EDNS (RFC 6891)', () => {
  it('takes the OPT into edns, and the extended rcode into rcode: 16 is BADVERS', () => {
    const m = parse(header({ flags: RESPONSE, ar: 1 }), opt({ udpSize: 1400, extendedRcode: 1, version: 0, flags: 0x8000 | 0x0001, options: Buffer.concat([u16(10), u16(3), Buffer.from('abc')]) }));
    expect(m.edns).toEqual({ udpSize: 1400, extendedRcode: 1, version: 0, dnssecOk: true, z: 1, options: [{ code: 10, data: Buffer.from('abc') }] });
    expect(m.rcode).toBe(16);
    expect(rcodeName(m.rcode)).toBe('BADVERS');
    expect(m.anomalies).toEqual([]);
  });

  it('and tshark reads the same message with the two halves of that rcode apart', () => {
    const msg = Buffer.concat([header({ id: 0x5151, flags: RESPONSE | 3, ar: 1 }), opt({ udpSize: 1232, extendedRcode: 2, version: 1 })]);
    const m = parseDnsMessage(msg);
    expect(m?.rcode).toBe((2 << 4) | 3);
    const [t] = tsharkFields(pcap(udpExchange().send('down', msg).frames()), ['dns.id', 'dns.flags.rcode', 'dns.resp.ext_rcode', 'dns.resp.edns0_version', 'dns.rr.udp_payload_size']);
    expect(t).toEqual({ 'dns.id': '0x5151', 'dns.flags.rcode': '3', 'dns.resp.ext_rcode': '0x02', 'dns.resp.edns0_version': '1', 'dns.rr.udp_payload_size': '1232' });
  });

  it('an OPT misplaced, owned by a name, or twice: bad-opt; only the first well-placed one counts', () => {
    const inAnswers = parse(header({ flags: RESPONSE, an: 1 }), opt());
    expect(kinds(inAnswers)).toEqual(['bad-opt']);
    expect(inAnswers.edns).toBeNull();
    const named = parse(header({ flags: RESPONSE, ar: 1 }), opt({ owner: 'x.test', extendedRcode: 1 }));
    expect(kinds(named)).toEqual(['bad-opt']);
    expect(named).toMatchObject({ edns: null, rcode: 0 });
    const twice = parse(header({ flags: RESPONSE, ar: 2 }), opt({ udpSize: 1000 }), opt({ udpSize: 2000, extendedRcode: 1 }));
    expect(kinds(twice)).toEqual(['bad-opt']);
    expect(twice).toMatchObject({ edns: { udpSize: 1000 }, rcode: 0 });
  });
});

describe('types for rules', () => {
  it('narrow data on typeName', () => {
    const m = answerOf(15, Buffer.concat([u16(10), name('mx.test')]));
    const r = m.answers[0] as DnsRecord;
    if (r.typeName === 'MX') expectTypeOf(r.data).toEqualTypeOf<DnsMx | null>();
    if (r.typeName === 'A') expectTypeOf(r.data).toEqualTypeOf<string | null>();
    if (r.typeName === 'TXT') expectTypeOf(r.data).toEqualTypeOf<string[] | null>();
    if (r.typeName === 'NAPTR' || r.typeName === 'TYPE65534') expectTypeOf(r.data).toEqualTypeOf<Buffer>();
    expect(r.typeName === 'MX' ? r.data?.exchange : undefined).toBe('mx.test');
  });
});
