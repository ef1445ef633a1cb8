/**
 * The Certificate message and its certificates: decoded only when a field is read, a copy of
 * the DER kept, and every way a certificate can be broken reported without a throw.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { derSequenceError, parseCertificate, type TlsCertificate } from '../../dissectors/tls/certificate.ts';
import { rfc4514 } from '../../dissectors/tls/x509.ts';
import { tsharkFields } from '../tshark-fields.ts';
import { kinds, read, type ReadEvent } from './read-events.ts';
import { tlsCapture } from './streams.ts';
import { certificate, HANDSHAKE, handshake, int, record, serverHello, vector } from './tls-bytes.ts';

/** The server certificate make-captures.sh made, as tshark reads it from tls12.pcap. */
const realDer = Buffer.from(
  tsharkFields(readFileSync(tlsCapture('tls12')), ['tls.handshake.certificate'], { filter: 'tls.handshake.type == 11' })[0]?.['tls.handshake.certificate'] ?? '',
  'hex',
);

function chainOf(events: ReadEvent[]): TlsCertificate[] {
  const e = events.find((x): x is Extract<ReadEvent, { event: 'certificate' }> => x.event === 'certificate');
  return e?.chain.certificates ?? [];
}

function serverFlight(...ders: Buffer[]): Buffer {
  return record(HANDSHAKE, Buffer.concat([serverHello(), certificate(ders)]));
}

describe('Certificate', () => {
  // First in this file: nothing else in this worker has decoded a certificate yet.
  it('decodes nothing on the packet path: @peculiar/x509 loads when a field is first read', () => {
    const [cert] = chainOf(read(false, [serverFlight(realDer)]).events);
    expect('getMetadata' in Reflect).toBe(false);
    expect(cert?.subject).toBe('CN=palisade.test,O=Palisade Test\\, Inc,C=FR');
    expect('getMetadata' in Reflect).toBe(true);
  });

  it('keeps a copy of the DER: the bytes it was read from may be reused', () => {
    const flight = serverFlight(realDer, realDer);
    const chain = chainOf(read(false, [flight]).events);
    flight.fill(0);
    expect(chain.map((c) => c.der.equals(realDer))).toEqual([true, true]);
    expect(chain[1]?.sans).toEqual(['palisade.test', '*.palisade.test', '127.0.0.1', '::1']);
  });

  it('reads an empty list, what a client with no certificate sends (RFC 5246 §7.4.6)', () => {
    expect(parseCertificate(vector(3))).toEqual({ certificates: [] });
  });

  it('reports bytes that are no DER SEQUENCE as bad-certificate, keeps them, and reads their fields as null', () => {
    const junk = Buffer.from('not a certificate');
    const r = read(false, [serverFlight(realDer, junk)]);
    expect(r.events.filter((e) => e.event === 'anomaly')).toEqual([{ event: 'anomaly', kind: 'bad-certificate', detail: 'certificate 2: starts 0x6e, not a DER SEQUENCE (0x30)' }]);
    const bad = chainOf(r.events)[1] as TlsCertificate;
    expect([bad.subject, bad.issuer, bad.sans, bad.notBefore, bad.notAfter, bad.serialNumber]).toEqual([null, null, [], null, null, null]);
    expect(bad.error).toBe('starts 0x6e, not a DER SEQUENCE (0x30)');
    expect(bad.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.reader.done).toBe(false);
  });

  it('reads a SEQUENCE that is no X.509 certificate as fields of null, the decoder saying why', () => {
    const sequence = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]);
    const r = read(false, [serverFlight(sequence)]);
    expect(kinds(r.events)).toEqual(['serverHello', 'certificate']);
    const c = chainOf(r.events)[0] as TlsCertificate;
    expect([c.subject, c.notAfter]).toEqual([null, null]);
    expect(c.error).toEqual(expect.any(String));
  });

  it('checks DER lengths: long form, short form, and what is left over', () => {
    expect(derSequenceError(realDer)).toBeNull();
    expect(derSequenceError(Buffer.from([0x30, 0x81, 0x05, 1, 2, 3, 4, 5]))).toBe('SEQUENCE length 5 in long form (DER wants the short one)');
    expect(derSequenceError(Buffer.from([0x30, 0x02, 1, 2, 3]))).toBe('SEQUENCE of 2 bytes in 3');
    expect(derSequenceError(Buffer.from([0x30, 0x80]))).toBe('SEQUENCE length of 0 bytes is no DER length');
    expect(derSequenceError(Buffer.alloc(0))).toBe('starts 0x00, not a DER SEQUENCE (0x30)');
  });

  it('ends at a certificate list that overruns its message or leaves bytes over', () => {
    expect(parseCertificate(Buffer.concat([int(10, 3), int(20, 3), Buffer.alloc(7)]))).toBe('certificate 1 of 20 bytes at byte 3');
    expect(parseCertificate(Buffer.concat([vector(3, vector(3, realDer)), Buffer.from([0])]))).toBe('1 bytes after certificate_list');
    expect(parseCertificate(Buffer.from([0, 0]))).toBe('2 bytes: too short for the certificate_list length');
    const r = read(false, [record(HANDSHAKE, Buffer.concat([serverHello(), handshake(11, Buffer.from([0, 0, 9, 0, 0, 0]))]))]);
    expect(kinds(r.events)).toEqual(['serverHello', 'malformed-certificate']);
    expect(r.reader.done).toBe(true);
  });

  it('gives the chain to the handler once the whole message is in', () => {
    const flight = serverFlight(realDer);
    const r = read(false, [flight.subarray(0, flight.length - 1)]);
    expect(kinds(r.events)).toEqual(['serverHello']);
    expect(r.reader.buffered).toBe(realDer.length + 10 - 1);
    r.reader.feed(flight.subarray(flight.length - 1));
    expect([chainOf(r.events).length, r.reader.buffered]).toEqual([1, 0]);
  });
});

describe('rfc4514', () => {
  it("reverses @peculiar/x509's RDN order and joins with ',', leaving escaped commas and multi-valued RDNs whole", () => {
    expect(rfc4514('C=FR, O=Palisade Test\\, Inc, CN=palisade.test')).toBe('CN=palisade.test,O=Palisade Test\\, Inc,C=FR');
    expect(rfc4514('DC=org, CN=a+UID=b')).toBe('CN=a+UID=b,DC=org');
    expect(rfc4514('O=back\\\\, CN=x')).toBe('CN=x,O=back\\\\');
    expect(rfc4514('CN=only')).toBe('CN=only');
  });
});

