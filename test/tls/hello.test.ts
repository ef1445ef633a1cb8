/**
 * parseClientHello and parseServerHello on crafted bodies: GREASE, ECH, extensions empty,
 * repeated or malformed, and the hellos whose framing is broken.
 */
import { describe, expect, it } from 'vitest';
import { parseClientHello, type ClientHello } from '../../dissectors/tls/client-hello.ts';
import { parseServerHello, type ServerHello } from '../../dissectors/tls/server-hello.ts';
import { cipherSuiteName, extensionName, versionName } from '../../dissectors/tls/names.ts';
import { isGrease, isGreaseAlpn, isGreasePskMode } from '../../dissectors/tls/grease.ts';
import { clientHelloBody, ext, extension, HRR_RANDOM, int, serverHello, vector } from './tls-bytes.ts';

function client(...extensions: Buffer[]): ClientHello {
  const h = parseClientHello(clientHelloBody({ extensions }));
  if (typeof h === 'string') throw new Error(h);
  return h;
}

function server(...args: Parameters<typeof serverHello>): ServerHello {
  const h = parseServerHello(serverHello(...args).subarray(4));
  if (typeof h === 'string') throw new Error(h);
  return h;
}

describe('ClientHello', () => {
  it('reads every field it exposes, extensions in order with their names and lengths', () => {
    const h = client(
      ext.serverName('www.example.com'),
      ext.supportedGroups(29, 23, 24),
      ext.ecPointFormats(0),
      ext.signatureAlgorithms(0x0403, 0x0804),
      ext.alpn('h2', 'http/1.1'),
      ext.supportedVersions(0x0304, 0x0303),
      ext.pskModes(1),
      ext.keyShare(29, 23),
      extension(23),
    );
    expect(h).toMatchObject({
      legacyVersion: 0x0303,
      supportedVersions: [0x0304, 0x0303],
      version: 'TLS 1.3',
      versionNumber: 0x0304,
      sessionIdLength: 32,
      cipherSuites: [0x1301, 0x1302, 0xc02b],
      compressionMethods: [0],
      serverName: 'www.example.com',
      alpn: ['h2', 'http/1.1'],
      supportedGroups: [29, 23, 24],
      ecPointFormats: [0],
      signatureAlgorithms: [0x0403, 0x0804],
      keyShareGroups: [29, 23],
      pskModes: [1],
      ech: false,
      grease: false,
      anomalies: [],
    });
    expect(h.extensions.map((e) => `${e.name}:${e.length}`)).toEqual([
      'server_name:20',
      'supported_groups:8',
      'ec_point_formats:2',
      'signature_algorithms:6',
      'application_layer_protocol_negotiation:14',
      'supported_versions:5',
      'psk_key_exchange_modes:2',
      'key_share:74',
      'extended_master_secret:0',
    ]);
  });

  it('takes the version from legacy_version without supported_versions, and reads a hello with no extensions block (RFC 5246 §7.4.1.2)', () => {
    const h = parseClientHello(clientHelloBody({ legacyVersion: 0x0301, extensions: null }));
    expect(h).toMatchObject({ version: 'TLS 1.0', extensions: [], serverName: null, alpn: [] });
  });

  it('leaves GREASE out of every list, keeps it in extensions as GREASE, and says it saw some', () => {
    const body = clientHelloBody({
      cipherSuites: [0x2a2a, 0x1301, 0x1302],
      extensions: [
        extension(0x0a0a),
        ext.supportedGroups(0x8a8a, 29),
        ext.signatureAlgorithms(0x0403),
        ext.supportedVersions(0xdada, 0x0304, 0x0303),
        ext.pskModes(0x2a, 1),
        ext.keyShare(0x8a8a, 29),
        ext.alpn(Buffer.from([0x5a, 0x5a]), 'h2'),
        extension(0xfafa, Buffer.from([0])),
      ],
    });
    const h = parseClientHello(body) as ClientHello;
    expect(h).toMatchObject({
      cipherSuites: [0x1301, 0x1302],
      supportedGroups: [29],
      supportedVersions: [0x0304, 0x0303],
      version: 'TLS 1.3',
      pskModes: [1],
      keyShareGroups: [29],
      alpn: ['h2'],
      grease: true,
    });
    expect(h.extensions.map((e) => e.name)).toEqual([
      'GREASE',
      'supported_groups',
      'signature_algorithms',
      'supported_versions',
      'psk_key_exchange_modes',
      'key_share',
      'application_layer_protocol_negotiation',
      'GREASE',
    ]);
  });

  it('marks an encrypted_client_hello: the SNI it reads is the outer one', () => {
    const h = client(ext.serverName('public.example'), ext.ech());
    expect([h.ech, h.serverName, h.extensions[1]?.name]).toEqual([true, 'public.example', 'encrypted_client_hello']);
  });

  it('reads zero-length extensions, and reports the ones whose syntax needs a value', () => {
    const h = client(extension(23), extension(22), extension(35), extension(0), extension(16), extension(10), extension(43));
    expect(h.extensions.map((e) => e.length)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([h.serverName, h.alpn, h.supportedGroups, h.supportedVersions]).toEqual([null, [], [], []]);
    expect(h.anomalies.map((a) => a.detail)).toEqual([
      'supported_versions of 0 bytes',
      'supported_groups of 0 bytes',
      'application_layer_protocol_negotiation of 0 bytes',
      "server_name: list length does not fill the extension's 0 bytes",
    ]);
    expect(new Set(h.anomalies.map((a) => a.kind))).toEqual(new Set(['malformed-extension']));
  });

  it('reports an extension whose inner lengths are wrong, and reads the rest', () => {
    const badAlpn = extension(16, Buffer.concat([int(4, 2), int(9, 1), Buffer.from('h2x')]));
    const emptyProtocol = ext.alpn('');
    const badKeyShare = extension(51, Buffer.concat([int(6, 2), int(29, 2), int(10, 2), Buffer.alloc(2)]));
    const h = client(ext.serverName('ok.example'), badAlpn, badKeyShare);
    expect([h.serverName, h.alpn, h.keyShareGroups]).toEqual(['ok.example', [], []]);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['malformed-extension', 'malformed-extension']);
    expect(client(emptyProtocol).anomalies.map((a) => a.kind)).toEqual(['malformed-extension']);
  });

  it('reports a repeated extension and takes the first (RFC 8446 §4.2)', () => {
    const h = client(ext.serverName('first.example'), ext.serverName('second.example'));
    expect(h.serverName).toBe('first.example');
    expect(h.anomalies).toEqual([{ kind: 'duplicate-extension', detail: 'server_name sent more than once' }]);
  });

  it('reports an SNI a server may read differently: two host_names, a trailing dot, a NUL, a space', () => {
    expect(client(ext.serverName('a.example', 'b.example')).anomalies.map((a) => a.detail)).toEqual(['2 host_name entries (RFC 6066 §3 allows one)']);
    for (const name of ['example.com.', 'evil.com\u0000.example.com', 'a b', '']) {
      const h = client(ext.serverName(name));
      expect([h.serverName, h.anomalies.map((a) => a.kind)]).toEqual([name, ['bad-server-name']]);
    }
  });

  it('says why a hello whose framing is broken does not parse', () => {
    const base = clientHelloBody();
    expect(parseClientHello(base.subarray(0, 20))).toBe('20 bytes: too short for legacy_version, random and legacy_session_id');
    expect(parseClientHello(Buffer.concat([base.subarray(0, 34), int(33, 1), Buffer.alloc(40)]))).toBe('legacy_session_id of 33 bytes (at most 32)');
    expect(parseClientHello(Buffer.concat([base, Buffer.from([0])]))).toBe('1 bytes after the extensions block');
    expect(parseClientHello(base.subarray(0, base.length - 1))).toMatch(/overruns the message by 1/);
    expect(parseClientHello(clientHelloBody({ cipherSuites: [], extensions: null }))).toBe('cipher_suites length 0');
    expect(parseClientHello(clientHelloBody({ compression: [], extensions: null }))).toBe('legacy_compression_methods length 0');
    const noBlock = clientHelloBody({ extensions: null });
    const overrun = Buffer.concat([noBlock, vector(2, Buffer.concat([int(0, 2), int(10, 2), Buffer.alloc(4)]))]);
    expect(parseClientHello(overrun)).toBe('extension server_name of 10 bytes overruns the block by 6');
    expect(parseClientHello(Buffer.concat([noBlock, vector(2, Buffer.from([0, 0, 0]))]))).toBe('extension header cut short at byte 79 (3 bytes left)');
  });

  it('keeps no view of the bytes it was parsed from', () => {
    const body = clientHelloBody({ extensions: [ext.serverName('kept.example'), ext.alpn('h2')] });
    const h = parseClientHello(body) as ClientHello;
    const ja4 = h.ja4;
    body.fill(0);
    expect([h.serverName, h.alpn, h.ja4, h.ja3.startsWith('771,')]).toEqual(['kept.example', ['h2'], ja4, true]);
  });
});

describe('ServerHello', () => {
  it('reads the version from supported_versions, the cipher suite and the ALPN chosen', () => {
    const h = server({ cipherSuite: 0x1301, extensions: [ext.serverVersion(0x0304), ext.serverAlpn('h2')] });
    expect(h).toMatchObject({ legacyVersion: 0x0303, version: 'TLS 1.3', cipherSuite: 0x1301, alpn: 'h2', helloRetryRequest: false, anomalies: [] });
    expect(h.ja3s).toBe('771,4865,43-16');
  });

  it("tells a HelloRetryRequest by its random (RFC 8446 §4.1.3), and reads its key_share's selected group", () => {
    const h = server({ random: HRR_RANDOM, extensions: [ext.serverVersion(0x0304), extension(51, int(23, 2))] });
    expect([h.helloRetryRequest, h.keyShareGroup]).toEqual([true, 23]);
  });

  it('reports an ALPN of more than one protocol (RFC 7301 §3.1) and a supported_versions of a list', () => {
    const h = server({ extensions: [ext.alpn('h2', 'http/1.1'), ext.supportedVersions(0x0304)] });
    expect([h.alpn, h.version]).toEqual([null, 'TLS 1.2']);
    expect(h.anomalies.map((a) => a.kind)).toEqual(['malformed-extension', 'malformed-extension']);
  });

  it('says why a ServerHello whose framing is broken does not parse', () => {
    const body = serverHello().subarray(4);
    expect(parseServerHello(body.subarray(0, 60))).toMatch(/^message ends before cipher_suite/);
    expect(parseServerHello(Buffer.concat([body, vector(1, Buffer.alloc(0))]))).toBe('1 bytes after the extensions block');
  });
});

describe('names and GREASE', () => {
  it('names versions, extensions and cipher suites, GREASE ones as GREASE, unknown ones by their code', () => {
    expect([versionName(0x0304), versionName(0x0300), versionName(0x7f1c), versionName(0x2a2a), versionName(0x0305)]).toEqual([
      'TLS 1.3',
      'SSL 3.0',
      'TLS 1.3 draft 28',
      'GREASE',
      '0x0305',
    ]);
    expect([extensionName(0), extensionName(0xfe0d), extensionName(0x3a3a), extensionName(0x1234)]).toEqual(['server_name', 'encrypted_client_hello', 'GREASE', '0x1234']);
    expect([cipherSuiteName(0x1303), cipherSuiteName(0xcca8), cipherSuiteName(0xfafa), cipherSuiteName(0x0004)]).toEqual([
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
      'GREASE',
      '0x0004',
    ]);
  });

  it('knows the 16 GREASE values of RFC 8701 §2, its 8 PSK modes and its ALPN identifiers', () => {
    const all = Array.from({ length: 0x10000 }, (_, v) => v).filter(isGrease);
    expect(all.map((v) => v.toString(16))).toEqual(['a0a', '1a1a', '2a2a', '3a3a', '4a4a', '5a5a', '6a6a', '7a7a', '8a8a', '9a9a', 'aaaa', 'baba', 'caca', 'dada', 'eaea', 'fafa']);
    expect(Array.from({ length: 256 }, (_, m) => m).filter(isGreasePskMode)).toEqual([0x0b, 0x2a, 0x49, 0x68, 0x87, 0xa6, 0xc5, 0xe4]);
    expect([isGreaseAlpn('\x1a\x1a'), isGreaseAlpn('h2'), isGreaseAlpn('\x1a\x1a\x1a')]).toEqual([true, false, false]);
  });
});
