/**
 * A name list over HTTP, TLS and DNS: the names a client asks for (an HTTP request's host, a TLS
 * ClientHello's server name, a DNS query's name) checked against a deny list, an allow list, or
 * both. Each is judged before it has left: the request's head and the hello are held until their
 * event, and a UDP query is the datagram being judged. What the lists refuse is alerted on and
 * refused: a TCP connection reset, a UDP flow dropped (the query's datagram with it).
 *
 *   nameList(ctx, { deny: ['*.evil.example', 'tracker.example.net'] });
 *   nameList(ctx, { allow: ['*.corp.example'], on: ['tls'] });
 *
 * An entry is a name ('www.example.com': that name only) or a zone ('*.example.com':
 * example.com itself and every name below it, as `dns.inZone`), without case.
 */
import { dns, http, tls, type AlertLevel, type DnsFlow, type HttpRequest, type RuleContext } from '../index.ts';
import { nameMatcher, type NameList } from './name-patterns.ts';
import { OptionCheck } from './options.ts';

export type NameListProtocol = 'http' | 'tls' | 'dns';

export interface NameListOptions {
  /** The rule's name: the `rule` of its alerts. Default 'name-list'. */
  name?: string;
  /** Names and zones refused. */
  deny?: NameList;
  /** Names and zones allowed: any other name is refused, and so is a request, hello or query that names none. */
  allow?: NameList;
  /** Where names are read. Default all three: 'http' (the Host, and the target's authority), 'tls' (SNI), 'dns' (the query's name). */
  on?: readonly NameListProtocol[];
  /** 'reset' (default): a TCP connection is reset, a UDP flow dropped; 'drop' drops either silently; 'alert' only alerts. */
  action?: 'reset' | 'drop' | 'alert';
  /** The alert's severity. Default 'medium'. */
  severity?: AlertLevel;
}

/** What one protocol's names are called in alerts. */
const what: Readonly<Record<NameListProtocol, string>> = { http: 'http host', tls: 'tls server name', dns: 'dns query name' };
const protocols: readonly NameListProtocol[] = ['http', 'tls', 'dns'];

/** Installs the list (a rule on each protocol's event) into the rule set being defined. */
export function nameList(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: NameListOptions): void {
  const check = new OptionCheck('nameList', 'name-list', options, ['name', 'deny', 'allow', 'on', 'action', 'severity']);
  const deny = nameMatcher(check, 'deny', options.deny);
  const allow = nameMatcher(check, 'allow', options.allow);
  if (deny === null && allow === null) check.fail('deny', "and allow are both missing: give a deny list, an allow list, or both");
  const on = new Set(options.on === undefined ? protocols : check.list('on', options.on).map((p, i) => check.oneOf(`on[${i}]`, check.text(`on[${i}]`, p), protocols, 'http')));
  if (on.size === 0) check.fail('on', "is empty, which reads no name; give 'http', 'tls' or 'dns'");
  const action = check.oneOf('action', options.action, ['reset', 'drop', 'alert'], 'reset');
  const severity = check.severity(options.severity, 'medium');
  const name = check.name;

  /** Judges the names one request, hello or query carries: alerts and acts when the lists refuse them. */
  const judge = (flow: DnsFlow, protocol: NameListProtocol, names: readonly string[]): void => {
    const r = refused(names);
    if (r === null) return;
    const tcp = 'reset' in flow;
    ctx.alert({
      description: `${what[protocol]} ${r.text}`,
      severity,
      method: { description: `${protocol}-name-${r.list === 'deny' ? 'denied' : 'not-allowed'}` },
      sources: [flow.client.ip],
      targets: [{ address: flow.server.ip, service: `${tcp ? 'tcp' : 'udp'}/${flow.server.port}` }],
      flow,
    });
    if (action === 'reset' && tcp) flow.reset();
    else if (action !== 'alert') flow.drop();
  };

  /** Which list refuses these names and why (the alert's text after the protocol's), or null. */
  const refused = (names: readonly string[]): { list: 'deny' | 'allow'; text: string } | null => {
    if (deny !== null) {
      for (const n of names) {
        const entry = deny(n);
        if (entry !== undefined) return { list: 'deny', text: `is denied: ${n} (deny list: '${entry}')` };
      }
    }
    if (allow === null) return null;
    if (names.length === 0) return { list: 'allow', text: 'missing: refused by the allow list' };
    const stranger = names.find((n) => allow(n) === undefined);
    return stranger === undefined ? null : { list: 'allow', text: `is not allowed: ${stranger} (not on the allow list)` };
  };

  if (on.has('http')) {
    ctx.rule({
      name,
      on: http.events.request,
      eval: (flow, request) => {
        judge(flow, 'http', requestNames(request));
      },
    });
  }
  if (on.has('tls')) {
    ctx.rule({
      name,
      on: tls.events.clientHello,
      // With ECH, serverName is the outer, public name: the inner one is encrypted.
      eval: (flow, hello) => {
        judge(flow, 'tls', hello.serverName === null || hello.serverName === '' ? [] : [hello.serverName]);
      },
    });
  }
  if (on.has('dns')) {
    ctx.rule({
      name,
      on: dns.events.query,
      eval: (flow, query) => {
        const first = query.questions[0];
        judge(flow, 'dns', first === undefined ? [] : [first.name]);
      },
    });
  }
}

/**
 * The hosts a request names, without ports: its Host field's, and its target's when the target
 * has an authority (absolute-form, which a server uses over Host, RFC 9112 §3.2.2; CONNECT's
 * authority-form): a deny list read from Host alone is passed by `GET http://evil.example/`.
 */
function requestNames(request: HttpRequest): string[] {
  const names: string[] = [];
  const host = hostOf(request.host);
  if (host !== '') names.push(host);
  const target = targetAuthority(request.uri, request.method);
  if (target !== null) {
    const t = hostOf(target);
    if (t !== '' && t.toLowerCase() !== host.toLowerCase()) names.push(t);
  }
  return names;
}

/** The authority of an absolute-form target (`http://a.example:8080/x`), or of CONNECT's `a.example:443`; null for origin-form. */
function targetAuthority(uri: string, method: string): string | null {
  if (method === 'CONNECT') return uri;
  const scheme = uri.indexOf('://');
  if (uri.startsWith('/') || scheme < 0) return null;
  const from = scheme + 3;
  let end = uri.length;
  for (const c of ['/', '?', '#']) {
    const at = uri.indexOf(c, from);
    if (at >= 0 && at < end) end = at;
  }
  return uri.slice(from, end);
}

/** An authority's host: no user info, no port, an IPv6 literal without its brackets. */
function hostOf(authority: string): string {
  const a = authority.slice(authority.lastIndexOf('@') + 1).trim();
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    return close < 0 ? a : a.slice(1, close);
  }
  const colon = a.lastIndexOf(':');
  return colon >= 0 && /^\d*$/.test(a.slice(colon + 1)) ? a.slice(0, colon) : a;
}
