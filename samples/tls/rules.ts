/**
 * TLS at the edge, from the handshake alone (nothing is decrypted): which clients ask for which
 * servers, refused names and versions, and the certificate a server shows for a name.
 *
 * - `tls-hello-log`: a log line per ClientHello, refused or not: the server name (SNI), the
 *   highest version offered, ALPN and the JA3 and JA4 fingerprints, which name the client
 *   software better than its address does.
 * - `nameList` refuses server names under blocked.example. The hello is held until it is whole
 *   and the rules have run, so the connection is reset before the server reads any of it.
 * - `tls-minimum-version`: a client offering nothing newer than TLS 1.1 (RFC 8996 deprecated
 *   1.0 and 1.1) is refused the same way.
 * - `tls-certificate`: TLS 1.2 sends the server's certificate in clear (1.3 encrypts it). Its
 *   subject, issuer, names and validity are logged, and a certificate whose names do not cover
 *   the server name the client asked for is alerted on: a client that checks would refuse it, one
 *   that does not (`curl -k`, a script) would talk to whoever answered.
 */
import { defineRules, flowState, tls } from 'palisade';
import { nameList } from 'palisade/rules';

/** TLS 1.2's version code: anything lower is TLS 1.1 or older. */
const TLS12 = 0x0303;

/** The server name the client asked for, kept from its hello for the certificate. */
const asked = flowState(() => ({ serverName: null as string | null }));

/** A certificate name covers a server name (RFC 6125 §6.4): exactly, or `*.` for one leftmost label. */
function covers(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === n;
  const dot = n.indexOf('.');
  return dot > 0 && n.slice(dot + 1) === p.slice(2);
}

export default defineRules((ctx) => {
  const { rule, alert, log } = ctx;

  // First: a rule that resets the connection ends the event for the rules after it, and the
  // hello of a refused client is worth its line too.
  rule({
    name: 'tls-hello-log',
    on: tls.events.clientHello,
    eval: (flow, hello) => {
      asked(flow).serverName = hello.serverName;
      log.info(
        { client: flow.client.ip, server: `${flow.server.ip}:${flow.server.port}`, serverName: hello.serverName, version: hello.version, alpn: hello.alpn, ja3Hash: hello.ja3Hash, ja4: hello.ja4 },
        'tls client hello',
      );
    },
  });

  nameList(ctx, { name: 'sni-blocklist', deny: ['*.blocked.example'], on: ['tls'], severity: 'high' });

  rule({
    name: 'tls-minimum-version',
    on: tls.events.clientHello,
    eval: (flow, hello) => {
      if (hello.versionNumber >= TLS12) return;
      alert({
        description: `tls client offers nothing newer than ${hello.version}`,
        severity: 'medium',
        method: { description: 'tls-legacy-version', ref: 'RFC 8996' },
        sources: [flow.client.ip],
        targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
        flow,
      });
      flow.reset();
    },
  });

  rule({
    name: 'tls-certificate',
    on: tls.events.certificate,
    eval: (flow, chain, direction) => {
      const cert = chain.certificates[0];
      if (direction !== 'down' || cert === undefined) return;
      const serverName = asked(flow).serverName;
      log.info(
        {
          server: `${flow.server.ip}:${flow.server.port}`,
          serverName,
          subject: cert.subject,
          issuer: cert.issuer,
          selfSigned: cert.subject === cert.issuer,
          sans: cert.sans,
          notAfter: cert.notAfter?.toISOString() ?? null,
          sha256: cert.fingerprintSha256,
        },
        'tls certificate',
      );
      if (serverName === null || cert.sans.some((n) => covers(n, serverName))) return;
      alert({
        description: `tls certificate does not cover ${serverName}: ${cert.subject ?? 'undecodable'} (${cert.sans.join(', ') || 'no SANs'})`,
        severity: 'low',
        method: { description: 'tls-certificate-name-mismatch', ref: 'RFC 6125 §6' },
        sources: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
        targets: [flow.client.ip],
        flow,
      });
    },
  });
});
