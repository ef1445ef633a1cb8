/**
 * tshark's decoding of every DNS message in a capture, and palisade's, brought to one shape so
 * that a test compares them field by field. Where the two write a value differently the shape
 * is tshark's, and the conversion says why:
 *  - names: tshark writes a label's bytes raw (a dot inside a label as a dot, a space as a
 *    space) and the root as '<Root>'; palisade escapes (`\.`, `\032`) and writes the root '.'.
 *    Palisade's names are unescaped to compare; the escaped text is checked on its own.
 *  - rcode: tshark's dns.flags.rcode is the header's 4 bits and the OPT's ext_rcode the upper 8;
 *    palisade's `rcode` is the 12-bit code (RFC 6891 §6.1.3): compared in tshark's two halves.
 *  - a query: tshark shows no AA, RA or rcode in one (they mean nothing there), compared only in
 *    responses; and AD only when it is set.
 *  - OPT: tshark shows no class or TTL for it, only the fields they carry (udpSize, version…).
 *  - SRV: tshark gives the owner name in its three parts (service, proto, name), joined back.
 *  - NAPTR: tshark decodes it, palisade keeps it raw (a type it does not decode): tshark's
 *    fields are encoded back to compare the bytes.
 */
import { execFileSync } from 'node:child_process';
import type { DnsMessage } from '../../dissectors/dns/message.ts';
import type { DnsRecord, DnsQuestion } from '../../dissectors/dns/record.ts';
import type { DnsSvcb } from '../../dissectors/dns/svcb.ts';
import { name as wireName } from './build.ts';

type Node = Record<string, unknown>;

/** The `dns` layer of every DNS message tshark decodes in the capture, in order. */
export function tsharkDns(path: string): Node[] {
  const out = execFileSync('tshark', ['-r', path, '-Y', 'dns', '-T', 'json', '--no-duplicate-keys', '-J', 'dns'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const frames = JSON.parse(out) as { _source: { layers: { dns: unknown } } }[];
  // A frame that ends two messages (TCP) has a list of dns layers.
  return frames.flatMap((f) => nodes(f._source.layers.dns));
}

export interface Shape {
  id: number;
  qr: boolean;
  opcode: number;
  tc: boolean;
  rd: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  aa?: boolean;
  ra?: boolean;
  rcode?: number;
  counts: number[];
  questions: { name: string; type: number; class: number }[];
  answers: RecordShape[];
  authority: RecordShape[];
  additional: RecordShape[];
}

export interface RecordShape {
  name: string;
  type: number;
  class?: number;
  ttl?: number;
  data: unknown;
}

// --- tshark's side

function nodes(v: unknown): Node[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as Node[]) : [v as Node];
}

function one(o: Node, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`tshark gave no single ${key} in ${JSON.stringify(o).slice(0, 300)}`);
  return v;
}

function many(o: Node, key: string): string[] {
  const v = o[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? (v as string[]) : [v as string];
}

const flag = (o: Node, key: string): boolean => one(o, key) === '1';
/** tshark's bytes, `de:ad:be:ef`, as plain hex. */
const hex = (s: string): string => s.replaceAll(':', '');

/** The records of one section: each display line is a key, and equal lines are merged into a list. */
function section(layer: Node, title: string): Node[] {
  const s = layer[title] as Node | undefined;
  return s === undefined ? [] : Object.values(s).flatMap(nodes);
}

export function tsharkShape(layer: Node): Shape {
  const flags = layer['dns.flags_tree'] as Node;
  const qr = flag(flags, 'dns.flags.response');
  return {
    id: parseInt(one(layer, 'dns.id'), 16),
    qr,
    opcode: Number(one(flags, 'dns.flags.opcode')),
    tc: flag(flags, 'dns.flags.truncated'),
    rd: flag(flags, 'dns.flags.recdesired'),
    z: flag(flags, 'dns.flags.z'),
    // tshark shows AD in a query only when it is set.
    ad: qr || flags['dns.flags.authenticated'] !== undefined ? flag(flags, 'dns.flags.authenticated') : false,
    cd: flag(flags, 'dns.flags.checkdisable'),
    ...(qr ? { aa: flag(flags, 'dns.flags.authoritative'), ra: flag(flags, 'dns.flags.recavail'), rcode: Number(one(flags, 'dns.flags.rcode')) } : {}),
    counts: ['dns.count.queries', 'dns.count.answers', 'dns.count.auth_rr', 'dns.count.add_rr'].map((k) => Number(one(layer, k))),
    questions: section(layer, 'Queries').map((q) => ({ name: one(q, 'dns.qry.name'), type: Number(one(q, 'dns.qry.type')), class: parseInt(one(q, 'dns.qry.class'), 16) })),
    answers: section(layer, 'Answers').map(tsharkRecord),
    authority: section(layer, 'Authoritative nameservers').map(tsharkRecord),
    additional: section(layer, 'Additional records').map(tsharkRecord),
  };
}

function tsharkRecord(r: Node): RecordShape {
  // An SRV's owner comes split into its parts (RFC 2782's _Service._Proto.Name).
  const name = r['dns.srv.service'] === undefined ? one(r, 'dns.resp.name') : ['dns.srv.service', 'dns.srv.proto', 'dns.srv.name'].map((k) => one(r, k)).join('.');
  const type = Number(one(r, 'dns.resp.type'));
  if (type === 41) {
    const z = r['dns.resp.z_tree'] as Node;
    return {
      name,
      type,
      data: {
        udpSize: Number(one(r, 'dns.rr.udp_payload_size')),
        extendedRcode: parseInt(one(r, 'dns.resp.ext_rcode'), 16),
        version: Number(one(r, 'dns.resp.edns0_version')),
        dnssecOk: flag(z, 'dns.resp.z.do'),
        z: parseInt(one(z, 'dns.resp.z.reserved'), 16),
        options: nodes(r['dns.opt']).map((o) => ({ code: Number(one(o, 'dns.opt.code')), data: hex(one(o, 'dns.opt.data')) })),
      },
    };
  }
  return { name, type, class: parseInt(one(r, 'dns.resp.class'), 16), ttl: Number(one(r, 'dns.resp.ttl')), data: tsharkData(r, type) };
}

function tsharkData(r: Node, type: number): unknown {
  switch (type) {
    case 1:
      return one(r, 'dns.a');
    case 28:
      return one(r, 'dns.aaaa');
    case 2:
      return one(r, 'dns.ns');
    case 5:
      return one(r, 'dns.cname');
    case 12:
      return one(r, 'dns.ptr.domain_name');
    case 39:
      return one(r, 'dns.dname');
    case 15:
      return { preference: Number(one(r, 'dns.mx.preference')), exchange: one(r, 'dns.mx.mail_exchange') };
    case 16:
      return many(r, 'dns.txt');
    case 6:
      return {
        mname: one(r, 'dns.soa.mname'),
        rname: one(r, 'dns.soa.rname'),
        serial: Number(one(r, 'dns.soa.serial_number')),
        refresh: Number(one(r, 'dns.soa.refresh_interval')),
        retry: Number(one(r, 'dns.soa.retry_interval')),
        expire: Number(one(r, 'dns.soa.expire_limit')),
        minimum: Number(one(r, 'dns.soa.minimum_ttl')),
      };
    case 33:
      return { priority: Number(one(r, 'dns.srv.priority')), weight: Number(one(r, 'dns.srv.weight')), port: Number(one(r, 'dns.srv.port')), target: one(r, 'dns.srv.target') };
    case 257: {
      // The tag and value sit under a subtree named for the tag (dns.caa.issue_tree…).
      const tree = Object.entries(r).find(([k]) => k.startsWith('dns.caa.') && k.endsWith('_tree') && k !== 'dns.caa.flags_tree')?.[1] as Node;
      return { flags: parseInt(one(r, 'dns.caa.flags'), 16), tag: one(tree, 'dns.caa.tag'), value: one(tree, 'dns.caa.value') };
    }
    case 64:
    case 65: {
      const params = nodes(r['dns.svcb.svcparam']);
      const shape: Record<string, unknown> = { keys: params.map((p) => Number(one(p, 'dns.svcb.svcparam.key'))), others: [] };
      for (const p of params) {
        const key = Number(one(p, 'dns.svcb.svcparam.key'));
        if (key === 0) shape.mandatory = many(p, 'dns.svcb.svcparam.mandatory.key').map(Number);
        else if (key === 1) shape.alpn = many(p, 'dns.svcb.svcparam.alpn');
        else if (key === 2) shape.noDefaultAlpn = true;
        else if (key === 3) shape.port = Number(one(p, 'dns.svcb.svcparam.port'));
        else if (key === 4) shape.ipv4hint = many(p, 'dns.svcb.svcparam.ipv4hint.ip');
        // tshark 4.0 names key 5 after the draft's "echconfig"; RFC 9460 calls it ech.
        else if (key === 5) shape.ech = hex(one(p, 'dns.svcb.svcparam.echconfig'));
        else if (key === 6) shape.ipv6hint = many(p, 'dns.svcb.svcparam.ipv6hint.ip');
        else (shape.others as unknown[]).push({ key, value: hex(one(p, 'dns.svcb.svcparam.value')) });
      }
      return { priority: Number(one(r, 'dns.svcb.svcpriority')), target: one(r, 'dns.svcb.targetname'), params: shape };
    }
    case 35: {
      // Encoded back: ORDER, PREFERENCE, FLAGS, SERVICES, REGEXP, REPLACEMENT uncompressed (RFC 3403 §4.1).
      const str = (k: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(one(r, k), 'latin1')]), Buffer.from(one(r, k), 'latin1')]);
      const u16 = (k: string): Buffer => Buffer.from([Number(one(r, k)) >> 8, Number(one(r, k)) & 0xff]);
      return Buffer.concat([u16('dns.naptr.order'), u16('dns.naptr.preference'), str('dns.naptr.flags'), str('dns.naptr.service'), str('dns.naptr.regex'), wireName(one(r, 'dns.naptr.replacement'))]).toString('hex');
    }
    default:
      return hex(one(r, 'dns.data'));
  }
}

// --- palisade's side, in tshark's terms

/** A name of palisade's as tshark writes it: escapes undone, the root '<Root>'. */
export function asTshark(name: string): string {
  if (name === '.') return '<Root>';
  return name.replace(/\\(\d{3}|.)/g, (_m, e: string) => (e.length === 3 ? String.fromCharCode(Number(e)) : e));
}

export function palisadeShape(m: DnsMessage): Shape {
  return {
    id: m.id,
    qr: m.qr,
    opcode: m.opcode,
    tc: m.tc,
    rd: m.rd,
    z: m.z,
    ad: m.ad,
    cd: m.cd,
    ...(m.qr ? { aa: m.aa, ra: m.ra, rcode: m.rcode & 0xf } : {}),
    counts: [m.counts.questions, m.counts.answers, m.counts.authority, m.counts.additional],
    questions: m.questions.map((q: DnsQuestion) => ({ name: asTshark(q.name), type: q.type, class: q.class })),
    answers: m.answers.map(palisadeRecord),
    authority: m.authority.map(palisadeRecord),
    additional: m.additional.map(palisadeRecord),
  };
}

function palisadeRecord(r: DnsRecord): RecordShape {
  const name = asTshark(r.name);
  if (r.typeName === 'OPT') {
    const d = r.data;
    return { name, type: r.type, data: d && { ...d, options: d.options.map((o) => ({ code: o.code, data: o.data.toString('hex') })) } };
  }
  return { name, type: r.type, class: r.class, ttl: r.ttl, data: palisadeData(r) };
}

function palisadeData(r: DnsRecord): unknown {
  switch (r.typeName) {
    case 'A':
    case 'AAAA':
    case 'TXT':
      return r.data;
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return r.data === null ? null : asTshark(r.data);
    case 'MX':
      return r.data && { preference: r.data.preference, exchange: asTshark(r.data.exchange) };
    case 'SOA':
      return r.data && { ...r.data, mname: asTshark(r.data.mname), rname: asTshark(r.data.rname) };
    case 'SRV':
      return r.data && { ...r.data, target: asTshark(r.data.target) };
    case 'CAA':
      return r.data && { flags: r.data.flags, tag: r.data.tag, value: r.data.value };
    case 'SVCB':
    case 'HTTPS':
      return r.data && svcbShape(r.data);
    case 'OPT':
      return r.data;
    default:
      return r.data.toString('hex');
  }
}

function svcbShape(d: DnsSvcb): unknown {
  const { ech, others, ...params } = d.params;
  return {
    priority: d.priority,
    target: asTshark(d.target),
    params: { ...params, ...(ech === undefined ? {} : { ech: ech.toString('hex') }), others: others.map((o) => ({ key: o.key, value: o.value.toString('hex') })) },
  };
}
