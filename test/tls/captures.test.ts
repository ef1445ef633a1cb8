/**
 * TlsReader over real handshakes (test/captures/tls, made by make-captures.sh: OpenSSL's
 * s_server with s_client and with a Node client), the streams read by palisade's replay. What
 * it reads is checked against what the script configured and against tshark's decoding of the
 * same frames: the lists field by field, JA3 and JA3S as tshark computes them.
 *
 * tshark 4.0 (the version here) has no JA4 field: Wireshark computes JA4 from 4.2 on. The JA4
 * values below are what FoxIO's reference implementation (python/ja4.py of FoxIO-LLC/ja4, over
 * tshark 4.0) printed for these captures; where tshark has the field the test compares with it
 * too. tshark's fields are per frame: a frame holding a ServerHello and a ServerKeyExchange
 * gives the latter's signature algorithm, so only fields of the hello itself are compared.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tsharkFields } from '../tshark-fields.ts';
import type { ClientHello } from '../../dissectors/tls/client-hello.ts';
import type { ServerHello } from '../../dissectors/tls/server-hello.ts';
import type { TlsCertificate } from '../../dissectors/tls/certificate.ts';
import { chunked, plain, read, reading, type ReadEvent } from './read-events.ts';
import { tlsCapture, tlsStreams, type TlsStreams } from './streams.ts';

/** What make-captures.sh sets up, per capture. */
const cases = {
  tls12: { version: 'TLS 1.2', cipherSuite: 0xcca8, alpn: 'h2', hellos: 1, ja4: 't12d2808h2_d943125447b4_e7e480e5a997', serverCertificate: true, clientCertificate: false },
  tls13: { version: 'TLS 1.3', cipherSuite: 0x1303, alpn: null, hellos: 1, ja4: 't13d3111h2_e8f1e7e78f70_1f22a2ca17c4', serverCertificate: false, clientCertificate: false },
  node13: { version: 'TLS 1.3', cipherSuite: 0x1302, alpn: null, hellos: 1, ja4: 't13d5911h2_a33745022dd6_1f22a2ca17c4', serverCertificate: false, clientCertificate: false },
  hrr13: { version: 'TLS 1.3', cipherSuite: 0x1302, alpn: null, hellos: 2, ja4: 't13d3111h2_e8f1e7e78f70_1f22a2ca17c4', serverCertificate: false, clientCertificate: false },
  mtls12: { version: 'TLS 1.2', cipherSuite: 0xc02f, alpn: 'h2', hellos: 1, ja4: 't12d2808h2_d943125447b4_e7e480e5a997', serverCertificate: true, clientCertificate: true },
} as const;

const SERVER_SUBJECT = 'CN=palisade.test,O=Palisade Test\\, Inc,C=FR';

const HELLO_FIELDS = [
  'tls.handshake.type',
  'tls.handshake.version',
  'tls.handshake.session_id_length',
  'tls.handshake.ciphersuite',
  'tls.handshake.comp_method',
  'tls.handshake.extension.type',
  'tls.handshake.extensions_server_name',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.extensions.supported_version',
  'tls.handshake.extensions_supported_group',
  'tls.handshake.extensions_ec_point_format',
  'tls.handshake.sig_hash_alg',
  'tls.handshake.extensions_key_share_group',
  'tls.handshake.extensions_key_share_selected_group',
  'tls.extension.psk_ke_mode',
  'tls.handshake.ja3_full',
  'tls.handshake.ja3',
  'tls.handshake.ja3s_full',
  'tls.handshake.ja3s',
] as const;

const tsharkHasJa4 = execFileSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] }).includes(
  '\ttls.handshake.ja4\t',
);

/** A multi-valued tshark field (values joined by ',') as numbers; [] when absent. */
function numbers(value: string | undefined): number[] {
  return value === undefined || value === '' ? [] : value.split(',').map((v) => Number(v));
}

function list(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split(',');
}

function tshark(name: string, filter: string, fields: readonly string[]): Record<string, string>[] {
  const pcap = readFileSync(tlsCapture(name));
  return tsharkFields(pcap, fields, { filter });
}

interface Rec {
  type: number;
  start: number;
  end: number;
}

/** The records of a stream, by their headers. */
function recordsOf(stream: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i + 5 <= stream.length; ) {
    const end = i + 5 + stream.readUInt16BE(i + 3);
    out.push({ type: stream[i] as number, start: i, end });
    i = end;
  }
  return out;
}

function clientHellos(events: ReadEvent[]): ClientHello[] {
  return events.flatMap((e) => (e.event === 'clientHello' ? [e.hello] : []));
}
function serverHellos(events: ReadEvent[]): ServerHello[] {
  return events.flatMap((e) => (e.event === 'serverHello' ? [e.hello] : []));
}
function certificates(events: ReadEvent[]): TlsCertificate[][] {
  return events.flatMap((e) => (e.event === 'certificate' ? [e.chain.certificates] : []));
}
function anomalies(events: ReadEvent[]): string[] {
  return events.flatMap((e) => (e.event === 'anomaly' ? [`${e.kind}: ${e.detail}`] : []));
}

for (const [name, expected] of Object.entries(cases)) {
  describe(`${name}.pcap`, () => {
    let streams: TlsStreams;
    let client: ReadEvent[];
    let server: ReadEvent[];
    let rows: Record<string, string>[];
    beforeAll(async () => {
      streams = await tlsStreams(tlsCapture(name));
      client = read(true, [streams.client]).events;
      server = read(false, [streams.server]).events;
      rows = tshark(name, 'tls.handshake.type == 1 || tls.handshake.type == 2', HELLO_FIELDS);
    });

    it('reads every ClientHello, with the SNI and ALPN the client sent, and nothing odd', () => {
      const hellos = clientHellos(client);
      expect(hellos).toHaveLength(expected.hellos);
      for (const h of hellos) {
        expect(h.serverName).toBe('palisade.test');
        expect(h.alpn).toEqual(['h2', 'http/1.1']);
        expect(h.ech).toBe(false);
        expect(h.grease).toBe(false);
        expect(h.version).toBe(name === 'tls12' || name === 'mtls12' ? 'TLS 1.2' : 'TLS 1.3');
      }
      expect(anomalies(client)).toEqual([]);
      expect(anomalies(server)).toEqual([]);
    });

    it('reads the ClientHello fields as tshark decodes them, extensions in order', () => {
      const ours = clientHellos(client);
      const theirs = rows.filter((r) => r['tls.handshake.type']?.split(',').includes('1'));
      expect(ours).toHaveLength(theirs.length);
      ours.forEach((h, i) => {
        const t = theirs[i] as Record<string, string>;
        expect(h.legacyVersion).toBe(Number(t['tls.handshake.version']));
        expect(h.sessionIdLength).toBe(Number(t['tls.handshake.session_id_length']));
        expect(h.cipherSuites).toEqual(numbers(t['tls.handshake.ciphersuite']));
        expect(h.compressionMethods).toEqual(numbers(t['tls.handshake.comp_method']));
        expect(h.extensions.map((e) => e.type)).toEqual(numbers(t['tls.handshake.extension.type']));
        expect(h.serverName).toBe(t['tls.handshake.extensions_server_name']);
        expect(h.alpn).toEqual(list(t['tls.handshake.extensions_alpn_str']));
        expect(h.supportedVersions).toEqual(numbers(t['tls.handshake.extensions.supported_version']));
        expect(h.supportedGroups).toEqual(numbers(t['tls.handshake.extensions_supported_group']));
        expect(h.ecPointFormats).toEqual(numbers(t['tls.handshake.extensions_ec_point_format']));
        expect(h.signatureAlgorithms).toEqual(numbers(t['tls.handshake.sig_hash_alg']));
        expect(h.keyShareGroups).toEqual(numbers(t['tls.handshake.extensions_key_share_group']));
        expect(h.pskModes).toEqual(numbers(t['tls.extension.psk_ke_mode']));
      });
    });

    it('computes the JA3 string and hash tshark computes', () => {
      const theirs = rows.filter((r) => r['tls.handshake.type']?.split(',').includes('1'));
      expect(clientHellos(client).map((h) => [h.ja3, h.ja3Hash])).toEqual(theirs.map((t) => [t['tls.handshake.ja3_full'], t['tls.handshake.ja3']]));
    });

    it("computes the JA4 FoxIO's reference implementation computes", () => {
      for (const h of clientHellos(client)) expect(h.ja4).toBe(expected.ja4);
      if (tsharkHasJa4) {
        const theirs = tshark(name, 'tls.handshake.type == 1', ['tls.handshake.ja4']);
        expect(clientHellos(client).map((h) => h.ja4)).toEqual(theirs.map((t) => t['tls.handshake.ja4']));
      }
    });

    it('reads the ServerHello: the version and cipher suite the server was held to, the ALPN it chose, JA3S as tshark', () => {
      const ours = serverHellos(server);
      const theirs = rows.filter((r) => r['tls.handshake.type']?.split(',').includes('2'));
      expect(ours).toHaveLength(theirs.length);
      const last = ours[ours.length - 1] as ServerHello;
      expect(last.version).toBe(expected.version);
      expect(last.cipherSuite).toBe(expected.cipherSuite);
      expect(last.alpn).toBe(expected.alpn);
      expect(last.helloRetryRequest).toBe(false);
      ours.forEach((h, i) => {
        const t = theirs[i] as Record<string, string>;
        expect(h.cipherSuite).toBe(Number(t['tls.handshake.ciphersuite']));
        expect(h.extensions.map((e) => e.type)).toEqual(numbers(t['tls.handshake.extension.type']));
        expect([h.ja3s, h.ja3sHash]).toEqual([t['tls.handshake.ja3s_full'], t['tls.handshake.ja3s']]);
        if (h.extensions.some((e) => e.type === 43)) expect(h.versionNumber).toBe(Number(t['tls.handshake.extensions.supported_version']));
      });
    });

    it('reads the same events whatever the chunks: as delivered, byte by byte, in 7-byte and 1000-byte pieces', () => {
      for (const [fromClient, stream, delivered, events] of [
        [true, streams.client, streams.chunks.client, client],
        [false, streams.server, streams.chunks.server, server],
      ] as const) {
        const want = plain(events);
        expect(plain(read(fromClient, delivered).events)).toEqual(want);
        for (const size of [1, 7, 1000]) expect(plain(read(fromClient, chunked(stream, size)).events)).toEqual(want);
      }
    });

    it('holds every byte of the ClientHello until its last one, then stops where the stream is encrypted', () => {
      const r = reading(true);
      const first = clientHellos(client)[0] as ClientHello;
      const recordLength = streams.client.readUInt16BE(3) + 5;
      for (let i = 0; i < recordLength - 1; i++) {
        r.reader.feed(streams.client.subarray(i, i + 1));
        expect(r.reader.buffered).toBe(i + 1);
      }
      r.reader.feed(streams.client.subarray(recordLength - 1, recordLength));
      expect(r.reader.buffered).toBe(0);
      expect(clientHellos(r.events)[0]?.ja4).toBe(first.ja4);
      r.reader.feed(streams.client.subarray(recordLength));
      expect(r.reader.done).toBe(true);
      expect(r.reader.buffered).toBe(0);
    });

    it('ends the server side right after its TLS 1.3 ServerHello, or at its ChangeCipherSpec in TLS 1.2', () => {
      const list = recordsOf(streams.server);
      const ccs = list.findIndex((r) => r.type === 20);
      // TLS 1.3: the last record in clear is the (second) ServerHello's; TLS 1.2: the server's ChangeCipherSpec starts the encrypted part.
      const clear = list.slice(0, list.findIndex((r) => r.type === 23));
      const stop = expected.version === 'TLS 1.3' ? (clear.filter((r) => r.type === 22).pop() as Rec).end : (list[ccs] as Rec).start + 5;
      const r = reading(false);
      r.reader.feed(streams.server.subarray(0, stop - 1));
      expect(r.reader.done).toBe(false);
      expect(serverHellos(r.events)).toHaveLength(expected.version === 'TLS 1.3' ? expected.hellos - 1 : expected.hellos);
      r.reader.feed(streams.server.subarray(stop - 1, stop));
      expect(r.reader.done).toBe(true);
      expect(r.reader.buffered).toBe(0);
      expect(serverHellos(r.events)).toHaveLength(expected.hellos);
    });

    if (expected.serverCertificate) {
      it("reads the server's certificate: subject, SANs, validity and serial as the script made it, DER as tshark shows it", () => {
        const chains = certificates(server);
        expect(chains).toHaveLength(1);
        const [cert] = chains[0] as TlsCertificate[];
        if (cert === undefined) throw new Error('no certificate');
        expect(cert.error).toBeNull();
        expect(cert.subject).toBe(SERVER_SUBJECT);
        expect(cert.issuer).toBe(SERVER_SUBJECT); // self-signed
        expect(cert.sans).toEqual(['palisade.test', '*.palisade.test', '127.0.0.1', '::1']);
        expect(cert.notBefore).toEqual(new Date('2026-01-01T00:00:00Z'));
        expect(cert.notAfter).toEqual(new Date('2036-01-01T00:00:00Z'));
        expect(cert.serialNumber).toBe('5a1e5ade01');
        const der = tshark(name, 'tls.handshake.type == 11', ['tls.handshake.certificate'])[0]?.['tls.handshake.certificate'];
        expect(cert.der.toString('hex')).toBe(der?.split(',')[0]);
        expect(cert.fingerprintSha256).toBe(createHash('sha256').update(Buffer.from(der?.split(',')[0] ?? '', 'hex')).digest('hex'));
        // OpenSSL's RFC 2253 form of the same name (RFC 4514 writes it the same way).
        const openssl = execFileSync('openssl', ['x509', '-inform', 'der', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: cert.der, encoding: 'utf8' });
        expect(openssl.trim()).toBe(`subject=${SERVER_SUBJECT}`);
      });
    }

    if (name === 'tls12') {
      it('reassembles the Certificate, which the server sent in two records (-max_send_frag 512)', () => {
        expect(Math.max(...recordsOf(streams.server).map((r) => r.end - r.start - 5))).toBeLessThanOrEqual(512);
        expect((certificates(server)[0]?.[0]?.der.length ?? 0) + 10).toBeGreaterThan(512);
      });
    }

    if (expected.clientCertificate) {
      it("reads the client's certificate of mutual TLS", () => {
        const [cert] = certificates(client)[0] ?? [];
        expect(cert?.subject).toBe('CN=palisade client');
        expect(cert?.sans).toEqual([]);
        expect(cert?.serialNumber).toBe('5a1e5ade02');
      });
    }

    if (name === 'hrr13') {
      it('reads the HelloRetryRequest, skips the dummy ChangeCipherSpecs, and reads the second ClientHello and ServerHello', () => {
        const [hrr, sh] = serverHellos(server);
        expect(hrr?.helloRetryRequest).toBe(true);
        expect(hrr?.keyShareGroup).toBe(23); // the server takes secp256r1 only
        expect(sh?.helloRetryRequest).toBe(false);
        expect(sh?.keyShareGroup).toBe(23);
        const [first, second] = clientHellos(client);
        expect(first?.keyShareGroups).toEqual([29]); // x25519 first, as -groups X25519:P-256 says
        expect(second?.keyShareGroups).toEqual([23]);
        // The ChangeCipherSpec the client sent before its second ClientHello (RFC 8446 D.4).
        const secondAt = streams.client.readUInt16BE(3) + 5;
        expect(streams.client[secondAt]).toBe(20);
      });
    }
  });
}
