/**
 * The TLS dissector in the engine: turned on by use on any port, its events typed for rules,
 * `app_proto` on the flow, and a ClientHello judged before any byte of it reaches the server.
 * Captures: test/captures/tls/make-captures.sh (OpenSSL and Node on loopback, SNI palisade.test).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineRules, tls } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';

const capture = (name: string): string => fileURLToPath(new URL(`../captures/tls/${name}.pcap`, import.meta.url));

describe('tls dissector', () => {
  it('raises clientHello, serverHello and the TLS 1.2 certificate, with the server name, ALPN and fingerprints', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ name: 'ch', on: tls.events.clientHello, eval: (flow, h) => void seen.push(`ch ${h.serverName} ${h.alpn.join(',')} ${h.version} ${h.ja3Hash.length} ${h.ja4.split('_')[0]}`) });
      rule({ name: 'sh', on: tls.events.serverHello, eval: (flow, h) => void seen.push(`sh ${h.version} ${h.alpn} ${h.cipherSuite.toString(16)}`) });
      rule({ name: 'cert', on: tls.events.certificate, eval: (flow, c, dir) => void seen.push(`cert ${dir} ${c.certificates.length} ${c.certificates[0]?.subject} ${c.certificates[0]?.sans.join(' ')}`) });
      rule({ name: 'an', on: tls.events.anomaly, eval: (flow, a) => void seen.push(`anomaly ${a.kind}`) });
    });
    const r = await replay({ rules, capture: capture('tls12') });
    expect(seen[0]).toMatch(/^ch palisade\.test h2,http\/1\.1 TLS 1\.2 32 t12d/);
    expect(seen[1]).toMatch(/^sh TLS 1\.2 h2 /);
    expect(seen[2]).toBe('cert down 1 CN=palisade.test,O=Palisade Test\\, Inc,C=FR palisade.test *.palisade.test 127.0.0.1 ::1');
    expect(seen.filter((s) => s.startsWith('anomaly'))).toEqual([]);
    expect(r.flows.map((f) => f.app_proto)).toEqual(['tls']);
  });

  it('names the flow tls in its record even when no rule listens to TLS', async () => {
    const r = await replay({ rules: defineRules(({ rule }) => rule({ name: 'n', on: tls.events.clientHello, eval: () => undefined })), capture: capture('tls13') });
    expect(r.flows[0]?.app_proto).toBe('tls');
    const { tcpConnection } = await import('../../index.ts');
    const plain = await replay({ rules: defineRules(({ rule }) => rule({ name: 'c', on: tcpConnection.events.newConnection, eval: () => undefined })), capture: capture('tls13') });
    expect(plain.flows[0]?.app_proto).toBe('tls');
  });

  it('a reset in clientHello by server name: no byte of the hello reaches the server, even split in one-byte segments', async () => {
    const hello = await helloBytes();
    const rules = defineRules(({ rule }) => {
      rule({
        name: 'deny-sni',
        on: tls.events.clientHello,
        eval: (flow, h) => {
          if (h.serverName === 'palisade.test') flow.reset();
        },
      });
    });
    const frames = tcpSession({ server: '192.168.20.80:8443' }).handshake().send('up', hello, { segments: 40 }).close().frames();
    const r = await replay({ rules, packets: frames });
    const flow = r.flows[0];
    expect(flow?.end_reason).toBe('rst');
    expect(flow?.drop_reason).toMatchObject({ kind: 'flow-action', action: 'reset', rule: 'deny-sni' });
    // Out went the handshake; the first segment already told detection a ClientHello record comes
    // (six bytes), so it and every later one were held and dropped with the reset.
    const dataOut = r.output.filter((p) => !p.injected && p.id > 3);
    expect(dataOut).toEqual([]);
    expect(r.injected).toHaveLength(2);
  });
});

/** The client's first bytes in the tls12 capture: its ClientHello record(s). */
async function helloBytes(): Promise<Buffer> {
  const { tcpConnection } = await import('../../index.ts');
  const chunks: Buffer[] = [];
  const rules = defineRules(({ rule }) =>
    rule({
      name: 'grab',
      on: tcpConnection.events.receiveData,
      eval: (flow, data, dir) => {
        if (dir === 'up' && chunks.length === 0) chunks.push(Buffer.from(data));
      },
    }),
  );
  await replay({ rules, capture: capture('tls12') });
  return chunks[0] as Buffer;
}
