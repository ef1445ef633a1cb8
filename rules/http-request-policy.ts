/**
 * An HTTP request policy: the methods a server takes, no path traversal, and bounds on the
 * request target and the header section. Each request is judged on `http.events.request`, whole
 * and before any of it has reached the server; every rule it breaks is one alert with its own
 * description, and the connection is then reset (or dropped, or left alone), once.
 *
 *   httpRequestPolicy(ctx, { methods: ['GET', 'HEAD'], maxUriLength: 2048, maxHeaderCount: 64 });
 *
 * Path traversal is a `..` segment in the target's path as sent, read after decoding each `%XX`
 * once, with `\` a separator as well as `/` (IIS and Windows servers split on both) and a
 * segment's `;` parameters left out (Tomcat reads `..;` as `..`). Every such segment counts,
 * whether or not it climbs above the root: clients remove dot segments before they send
 * (RFC 3986 §5.2.4), so a `..` on the wire comes from a tool, and where it leads depends on how
 * the server maps the path (an alias, a proxy's prefix), which palisade does not know.
 */
import { http, type AlertLevel, type HttpRequest, type RuleContext, type TcpFlow } from '../index.ts';
import { OptionCheck } from './options.ts';

export interface HttpRequestPolicyOptions {
  /** The rule's name: the `rule` of its alerts. Default 'http-request-policy'. */
  name?: string;
  /**
   * The methods allowed, compared as sent (methods are case-sensitive, RFC 9110 §9.1), or false
   * for any. Default GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH (no CONNECT, no TRACE).
   */
  methods?: readonly string[] | false;
  /** Refuse a `..` segment in the target's path (see above). Default true. */
  traversal?: boolean;
  /** The longest request target, in bytes. Default: no limit. */
  maxUriLength?: number;
  /** The most header fields (each line, duplicates included). Default: no limit. */
  maxHeaderCount?: number;
  /** The longest header field value, in bytes. Default: no limit. */
  maxHeaderValueLength?: number;
  /** The longest Host field value (its port included), in bytes. Default: no limit. */
  maxHostLength?: number;
  /** 'reset' (default) sends both ends a RST; 'drop' drops the connection silently; 'alert' only alerts. */
  action?: 'reset' | 'drop' | 'alert';
  /** Every alert's severity, over each check's own (traversal high, the others medium). */
  severity?: AlertLevel;
}

/** One broken rule of a request: the alert's description, `method.description` and severity. */
interface Violation {
  description: string;
  method: string;
  severity: AlertLevel;
}

const defaultMethods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
/** A method is a token (RFC 9110 §9.1, §5.6.2). */
const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What an alert shows of a request target: a 60 KB URI is not an alert line. */
const shownUri = 200;

/** Installs the policy (a rule on http.events.request) into the rule set being defined. */
export function httpRequestPolicy(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: HttpRequestPolicyOptions = {}): void {
  const check = new OptionCheck('httpRequestPolicy', 'http-request-policy', options, [
    'name',
    'methods',
    'traversal',
    'maxUriLength',
    'maxHeaderCount',
    'maxHeaderValueLength',
    'maxHostLength',
    'action',
    'severity',
  ]);
  const methods = options.methods === false ? null : new Set(options.methods === undefined ? defaultMethods : check.list('methods', options.methods).map((m, i) => method(check, i, m)));
  if (methods?.size === 0) check.fail('methods', 'is empty, which allows no request; give false to allow any method');
  const traversal = check.flag('traversal', options.traversal, true);
  const limit = (option: keyof HttpRequestPolicyOptions): number | null => (options[option] === undefined ? null : check.count(option, options[option], undefined));
  const maxUri = limit('maxUriLength');
  const maxHeaders = limit('maxHeaderCount');
  const maxValue = limit('maxHeaderValueLength');
  const maxHost = limit('maxHostLength');
  const action = check.oneOf('action', options.action, ['reset', 'drop', 'alert'], 'reset');
  const severity = options.severity === undefined ? null : check.severity(options.severity, 'medium');

  const violations = (req: HttpRequest): Violation[] => {
    const found: Violation[] = [];
    const add = (description: string, what: string, level: AlertLevel): void => void found.push({ description, method: `http-${what}`, severity: severity ?? level });
    if (methods !== null && !methods.has(req.method)) add(`http method not allowed: ${req.method}`, 'method-not-allowed', 'medium');
    if (traversal && hasDotDotSegment(targetPath(req.uri))) add(`http path traversal: ${shown(req.uri)}`, 'path-traversal', 'high');
    if (maxUri !== null && req.uri.length > maxUri) add(`http request target too long: ${req.uri.length} bytes (limit ${maxUri})`, 'uri-too-long', 'medium');
    if (maxHeaders !== null && req.headers.length > maxHeaders) add(`too many http header fields: ${req.headers.length} (limit ${maxHeaders})`, 'too-many-headers', 'medium');
    if (maxValue !== null) {
      const long = [...req.headers].find((h) => h.value.length > maxValue);
      if (long !== undefined) add(`http header value too long: ${long.name}, ${long.value.length} bytes (limit ${maxValue})`, 'header-value-too-long', 'medium');
    }
    if (maxHost !== null && req.host.length > maxHost) add(`http Host too long: ${req.host.length} bytes (limit ${maxHost})`, 'host-too-long', 'medium');
    return found;
  };

  ctx.rule({
    name: check.name,
    on: http.events.request,
    eval: (flow, req) => {
      const found = violations(req);
      if (found.length === 0) return;
      for (const v of found) ctx.alert({ description: v.description, severity: v.severity, method: { description: v.method }, ...parties(flow), flow });
      if (action === 'reset') flow.reset();
      else if (action === 'drop') flow.drop();
    },
  });
}

function method(check: OptionCheck, i: number, value: unknown): string {
  const m = check.text(`methods[${i}]`, value);
  if (!token.test(m)) check.fail(`methods[${i}]`, `must be a method name, a token ('GET', 'PROPFIND'), not '${m}'`);
  return m;
}

function parties(flow: TcpFlow): { sources: string[]; targets: { address: string; service: string }[] } {
  return { sources: [flow.client.ip], targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }] };
}

function shown(uri: string): string {
  return uri.length <= shownUri ? uri : `${uri.slice(0, shownUri)}…`;
}

/**
 * The path of a request target as sent (RFC 9112 §3.2): origin-form `/a/b?q`, absolute-form
 * `http://host/a/b?q`; '' for the authority-form of CONNECT and `*`.
 */
function targetPath(target: string): string {
  let start = 0;
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    if (scheme < 0) return '';
    start = target.indexOf('/', scheme + 3);
    if (start < 0) return '';
  }
  let end = target.length;
  for (const c of ['?', '#']) {
    const at = target.indexOf(c, start);
    if (at >= 0 && at < end) end = at;
  }
  return target.slice(start, end);
}

/** A `..` segment in `path`, read after decoding each `%XX` once, split on `/` and `\`, a segment's `;` parameters left out. */
function hasDotDotSegment(path: string): boolean {
  if (!path.includes('.') && !path.includes('%')) return false;
  for (const segment of decodeOnce(path).split(/[/\\]/)) {
    const semicolon = segment.indexOf(';');
    if ((semicolon < 0 ? segment : segment.slice(0, semicolon)) === '..') return true;
  }
  return false;
}

/** Each valid `%XX` decoded to its octet (one character per byte); a `%` without two hex digits stays. */
function decodeOnce(s: string): string {
  return s.includes('%') ? s.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : s;
}
