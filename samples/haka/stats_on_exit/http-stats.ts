/**
 * Haka's sample/stats/stats.lua and stats_utils.lua in palisade: one record per HTTP exchange
 * (client address, method, path, host, User-Agent, Referer, response status), and the two
 * queries the report uses on them, `select` and `top`.
 *
 * palisade has no HTTP dissector yet, so the request and status lines are read here from the
 * reassembled streams: enough HTTP/1.x for statistics, not a parser to enforce policy with.
 */
import { flowState, tcpConnection, type RuleContext } from 'palisade';

export interface HttpEntry {
  ip: string;
  method: string;
  resource: string;
  host: string;
  useragent: string;
  referer: string;
  status: string;
}

interface Request {
  method: string;
  uri: string;
  headers: Map<string, string>;
}

/** Longest header block read; past it the direction is no longer parsed (it is not HTTP, or hostile). */
const MAX_HEAD = 16 * 1024;
/** An empty line ends a head; bare LF line ends are accepted, as servers do (RFC 9112 §2.2). */
const END_OF_HEAD = /\r?\n\r?\n/;

interface Direction {
  /** Bytes of the current message head not yet complete (latin1: one char per byte). */
  head: string;
  /** Body bytes still to skip before the next head. */
  skip: number;
  /** Gave up on this direction: unknown body length, or a head too long. */
  done: boolean;
}

const newDirection = (): Direction => ({ head: '', skip: 0, done: false });

/** Splits one message head into its first line and its headers (names lower-cased). */
function parseHead(head: string): { start: string[]; headers: Map<string, string> } {
  const [first = '', ...lines] = head.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { start: first.split(' '), headers };
}

/**
 * Feeds stream bytes to one direction and calls `onHead` for each complete message head. Bodies
 * are skipped by Content-Length; a body without one runs to the end of the connection (or is
 * chunked, which statistics do not need), so parsing that direction stops there.
 */
function feed(d: Direction, data: Buffer, onHead: (start: string[], headers: Map<string, string>) => void): void {
  let text = data.toString('latin1');
  while (!d.done && text.length > 0) {
    if (d.skip > 0) {
      const n = Math.min(d.skip, text.length);
      d.skip -= n;
      text = text.slice(n);
      continue;
    }
    d.head += text;
    text = '';
    const end = END_OF_HEAD.exec(d.head);
    if (end === null) {
      if (d.head.length > MAX_HEAD) d.done = true;
      return;
    }
    const { start, headers } = parseHead(d.head.slice(0, end.index));
    text = d.head.slice(end.index + end[0].length);
    d.head = '';
    onHead(start, headers);
    const length = headers.get('content-length');
    if (length !== undefined && /^\d+$/.test(length)) d.skip = Number(length);
    else if (headers.has('transfer-encoding') || (start[0]?.startsWith('HTTP/') ?? false)) d.done = true;
  }
}

/** The path of a request target, as Haka's `split_uri:normalize().path` gives it for these captures. */
function pathOf(uri: string): { path: string; host: string } {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)/i.exec(uri);
  if (absolute) return { host: absolute[1] ?? '', path: absolute[2] || '/' };
  return { host: '', path: uri.split(/[?#]/)[0] ?? '' };
}

/**
 * Registers the recording rules and returns the table they fill: an entry is added when a
 * response's head is complete, paired with the oldest request of its connection still waiting
 * (HTTP/1.1 answers in order), as Haka's `http.events.response` rule did.
 */
export function recordHttp({ rule }: Pick<RuleContext, 'rule'>): HttpEntry[] {
  const stats: HttpEntry[] = [];
  const state = flowState(() => ({ up: newDirection(), down: newDirection(), waiting: [] as Request[] }));

  rule({
    name: 'record-http',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      const s = state(flow);
      if (direction === 'up') {
        feed(s.up, data, ([method = '', uri = ''], headers) => s.waiting.push({ method, uri, headers }));
        return;
      }
      feed(s.down, data, ([, status = '']) => {
        const request = s.waiting.shift();
        if (request === undefined) return;
        const { path, host } = pathOf(request.uri);
        stats.push({
          ip: flow.client.ip,
          method: request.method,
          resource: path,
          host: host || (request.headers.get('host') ?? ''),
          useragent: request.headers.get('user-agent') ?? '',
          referer: request.headers.get('referer') ?? '',
          status,
        });
      });
    },
  });
  return stats;
}

/** The chosen columns of the entries that pass `where`. */
export function select<K extends keyof HttpEntry>(entries: readonly HttpEntry[], columns: readonly K[], where?: (e: HttpEntry) => boolean): Pick<HttpEntry, K>[] {
  return entries.filter((e) => where?.(e) ?? true).map((e) => Object.fromEntries(columns.map((c) => [c, e[c]])) as Pick<HttpEntry, K>);
}

/**
 * The `n` most frequent values of a column with their counts; ties in descending order of value,
 * as stats_utils.lua sorts them.
 */
export function top<K extends keyof HttpEntry>(entries: readonly Pick<HttpEntry, K>[], column: K, n = 10): { value: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e[column], (counts.get(e[column]) ?? 0) + 1);
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? 1 : a.value > b.value ? -1 : 0))
    .slice(0, n);
}
