/**
 * JA3, JA3S and JA4 on crafted hellos: JA4 on the worked example of FoxIO's specification
 * (technical_details/JA4.md, a Chrome ClientHello) with GREASE added, its edge cases and its
 * ALPN rule; JA3 and JA3S of GREASE-laden hellos against tshark, which reads them from a
 * capture built with palisade's testing session.
 */
import { describe, expect, it } from 'vitest';
import { parseClientHello, type ClientHello } from '../../dissectors/tls/client-hello.ts';
import { parseServerHello, type ServerHello } from '../../dissectors/tls/server-hello.ts';
import { alpnChars } from '../../dissectors/tls/ja4.ts';
import { pcap, tcpSession } from '../../testing.ts';
import { tsharkFields } from '../tshark-fields.ts';
import { clientHello, clientHelloBody, ext, extension, HANDSHAKE, record, serverHello, type ClientHelloSpec } from './tls-bytes.ts';

function parse(spec: ClientHelloSpec): ClientHello {
  const h = parseClientHello(clientHelloBody(spec));
  if (typeof h === 'string') throw new Error(h);
  return h;
}

// The specification's example: its cipher suites and extensions in the order it lists them,
// its signature algorithms, ALPN h2 and TLS 1.3; each list with GREASE values that must not count.
const CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const SIGNATURES = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
function chromeExtensions(signatures: Buffer = ext.signatureAlgorithms(...SIGNATURES)): Buffer[] {
  return [
    extension(0x3a3a),
    extension(0x001b, Buffer.from([2, 0, 2])),
    ext.serverName('example.com'),
    ext.keyShare(0x3a3a, 29),
    ext.alpn('h2', 'http/1.1'),
    extension(0x4469, Buffer.from([0, 3, 2, 0x68, 0x32])),
    extension(0x0017),
    ext.pskModes(1),
    signatures,
    extension(0x0005, Buffer.from([1, 0, 0, 0, 0])),
    extension(0x0023),
    extension(0x0012),
    ext.supportedVersions(0x7a7a, 0x0304, 0x0303),
    extension(0xff01, Buffer.from([0])),
    ext.ecPointFormats(0),
    ext.supportedGroups(0x3a3a, 29, 23, 24),
    extension(0x0015, Buffer.alloc(10)),
    extension(0x9a9a, Buffer.from([0])),
  ];
}
const chrome: ClientHelloSpec = { cipherSuites: [0x4a4a, ...CIPHERS], extensions: chromeExtensions() };

describe('JA4', () => {
  it("gives the specification's example fingerprint, GREASE ignored everywhere", () => {
    expect(parse(chrome).ja4).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
  });

  it('hashes the extensions without a trailing underscore when no signature algorithm is read', () => {
    const h = parse({ ...chrome, extensions: chromeExtensions(extension(13)) });
    expect(h.ja4).toBe('t13d1516h2_8daaf6152771_6d807ffa2a79');
  });

  it('gives 000000000000 for empty lists, i without SNI, 00 without ALPN or for an unknown version', () => {
    expect(parse({ legacyVersion: 0x0303, cipherSuites: [0x0a0a], extensions: null }).ja4).toBe('t12i000000_000000000000_000000000000');
    expect(parse({ legacyVersion: 0x0300, cipherSuites: [0x002f], extensions: [ext.serverName('a.example')] }).ja4).toMatch(/^ts3d010100_[0-9a-f]{12}_000000000000$/);
    expect(parse({ legacyVersion: 0x0305, cipherSuites: [0x002f], extensions: [extension(23)] }).ja4).toMatch(/^t00i010100_/);
  });

  it('follows the ALPN rule: first and last characters, their hex when either is not alphanumeric', () => {
    // The examples of the specification's "ALPN Extension Value" section.
    const cases: [number[], string][] = [
      [[0xab], 'ab'],
      [[0x20], '20'],
      [[0xab, 0xcd], 'ad'],
      [[0x20, 0x61], '21'],
      [[0x30, 0xab], '3b'],
      [[0x61, 0x20], '60'],
      [[0x30, 0x31, 0xab, 0xcd], '3d'],
      [[0x30, 0xab, 0xcd, 0x31], '01'],
    ];
    for (const [bytes, want] of cases) expect(alpnChars(Buffer.from(bytes).toString('latin1'))).toBe(want);
    expect([alpnChars('h2'), alpnChars('http/1.1'), alpnChars('h'), alpnChars(''), alpnChars(undefined)]).toEqual(['h2', 'h1', 'hh', '00', '00']);
    expect(parse({ extensions: [ext.alpn(Buffer.from([0xab, 0xcd]))] }).ja4).toMatch(/^t12i0301ad_/);
  });

  it('counts at most 99 cipher suites', () => {
    const many = Array.from({ length: 120 }, (_, i) => 0x0100 + i);
    expect(parse({ cipherSuites: many, extensions: [] }).ja4).toMatch(/^t12i9900/);
  });
});

describe('JA3 and JA3S against tshark', () => {
  it('leaves out GREASE as tshark does, for a hello with every list and one with none', () => {
    const hellos = [clientHello(chrome), clientHello({ legacyVersion: 0x0301, cipherSuites: [0x002f, 0x0035], extensions: null })];
    const sh = serverHello({ cipherSuite: 0x1301, extensions: [ext.serverVersion(0x0304), extension(51, Buffer.concat([Buffer.from([0, 29, 0, 32]), Buffer.alloc(32, 5)]))] });
    const ours: string[][] = [];
    const frames: Buffer[] = [];
    hellos.forEach((h, i) => {
      const s = tcpSession({ client: `192.168.10.10:${40000 + i}`, server: '192.168.20.80:443' }).handshake().send('up', record(HANDSHAKE, h)).send('down', record(HANDSHAKE, sh)).close();
      frames.push(...s.frames());
      const c = parseClientHello(h.subarray(4)) as ClientHello;
      const server = parseServerHello(sh.subarray(4)) as ServerHello;
      ours.push([c.ja3, c.ja3Hash], [server.ja3s, server.ja3sHash]);
    });
    const rows = tsharkFields(pcap(frames), ['tls.handshake.ja3_full', 'tls.handshake.ja3', 'tls.handshake.ja3s_full', 'tls.handshake.ja3s'], {
      filter: 'tls.handshake.type == 1 || tls.handshake.type == 2',
    });
    const theirs = rows.map((r) => (r['tls.handshake.ja3_full'] !== '' ? [r['tls.handshake.ja3_full'], r['tls.handshake.ja3']] : [r['tls.handshake.ja3s_full'], r['tls.handshake.ja3s']]));
    expect(ours).toEqual(theirs);
    expect(ours[0]?.[0]).toBe('771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0');
  });
});
