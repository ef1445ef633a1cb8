/**
 * The fuzzer's rule set: a rule on every event palisade raises, each reading what its arguments
 * offer (fields, addresses, payload, stream lines; every HTTP, TLS and DNS field, the lazy ones
 * too: headers, paths, JA3/JA4, certificate fields, records), alerting now and then so that
 * alert formatting sees hostile values, and keeping flow state. A rule on each protocol's events
 * turns its dissector on (on by use), so every input goes through the three. The rules never
 * throw: a rule error is palisade's (a getter that threw, a dissector that handed over something
 * broken), and so a finding.
 *
 * The rules also check what the dissectors hand over against the limits they were given (an
 * HTTP head within http.maxHeaderBytes, a TLS message within tls.maxHandshakeBytes, a DNS name
 * within 255 octets…) and report a breach to the harness. Only with `judge` do they act on flows
 * (resets and drops from inside the protocols' events, now and then); otherwise every packet the
 * engine can pass goes on to the next dissector.
 */
import { defineRules, dns, engine, flowState, http, icmp, ipv4, ipv6, packet, tcp, tcpConnection, tls, udp, udpConnection } from '../../index.ts';
import type { DnsMessage, DnsRecord, HttpRequest, HttpResponse, RuleSet, TlsCertificateChain } from '../../index.ts';

/** What the dissectors were configured with, what a breach of it is reported to, and whether rules act. */
export interface FuzzWatch {
  http: { maxStartLine: number; maxHeaderBytes: number };
  tls: { maxHandshakeBytes: number };
  /** Rules reset and drop flows from the protocols' events now and then. */
  judge: boolean;
  breach(what: string): void;
  /** Events of each protocol the rules got: proof that the dissectors ran. */
  events: { http: number; tls: number; dns: number };
}

/** Every field of a plain value read (getters included), to a depth: a number, so that reading is not optimised away. */
function touch(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (typeof v === 'number') return v | 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || typeof v !== 'object' || depth > 6) return 0;
  if (Buffer.isBuffer(v)) return v.length;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 0 : 1;
  let n = 0;
  if (Array.isArray(v)) {
    for (const e of v) n += touch(e, depth + 1);
    return n;
  }
  for (const k in v) n += touch((v as Record<string, unknown>)[k], depth + 1);
  return n;
}

/** What a message's head offers, headers by every accessor. */
function readHead(m: HttpRequest | HttpResponse): number {
  const h = m.headers;
  let n = h.length + m.version.length + m.headLength + m.offset + m.bodyBytes + (m.keepAlive ? 1 : 0) + (m.contentLength ?? 0);
  for (let i = 0; i < h.length; i++) {
    const f = h.at(i);
    n += f === undefined ? 0 : f.name.length + f.value.length + f.offset + f.length;
  }
  for (const f of h) n += h.getAll(f.name).length + (h.has(f.name) ? 1 : 0) + (h.get(f.name)?.length ?? 0);
  n += touch(m.trailers) + JSON.stringify(m).length;
  return n;
}

/** Octets of a name on the wire from its text (names.ts: `\DDD` and `\X` are one octet), and its longest label; -1 when the text is not master-file form. */
function nameOctets(name: string): { octets: number; label: number } {
  if (name === '.' || name === '') return { octets: 1, label: 0 };
  let octets = 1;
  let label = 0;
  let longest = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return { octets: -1, label: -1 };
    if (c === 0x2e) {
      octets += label + 1;
      longest = Math.max(longest, label);
      label = 0;
      continue;
    }
    if (c === 0x5c) i += /^\\\d{3}/.test(name.slice(i, i + 4)) ? 3 : 1;
    label++;
  }
  octets += label + 1;
  return { octets, label: Math.max(longest, label) };
}

/** The names a record holds: its owner's and those inside its data. */
function recordNames(r: DnsRecord): string[] {
  const names = [r.name];
  switch (r.typeName) {
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      if (r.data !== null) names.push(r.data);
      break;
    case 'MX':
      if (r.data !== null) names.push(r.data.exchange);
      break;
    case 'SOA':
      if (r.data !== null) names.push(r.data.mname, r.data.rname);
      break;
    case 'SRV':
      if (r.data !== null) names.push(r.data.target);
      break;
    case 'SVCB':
    case 'HTTPS':
      if (r.data !== null) names.push(r.data.target);
      break;
    default:
  }
  return names;
}

/**
 * The fuzz rule set, checking the dissectors' output against `watch`'s limits. `watch` is read
 * as events come, so that one rule set serves inputs run with different configurations.
 */
export function fuzzRules(watch: FuzzWatch): RuleSet {
  return defineRules(({ rule, alert, log }) => {
    const seen = flowState(() => ({ bytes: 0, anomalies: 0 }));
    let packets = 0;
    /** What the rules read lands here, so that reading it is not optimised away. */
    let sink = 0;
    rule({ name: 'started', on: engine.events.started, eval: () => log.info('fuzz run started') });
    rule({
      name: 'frame',
      on: packet.events.receivePacket,
      eval: (pkt) => {
        packets += pkt.bytes.length;
      },
    });
    rule({
      name: 'ipv4',
      on: ipv4.events.receivePacket,
      eval: (pkt) => {
        if (pkt.ttl === 1) alert({ description: `ttl 1 from ${pkt.src} id ${pkt.id}`, sources: [pkt.src], targets: [pkt.dst] });
      },
    });
    rule({
      name: 'ipv6',
      on: ipv6.events.receivePacket,
      eval: (pkt) => {
        if (pkt.hopLimit === 1) alert({ description: `hop limit 1 from ${pkt.src}`, sources: [pkt.src], targets: [pkt.dst] });
      },
    });
    rule({
      name: 'tcp',
      on: tcp.events.receivePacket,
      eval: (pkt) => {
        sink += pkt.payload.length;
      },
    });
    rule({
      name: 'udp',
      on: udp.events.receivePacket,
      eval: (pkt) => {
        sink += pkt.payload.length;
      },
    });
    rule({
      name: 'icmp',
      on: icmp.events.receivePacket,
      eval: (pkt) => {
        sink += pkt.type;
      },
    });
    rule({
      name: 'connection',
      on: tcpConnection.events.newConnection,
      eval: (flow) => {
        if (flow.server.port === 0) alert({ description: 'port 0', targets: [flow.server.ip] });
      },
    });
    rule({ name: 'segment', on: tcpConnection.events.receivePacket, eval: (flow, pkt, direction) => {
        seen(flow).bytes += direction === 'up' ? pkt.payload.length : 0;
      },
    });
    rule({
      name: 'data',
      on: tcpConnection.events.receiveData,
      eval: (flow, data, direction, offset) => {
        seen(flow).bytes += data.length;
        if (offset === 0 && data.length > 0 && data[0] === 0) alert({ description: `${direction} stream starts with a zero byte: ${data.subarray(0, 16).toString('latin1')}` });
      },
    });
    rule({
      name: 'lines',
      on: tcpConnection.events.receiveData,
      options: { streamed: true },
      eval: async (flow, stream) => {
        let n = 0;
        for await (const line of stream.lines()) if (++n % 16 === 0 && line.length > 200) log.info(`long line on flow ${flow.id}: ${line.slice(0, 40)}`);
      },
    });
    rule({
      name: 'anomaly',
      on: tcpConnection.events.anomaly,
      eval: (flow, anomaly) => {
        if (++seen(flow).anomalies === 1) alert({ description: `anomaly ${anomaly.kind}`, severity: 'low' });
      },
    });
    rule({
      name: 'end',
      on: tcpConnection.events.endConnection,
      eval: (flow) => {
        sink += flow.state.length;
      },
    });
    rule({
      name: 'udp-flow',
      on: udpConnection.events.newConnection,
      eval: (flow) => {
        sink += flow.server.port;
      },
    });
    rule({
      name: 'udp-data',
      on: udpConnection.events.receiveData,
      eval: (_flow, data) => {
        sink += data.length;
      },
    });
    rule({
      name: 'udp-end',
      on: udpConnection.events.endConnection,
      eval: (flow) => {
        sink += flow.id;
      },
    });
    // ---- HTTP -------------------------------------------------------------------------------
    const httpLimits = (m: HttpRequest | HttpResponse, startLine: number): void => {
      const { maxStartLine, maxHeaderBytes } = watch.http;
      if (m.headLength > maxHeaderBytes) watch.breach(`http: a head of ${m.headLength} bytes, past http.maxHeaderBytes ${maxHeaderBytes}`);
      // The line as sent is at least this long; with its CR, one more than maxStartLine may pass.
      if (startLine > maxStartLine + 1) watch.breach(`http: a start line of at least ${startLine} bytes, past http.maxStartLine ${maxStartLine}`);
      if (m.headers.length > m.headLength) watch.breach(`http: ${m.headers.length} header fields in a head of ${m.headLength} bytes`);
    };
    const bodyWithin = (m: HttpRequest | HttpResponse | null, what: string): void => {
      if (m === null || m.framing !== 'content-length' || m.contentLength === null) return;
      if (m.bodyBytes > m.contentLength) watch.breach(`http: ${what} body of ${m.bodyBytes} bytes past its Content-Length ${m.contentLength}`);
    };
    rule({
      name: 'http-request',
      on: http.events.request,
      eval: (flow, request) => {
        watch.events.http++;
        sink += readHead(request) + request.method.length + request.uri.length + request.path.length + request.query.length + request.host.length + touch(request.framing);
        httpLimits(request, request.method.length + 1 + request.uri.length + 1 + request.version.length);
        if (request.headLength % 16 === 0) alert({ description: `${request.method} ${request.uri} (${request.path}) for ${request.host}`, flow, severity: 'low' });
        if (watch.judge && request.headers.length % 5 === 4) flow.reset();
      },
    });
    rule({
      name: 'http-response',
      on: http.events.response,
      eval: (flow, response) => {
        watch.events.http++;
        sink += readHead(response) + response.status + response.reason.length + (response.interim ? 1 : 0) + (response.request?.path.length ?? 0);
        httpLimits(response, response.version.length + 5 + response.reason.length);
        if (response.status < 100 || response.status > 999) watch.breach(`http: status ${response.status}`);
        if (watch.judge && response.headLength % 7 === 3) flow.drop();
      },
    });
    rule({
      name: 'http-request-body',
      on: http.events.requestBody,
      eval: (_flow, data, request) => {
        watch.events.http++;
        sink += data.length + (data[0] ?? 0) + request.bodyBytes;
        bodyWithin(request, 'a request');
      },
    });
    rule({
      name: 'http-response-body',
      on: http.events.responseBody,
      eval: (_flow, data, response) => {
        watch.events.http++;
        sink += data.length + (data[data.length - 1] ?? 0) + response.bodyBytes;
        bodyWithin(response, 'a response');
      },
    });
    rule({
      name: 'http-transaction',
      on: http.events.transactionEnd,
      eval: (_flow, tx) => {
        watch.events.http++;
        sink += (tx.request?.bodyBytes ?? 0) + (tx.response?.status ?? 0) + tx.interim.length + (tx.complete ? 1 : 0);
        for (const r of tx.interim) sink += r.status;
        bodyWithin(tx.request, 'a request');
        bodyWithin(tx.response, 'a response');
      },
    });
    rule({
      name: 'http-anomaly',
      on: http.events.anomaly,
      eval: (flow, anomaly) => {
        watch.events.http++;
        sink += anomaly.kind.length + anomaly.direction.length + (flow.appProto?.length ?? 0);
      },
    });

    // ---- TLS --------------------------------------------------------------------------------
    const readChain = (chain: TlsCertificateChain): number => {
      let n = 0;
      let bytes = 4 + 3;
      for (const c of chain.certificates) {
        bytes += 3 + c.der.length;
        n += (c.subject?.length ?? 0) + (c.issuer?.length ?? 0) + touch(c.sans) + touch(c.notBefore) + touch(c.notAfter);
        n += (c.serialNumber?.length ?? 0) + c.fingerprintSha256.length + (c.error?.length ?? 0);
      }
      const max = watch.tls.maxHandshakeBytes;
      if (bytes > max) watch.breach(`tls: a Certificate message of at least ${bytes} bytes, past tls.maxHandshakeBytes ${max}`);
      return n;
    };
    rule({
      name: 'tls-client-hello',
      on: tls.events.clientHello,
      eval: (flow, hello) => {
        watch.events.tls++;
        // Every field, the fingerprints (getters) included.
        sink += touch(hello) + hello.ja3.length + hello.ja3Hash.length + hello.ja4.length;
        let bytes = 4 + 2 + 32 + 1 + hello.sessionIdLength + 2 + 2 * hello.cipherSuites.length + 1 + hello.compressionMethods.length;
        if (hello.extensions.length > 0) bytes += 2;
        for (const e of hello.extensions) bytes += 4 + e.length;
        const max = watch.tls.maxHandshakeBytes;
        if (bytes > max) watch.breach(`tls: a ClientHello of at least ${bytes} bytes, past tls.maxHandshakeBytes ${max}`);
        if (!/^t(1[0-3]|s[23]|d[123]|00)[di]\d{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/.test(hello.ja4)) watch.breach(`tls: JA4 '${hello.ja4}' is not in FoxIO's form`);
        if (hello.serverName !== null && hello.ja4.endsWith('0')) alert({ description: `TLS to ${hello.serverName} (JA4 ${hello.ja4}, ALPN ${hello.alpn.join(',')})`, flow, severity: 'low' });
        if (watch.judge && hello.cipherSuites.length % 4 === 3) flow.reset();
      },
    });
    rule({
      name: 'tls-server-hello',
      on: tls.events.serverHello,
      eval: (flow, hello) => {
        watch.events.tls++;
        sink += touch(hello) + hello.ja3s.length + hello.ja3sHash.length;
        if (watch.judge && hello.cipherSuite % 5 === 1) flow.drop();
      },
    });
    rule({
      name: 'tls-certificate',
      on: tls.events.certificate,
      eval: (_flow, chain, direction) => {
        watch.events.tls++;
        sink += readChain(chain) + direction.length;
      },
    });
    rule({
      name: 'tls-anomaly',
      on: tls.events.anomaly,
      eval: (_flow, anomaly) => {
        watch.events.tls++;
        sink += anomaly.kind.length + anomaly.detail.length + anomaly.direction.length;
      },
    });

    // ---- DNS --------------------------------------------------------------------------------
    const checkName = (name: string): void => {
      const { octets, label } = nameOctets(name);
      if (octets < 0) watch.breach(`dns: name ${JSON.stringify(name)} has a character outside printable ASCII`);
      else if (octets > 255 || label > 63) watch.breach(`dns: name ${JSON.stringify(name)} of ${octets} octets (a label of ${label}), past 255 (63)`);
      sink += dns.inZone(name, 'pal.test') ? 1 : 0;
      sink += dns.sameName(name, name.toUpperCase()) ? 0 : 1;
    };
    const readMessage = (m: DnsMessage, overTcp: boolean): void => {
      sink += touch(m);
      for (const q of m.questions) checkName(q.name);
      for (const section of [m.answers, m.authority, m.additional]) for (const r of section) for (const name of recordNames(r)) checkName(name);
      if (overTcp && m.length > 0xffff) watch.breach(`dns: a message of ${m.length} bytes over TCP, past its two-byte length`);
    };
    rule({
      name: 'dns-query',
      on: dns.events.query,
      eval: (flow, query) => {
        watch.events.dns++;
        readMessage(query, 'reset' in flow);
        const name = query.questions[0]?.name ?? '';
        if (query.id % 64 === 0) alert({ description: `DNS query for ${name}`, flow, severity: 'low' });
        if (watch.judge && query.id % 8 === 1) flow.drop();
      },
    });
    rule({
      name: 'dns-response',
      on: dns.events.response,
      eval: (flow, response, query) => {
        watch.events.dns++;
        readMessage(response, 'reset' in flow);
        if (query !== null) sink += query.id === response.id ? 1 : 0;
        for (const a of response.answers) if (a.typeName === 'A' && a.data !== null && a.ttl === 0) log.info({ name: a.name, address: a.data }, 'dns answer');
      },
    });
    rule({
      name: 'dns-anomaly',
      on: dns.events.anomaly,
      eval: (_flow, anomaly) => {
        watch.events.dns++;
        sink += anomaly.kind.length + anomaly.detail.length + anomaly.direction.length;
      },
    });
    rule({ name: 'exiting', on: engine.events.exiting, eval: () => log.info(`fuzz run saw ${packets} bytes (${sink})`) });

  });
}
