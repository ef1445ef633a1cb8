/**
 * Passive DNS, after Haka's sample/ruleset/dns/pdns.lua: every record of every DNS response
 * that crosses palisade, as a log line (the rule file's log, info level), so that what a name
 * resolved to, and when, can be looked up later without asking DNS again.
 *
 *   passiveDns(ctx, { types: ['A', 'AAAA', 'CNAME'], aggregate: true });
 *
 * One line per record: the query's name, the record's name, type, data as text (as a zone file
 * writes it: dns-presentation.ts), TTL, the response's rcode, the client and the server. With
 * `aggregate`, one line per distinct record (name, type, data and rcode) for the run instead,
 * with how many times it was seen, when first and last: written when the engine exits, or
 * earlier for a record pushed out of a full table (`maxEntries`), so that memory stays bounded.
 */
import { dns, engine, type DnsFlow, type DnsMessage, type DnsRecord, type RuleContext } from '../index.ts';
import { recordText } from './dns-presentation.ts';
import { OptionCheck } from './options.ts';

export type PassiveDnsSection = 'answers' | 'authority' | 'additional';

export interface PassiveDnsOptions {
  /** The rule's name. Default 'passive-dns'. */
  name?: string;
  /** Record types logged, as mnemonics ('A', 'AAAA', 'MX') or `TYPE<n>`. Default: every type (OPT, EDNS's pseudo-record, never). */
  types?: readonly string[];
  /** The sections read. Default ['answers']; Haka's sample reads 'additional' too. */
  sections?: readonly PassiveDnsSection[];
  /** A response with no record to log (NXDOMAIN, an empty answer) is a line too, with the question's type and `data` null. Default false. */
  unanswered?: boolean;
  /** One line per distinct record for the run, with a count, instead of one per sighting. Default false. */
  aggregate?: boolean;
  /** With `aggregate`: the records kept at once; past it the one seen longest ago is written and forgotten. Default 10000. */
  maxEntries?: number;
}

/** One sighting's line. */
interface Sighting {
  section: PassiveDnsSection;
  query: string | null;
  name: string;
  type: string;
  data: string | null;
  ttl: number | null;
  rcode: string;
  client: string;
  server: string;
}

/** An aggregated record: what is the same in every sighting, and what sums them up. */
interface Aggregate {
  name: string;
  type: string;
  data: string | null;
  rcode: string;
  /** The latest sighting's. */
  ttl: number | null;
  count: number;
  /** Engine time (capture time in replay), in seconds. */
  first: number;
  last: number;
}

const rcodes = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI'];
const extendedRcodes: Readonly<Record<number, string>> = { 16: 'BADVERS', 17: 'BADKEY', 18: 'BADTIME', 19: 'BADMODE', 20: 'BADNAME', 21: 'BADALG', 22: 'BADTRUNC', 23: 'BADCOOKIE' };
/** 'NOERROR', 'NXDOMAIN'…, as dig writes them; `RCODE<n>` for a code with no name. */
const rcodeName = (rcode: number): string => rcodes[rcode] ?? extendedRcodes[rcode] ?? `RCODE${rcode}`;

const sectionNames: readonly PassiveDnsSection[] = ['answers', 'authority', 'additional'];
const DNS_PORT = 53;
const MSG = 'passive dns';

/** Installs the logger (a rule on dns.events.response, and one on engine exit with `aggregate`) into the rule set being defined. */
export function passiveDns(ctx: Pick<RuleContext, 'rule' | 'log'>, options: PassiveDnsOptions = {}): void {
  const check = new OptionCheck('passiveDns', 'passive-dns', options, ['name', 'types', 'sections', 'unanswered', 'aggregate', 'maxEntries']);
  const wanted = options.types === undefined ? null : typeFilter(check, options.types);
  const sections = options.sections === undefined ? (['answers'] as const) : check.list('sections', options.sections).map((s, i) => check.oneOf(`sections[${i}]`, check.text(`sections[${i}]`, s), sectionNames, 'answers'));
  if (sections.length === 0) check.fail('sections', "is empty, which logs nothing; give 'answers', 'authority' or 'additional'");
  const unanswered = check.flag('unanswered', options.unanswered, false);
  const aggregate = check.flag('aggregate', options.aggregate, false);
  if (options.maxEntries !== undefined && !aggregate) check.fail('maxEntries', 'needs aggregate: true; without it nothing is kept');
  const maxEntries = check.count('maxEntries', options.maxEntries, 10_000);
  const logs = (r: { typeName: string; type: number }): boolean => r.typeName !== 'OPT' && (wanted === null || wanted(r.typeName, r.type));

  /** Records by (name without case, type, data, rcode), the one seen longest ago first. */
  const table = new Map<string, Aggregate>();
  const write = (a: Aggregate): void => {
    ctx.log.info({ name: a.name, type: a.type, data: a.data, rcode: a.rcode, ttl: a.ttl, count: a.count, first: isoTime(a.first), last: isoTime(a.last) }, MSG);
  };
  const seen = (s: Sighting, time: number): void => {
    if (!aggregate) {
      ctx.log.info(s, MSG);
      return;
    }
    const key = JSON.stringify([s.name.toLowerCase(), s.type, s.data, s.rcode]);
    const a = table.get(key);
    if (a !== undefined) {
      table.delete(key);
      a.count++;
      a.ttl = s.ttl;
      a.last = time;
      table.set(key, a);
      return;
    }
    table.set(key, { name: s.name, type: s.type, data: s.data, rcode: s.rcode, ttl: s.ttl, count: 1, first: time, last: time });
    if (table.size > maxEntries) {
      const [oldest, entry] = table.entries().next().value as [string, Aggregate];
      table.delete(oldest);
      write(entry);
    }
  };

  ctx.rule({
    name: check.name,
    on: dns.events.response,
    eval: (flow, response) => {
      const { client, server } = ends(flow);
      const question = response.questions[0];
      const base = { query: question?.name ?? null, rcode: rcodeName(response.rcode), client, server };
      let logged = false;
      for (const section of sections) {
        for (const r of records(response, section)) {
          if (!logs(r)) continue;
          logged = true;
          seen({ section, ...base, name: r.name, type: r.typeName, data: recordText(r), ttl: r.ttl }, flow.lastTime);
        }
      }
      if (!logged && unanswered && question !== undefined && logs(question)) {
        seen({ section: 'answers', ...base, name: question.name, type: question.typeName, data: null, ttl: null }, flow.lastTime);
      }
    },
  });
  if (aggregate) {
    ctx.rule({
      name: check.name,
      on: engine.events.exiting,
      eval: () => {
        for (const a of table.values()) write(a);
        table.clear();
      },
    });
  }
}

function records(m: DnsMessage, section: PassiveDnsSection): readonly DnsRecord[] {
  return section === 'answers' ? m.answers : section === 'authority' ? m.authority : m.additional;
}

/**
 * The client and the server of a DNS flow. The flow's client is whoever sent its first datagram:
 * a capture that starts with a response has the server as client, so port 53 decides.
 */
function ends(flow: DnsFlow): { client: string; server: string } {
  const swapped = flow.client.port === DNS_PORT && flow.server.port !== DNS_PORT;
  return swapped ? { client: flow.server.ip, server: flow.client.ip } : { client: flow.client.ip, server: flow.server.ip };
}

/** The `types` option as a test on a record's type: mnemonics without case, `TYPE<n>` by number. */
function typeFilter(check: OptionCheck, types: unknown): (typeName: string, type: number) => boolean {
  const list = check.list('types', types);
  if (list.length === 0) check.fail('types', 'is empty, which logs nothing; leave it out to log every type');
  const names = new Set<string>();
  const numbers = new Set<number>();
  list.forEach((t, i) => {
    const text = check.text(`types[${i}]`, t).toUpperCase();
    const n = /^TYPE(\d+)$/.exec(text);
    if (n?.[1] !== undefined ? Number(n[1]) > 0xffff : !/^[A-Z][A-Z0-9-]*$/.test(text)) check.fail(`types[${i}]`, `must be a record type ('A', 'MX', 'TYPE65534'), not '${String(t)}'`);
    if (n?.[1] !== undefined) numbers.add(Number(n[1]));
    else names.add(text);
  });
  return (typeName, type) => names.has(typeName) || numbers.has(type);
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
