/**
 * TlsReader on crafted streams: records and handshake messages cut at every boundary that
 * matters, what `buffered` holds meanwhile, the limits, and each way a stream can be no TLS.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_HANDSHAKE_BYTES } from '../../dissectors/tls/reader.ts';
import { chunked, cutAt, kinds, plain, read, reading, type ReadEvent } from './read-events.ts';
import {
  ALERT,
  APPLICATION_DATA,
  certificate,
  CHANGE_CIPHER_SPEC,
  clientHello,
  ext,
  handshake,
  HANDSHAKE,
  HRR_RANDOM,
  int,
  record,
  records,
  serverHello,
  serverHelloDone,
} from './tls-bytes.ts';

const hello = clientHello({ extensions: [ext.serverName('example.com'), ext.alpn('h2', 'http/1.1'), ext.supportedVersions(0x0304, 0x0303)] });
const helloRecord = record(HANDSHAKE, hello, 0x0301);

function serverNames(events: ReadEvent[]): (string | null)[] {
  return events.flatMap((e) => (e.event === 'clientHello' ? [e.hello.serverName] : []));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reassembly', () => {
  it('reads a ClientHello whole in one chunk from the chunk itself, without copying it', () => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    const r = read(true, [helloRecord]);
    expect(alloc).not.toHaveBeenCalled();
    expect(serverNames(r.events)).toEqual(['example.com']);
    expect(r.reader.buffered).toBe(0);
  });

  it('copies a ClientHello split across two chunks once, into a buffer of its length', () => {
    const r = reading(true);
    const alloc = vi.spyOn(Buffer, 'allocUnsafe');
    for (const c of cutAt(helloRecord, 40)) r.reader.feed(Buffer.from(c));
    expect(alloc.mock.calls).toEqual([[hello.length - 4]]);
    expect(serverNames(r.events)).toEqual(['example.com']);
  });

  it('reads a ClientHello split across two records (RFC 8446 §5.1), whatever the chunks', () => {
    const split = records(HANDSHAKE, hello, 30);
    const want = plain(read(true, [helloRecord]).events);
    expect(plain(read(true, [split]).events)).toEqual(want);
    for (const size of [1, 2, 3, 5, 29, 30, 31, 35]) expect(plain(read(true, chunked(split, size)).events)).toEqual(want);
  });

  it('reads a ClientHello fed one byte at a time, holding every byte until the last', () => {
    const r = reading(true);
    helloRecord.forEach((b, i) => {
      r.reader.feed(Buffer.from([b]));
      expect(r.reader.buffered).toBe(i === helloRecord.length - 1 ? 0 : i + 1);
    });
    expect(serverNames(r.events)).toEqual(['example.com']);
  });

  it('holds the first record of a ClientHello split in two until the second is complete', () => {
    const first = record(HANDSHAKE, hello.subarray(0, 50));
    const second = record(HANDSHAKE, hello.subarray(50));
    const r = reading(true);
    r.reader.feed(first);
    expect(r.reader.buffered).toBe(first.length);
    r.reader.feed(second.subarray(0, 5));
    expect(r.reader.buffered).toBe(first.length + 5);
    r.reader.feed(second.subarray(5));
    expect(r.reader.buffered).toBe(0);
    expect(serverNames(r.events)).toEqual(['example.com']);
  });

  it('reads several handshake messages in one record, and a message cut at every byte of that record', () => {
    const flight = record(HANDSHAKE, Buffer.concat([serverHello(), certificate([]), serverHelloDone]));
    const want = ['serverHello', 'certificate'];
    expect(kinds(read(false, [flight]).events)).toEqual(want);
    for (let cut = 1; cut < flight.length; cut++) expect(kinds(read(false, cutAt(flight, cut)).events)).toEqual(want);
  });

  it('judges a message it skips as it passes: after ServerHelloDone nothing is held', () => {
    const r = read(false, [record(HANDSHAKE, Buffer.concat([serverHello(), handshake(12, Buffer.alloc(300, 9))])), record(HANDSHAKE, serverHelloDone)]);
    expect(r.reader.buffered).toBe(0);
    expect(r.reader.done).toBe(false);
  });
});

describe('where reading stops', () => {
  it('stops at a TLS 1.2 ChangeCipherSpec and ignores the rest in O(1)', () => {
    const r = read(false, [record(HANDSHAKE, serverHello()), record(CHANGE_CIPHER_SPEC, Buffer.from([1]))]);
    expect(r.reader.done).toBe(true);
    r.reader.feed(Buffer.alloc(1 << 20, 0x16));
    expect(r.reader.buffered).toBe(0);
    expect(kinds(r.events)).toEqual(['serverHello']);
  });

  it('stops after a TLS 1.3 ServerHello: the rest of the record is not read', () => {
    const sh = serverHello({ cipherSuite: 0x1301, extensions: [ext.serverVersion(0x0304)] });
    const r = read(false, [record(HANDSHAKE, Buffer.concat([sh, Buffer.from('anything')]))]);
    expect(r.reader.done).toBe(true);
    expect(kinds(r.events)).toEqual(['serverHello']);
  });

  it('stops at an alert, and at application data, with no anomaly', () => {
    expect(read(false, [record(ALERT, Buffer.from([2, 40]))]).reader.done).toBe(true);
    const r = read(true, [helloRecord, record(APPLICATION_DATA, Buffer.alloc(40))]);
    expect([r.reader.done, kinds(r.events)]).toEqual([true, ['clientHello']]);
  });

  it("after a HelloRetryRequest skips the server's dummy ChangeCipherSpec and reads the second ServerHello (RFC 8446 D.4)", () => {
    const hrr = serverHello({ random: HRR_RANDOM, cipherSuite: 0x1301, extensions: [ext.serverVersion(0x0304), ext.keyShare()] });
    const sh = serverHello({ cipherSuite: 0x1301, extensions: [ext.serverVersion(0x0304)] });
    const r = read(false, [record(HANDSHAKE, hrr), record(CHANGE_CIPHER_SPEC, Buffer.from([1])), record(HANDSHAKE, sh)]);
    expect(r.events.map((e) => (e.event === 'serverHello' ? e.hello.helloRetryRequest : e.event))).toEqual([true, false]);
    expect(r.reader.done).toBe(true);
  });

  it('refuses a second HelloRetryRequest (RFC 8446 §4.1.4)', () => {
    const hrr = record(HANDSHAKE, serverHello({ random: HRR_RANDOM, extensions: [ext.serverVersion(0x0304)] }));
    expect(kinds(read(false, [hrr, hrr]).events)).toEqual(['serverHello', 'unexpected-message']);
  });

  it("reads a client's second ClientHello after its dummy ChangeCipherSpec", () => {
    const second = record(HANDSHAKE, clientHello({ extensions: [ext.serverName('second.example'), ext.supportedVersions(0x0304)] }));
    const r = read(true, [helloRecord, record(CHANGE_CIPHER_SPEC, Buffer.from([1])), second]);
    expect(serverNames(r.events)).toEqual(['example.com', 'second.example']);
    expect(r.events.filter((e) => e.event === 'anomaly')).toEqual([]);
  });

  it('stops quietly at what follows a ChangeCipherSpec when it is an encrypted Finished (a TLS 1.2 resumption)', () => {
    const finished = record(HANDSHAKE, Buffer.from('00c0ffee0123456789abcdef00112233445566778899aabbccddeeff01234567', 'hex'));
    const r = read(true, [helloRecord, record(CHANGE_CIPHER_SPEC, Buffer.from([1])), finished]);
    expect([r.reader.done, r.reader.buffered, kinds(r.events)]).toEqual([true, 0, ['clientHello']]);
  });

  it('stops at a ChangeCipherSpec after the client key exchange (TLS 1.2)', () => {
    const cke = record(HANDSHAKE, handshake(16, Buffer.alloc(33, 4)));
    const r = read(true, [helloRecord, cke, record(CHANGE_CIPHER_SPEC, Buffer.from([1])), record(HANDSHAKE, clientHello())]);
    expect([r.reader.done, kinds(r.events)]).toEqual([true, ['clientHello']]);
  });
});

describe('the end of the stream', () => {
  it('reports a ClientHello cut by a gap as truncated-hello', () => {
    const r = read(true, [helloRecord.subarray(0, 100)]);
    r.reader.end(true);
    expect(r.events).toEqual([{ event: 'anomaly', kind: 'truncated-hello', detail: '100 bytes of a ClientHello read when the stream was cut' }]);
    expect([r.reader.done, r.reader.buffered]).toEqual([true, 0]);
  });

  it('reports it too when the stream closes, and a record header cut before any hello', () => {
    const r = read(true, [helloRecord.subarray(0, 3)]);
    r.reader.end(false);
    expect(kinds(r.events)).toEqual(['truncated-hello']);
    expect((r.events[0] as { detail: string }).detail).toContain('closed');
  });

  it('reports nothing when the stream ends between messages or after a whole hello', () => {
    const r = read(true, [helloRecord]);
    r.reader.end(true);
    expect(kinds(r.events)).toEqual(['clientHello']);
    const empty = reading(true);
    empty.reader.end(true);
    expect(empty.events).toEqual([]);
  });

  it('reports a ServerHello cut after a HelloRetryRequest', () => {
    const hrr = record(HANDSHAKE, serverHello({ random: HRR_RANDOM, extensions: [ext.serverVersion(0x0304)] }));
    const r = read(false, [hrr, record(HANDSHAKE, serverHello()).subarray(0, 20)]);
    r.reader.end(true);
    expect(kinds(r.events)).toEqual(['serverHello', 'truncated-hello']);
  });
});

describe('limits', () => {
  it('refuses a handshake length over maxHandshakeBytes as soon as the header says it', () => {
    const header = record(HANDSHAKE, Buffer.concat([int(1, 1), int(DEFAULT_MAX_HANDSHAKE_BYTES, 3), Buffer.alloc(100)]));
    const r = read(true, [header.subarray(0, 5 + 4)]);
    expect(kinds(r.events)).toEqual(['handshake-too-large']);
    expect([r.reader.done, r.reader.buffered]).toEqual([true, 0]);
  });

  it('takes a message of 64 KiB less its header, spread over records', () => {
    const big = clientHello({ extensions: [ext.serverName('example.com'), Buffer.concat([int(21, 2), int(65536 - 4 - 2 - 4 - 300, 2), Buffer.alloc(65536 - 4 - 2 - 4 - 300)])] });
    const r = read(true, chunked(records(HANDSHAKE, big, 16384), 1000), { maxHandshakeBytes: big.length + 25 });
    expect(kinds(r.events)).toEqual(['clientHello']);
  });

  it('counts record headers in what it holds: a hello in 1-byte records trips a small limit, and buffered never passes it', () => {
    const r = reading(true, { maxHandshakeBytes: 600 });
    for (const c of chunked(records(HANDSHAKE, hello, 1), 7)) {
      r.reader.feed(c);
      expect(r.reader.buffered).toBeLessThanOrEqual(600);
    }
    expect(kinds(r.events)).toEqual(['handshake-too-large']);
  });

  it('skips a long message it does not parse without holding it', () => {
    const long = records(HANDSHAKE, handshake(13, Buffer.alloc(100_000)), 16384);
    const r = reading(false, { maxHandshakeBytes: 1000 });
    r.reader.feed(record(HANDSHAKE, serverHello()));
    for (const c of chunked(long, 3000)) {
      r.reader.feed(c);
      expect(r.reader.buffered).toBeLessThanOrEqual(5);
    }
    expect([kinds(r.events), r.reader.buffered, r.reader.done]).toEqual([['serverHello'], 0, false]);
  });
});

describe('streams that are no TLS, or broken TLS', () => {
  it('tells a plain-text protocol at its first byte', () => {
    const r = read(true, [Buffer.from('G')]);
    expect([kinds(r.events), r.reader.done, r.reader.buffered]).toEqual([['not-tls'], true, 0]);
    expect(kinds(read(true, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]).events)).toEqual(['not-tls']);
    expect(kinds(read(true, [Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')]).events)).toEqual(['not-tls']);
  });

  it('tells a record version that is not 3.x, at its byte', () => {
    expect(read(true, [Buffer.from([0x16, 0x02])]).events).toEqual([{ event: 'anomaly', kind: 'not-tls', detail: 'record version major 2' }]);
    expect(kinds(read(true, [Buffer.from([0x16, 0x03, 0x09])]).events)).toEqual(['not-tls']);
  });

  it('names an SSLv2-compatible ClientHello (RFC 5246 Appendix E.2)', () => {
    const v2 = Buffer.from('802e0103010015000000100700c0030080010080060040040080020080', 'hex');
    expect(read(true, [v2]).events).toEqual([{ event: 'anomaly', kind: 'sslv2-hello', detail: 'SSLv2 record of 46 bytes' }]);
  });

  it('refuses empty and oversized handshake records, and a bad record after a good one', () => {
    expect(kinds(read(true, [record(HANDSHAKE, Buffer.alloc(0))]).events)).toEqual(['malformed-record']);
    const big = Buffer.concat([int(HANDSHAKE, 1), int(0x0303, 2), int(16385, 2)]);
    expect(kinds(read(true, [big]).events)).toEqual(['malformed-record']);
    expect(kinds(read(true, [helloRecord, Buffer.from([0x42])]).events)).toEqual(['clientHello', 'malformed-record']);
  });

  it('refuses a record of another type inside a handshake message (RFC 8446 §5.1)', () => {
    const r = read(true, [record(HANDSHAKE, hello.subarray(0, 50)), record(APPLICATION_DATA, Buffer.alloc(10))]);
    expect(r.events).toEqual([{ event: 'anomaly', kind: 'malformed-record', detail: 'record type 23 inside a handshake message' }]);
  });

  it('names records that have no place before a hello, and a heartbeat in clear', () => {
    expect(kinds(read(true, [record(APPLICATION_DATA, Buffer.alloc(10))]).events)).toEqual(['unexpected-record']);
    expect(kinds(read(true, [record(CHANGE_CIPHER_SPEC, Buffer.from([1]))]).events)).toEqual(['unexpected-record']);
    expect(kinds(read(true, [helloRecord, record(24, Buffer.from([1, 0, 16]))]).events)).toEqual(['clientHello', 'unexpected-record']);
  });

  it('names a first message that is not the hello, and a hello in the wrong direction', () => {
    expect(kinds(read(true, [record(HANDSHAKE, certificate([]))]).events)).toEqual(['unexpected-message']);
    expect(read(false, [helloRecord]).events).toEqual([{ event: 'anomaly', kind: 'unexpected-message', detail: 'ClientHello from the server' }]);
    expect(kinds(read(true, [helloRecord, record(HANDSHAKE, serverHello())]).events)).toEqual(['clientHello', 'unexpected-message']);
  });

  it('ends at a malformed hello: the reader reads no further', () => {
    const broken = handshake(1, Buffer.concat([int(0x0303, 2), Buffer.alloc(32), int(0, 1), int(3, 2), Buffer.from([0x13, 0x01, 0x13])]));
    const r = read(true, [record(HANDSHAKE, broken), helloRecord]);
    expect(r.events).toEqual([{ event: 'anomaly', kind: 'malformed-hello', detail: 'ClientHello: cipher_suites length 3' }]);
    expect(r.reader.done).toBe(true);
  });
});
