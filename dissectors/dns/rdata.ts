/**
 * RDATA decoded by type: the types rules look into are decoded (DnsRecordData lists them),
 * every other type is kept as its bytes, a copy, as RFC 3597 §3 asks of a type one does not
 * know. RDATA that breaks its type's syntax decodes to null with 'bad-rdata' noted, and the
 * parse goes on with the next record: RDLENGTH still frames it.
 *
 * Names inside RDATA are decompressed whatever the type (RFC 3597 §4 lets a receiver), except
 * the SVCB/HTTPS target, which RFC 9460 §2.2 forbids to compress. A name must end inside its
 * RDATA, and a type made of fixed fields must fill the RDATA exactly.
 */
import { ipv4TextAt, ipv6TextAt } from '../../core/address-text.ts';
import { u16, u32 } from '../bytes.ts';
import { noteAnomaly, type DnsAnomaly } from './anomalies.ts';
import { decodeOpt, type DnsOpt } from './edns.ts';
import { readName, type NameRead } from './names.ts';
import { dnsTypes } from './parameters.ts';
import { decodeSvcb, type DnsSvcb } from './svcb.ts';

export interface DnsMx {
  /** Lower is preferred. */
  preference: number;
  exchange: string;
}

/** RFC 1035 §3.3.13; the timers in seconds. */
export interface DnsSoa {
  /** The zone's primary server. */
  mname: string;
  /** The mailbox of its administrator, its first label the local part ('hostmaster.example.com'). */
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  /** The TTL of negative answers (RFC 2308 §4). */
  minimum: number;
}

/** RFC 2782. */
export interface DnsSrv {
  priority: number;
  weight: number;
  port: number;
  /** '.' means the service is not offered there. */
  target: string;
}

/** RFC 8659 §4.1. */
export interface DnsCaa {
  /** The flags byte. */
  flags: number;
  /** Issuer Critical (bit 0, 0x80): a CA that does not know the tag must not issue. */
  critical: boolean;
  /** 'issue', 'issuewild', 'iodef'…, as sent. */
  tag: string;
  /** The value, one character per byte. */
  value: string;
}

/** The decoded `data` of each type decoded; every other type's `data` is a Buffer. */
export interface DnsRecordData {
  /** The address as text. */
  A: string;
  /** The address as text (RFC 5952). */
  AAAA: string;
  /** The server's name. */
  NS: string;
  /** The canonical name. */
  CNAME: string;
  /** The name pointed to. */
  PTR: string;
  /** The target the owner's subtree maps to (RFC 6672). */
  DNAME: string;
  MX: DnsMx;
  /** The character-strings, one character per byte (latin1: `Buffer.from(s, 'latin1')` gives the bytes back). */
  TXT: string[];
  SOA: DnsSoa;
  SRV: DnsSrv;
  CAA: DnsCaa;
  SVCB: DnsSvcb;
  HTTPS: DnsSvcb;
  OPT: DnsOpt;
}

export type DecodedTypeName = keyof DnsRecordData;

/** What decoding works with: the message, a name reader, and where anomalies go. */
export interface RdataContext {
  b: Buffer;
  name: NameRead;
  anomalies: DnsAnomaly[];
}

/**
 * The RDATA of a record of `type` at `b[off..end)`: decoded, or a copy for a type not decoded,
 * or null when malformed. `classValue` and `ttlAt` serve OPT, which keeps its fields there.
 */
export function decodeRdata(cx: RdataContext, type: number, classValue: number, ttlAt: number, off: number, end: number): DnsRecordData[DecodedTypeName] | Buffer | null {
  const b = cx.b;
  const length = end - off;
  switch (type) {
    case dnsTypes.A:
      return length === 4 ? ipv4TextAt(b, off) : bad(cx, `A RDATA of ${length} bytes`);
    case dnsTypes.AAAA:
      return length === 16 ? ipv6TextAt(b, off) : bad(cx, `AAAA RDATA of ${length} bytes`);
    case dnsTypes.NS:
    case dnsTypes.CNAME:
    case dnsTypes.PTR:
    case dnsTypes.DNAME:
      return onlyName(cx, off, end);
    case dnsTypes.MX: {
      if (length < 3) return bad(cx, `MX RDATA of ${length} bytes`);
      const exchange = onlyName(cx, off + 2, end);
      return exchange === null ? null : { preference: u16(b, off), exchange };
    }
    case dnsTypes.TXT:
      return strings(cx, off, end);
    case dnsTypes.SOA: {
      const mname = nameIn(cx, off, end);
      if (mname === null) return null;
      const rname = nameIn(cx, cx.name.end, end);
      if (rname === null) return null;
      const at = cx.name.end;
      if (end - at !== 20) return bad(cx, `SOA: ${end - at} bytes after the names, not 20`);
      return { mname, rname, serial: u32(b, at), refresh: u32(b, at + 4), retry: u32(b, at + 8), expire: u32(b, at + 12), minimum: u32(b, at + 16) };
    }
    case dnsTypes.SRV: {
      if (length < 7) return bad(cx, `SRV RDATA of ${length} bytes`);
      const target = onlyName(cx, off + 6, end);
      return target === null ? null : { priority: u16(b, off), weight: u16(b, off + 2), port: u16(b, off + 4), target };
    }
    case dnsTypes.CAA: {
      // A tag of at least one byte (RFC 8659 §4.1).
      const tagLength = length >= 2 ? (b[off + 1] as number) : 0;
      if (tagLength === 0 || 2 + tagLength > length) return bad(cx, `CAA RDATA of ${length} bytes, tag length ${tagLength}`);
      const flags = b[off] as number;
      return { flags, critical: (flags & 0x80) !== 0, tag: b.toString('latin1', off + 2, off + 2 + tagLength), value: b.toString('latin1', off + 2 + tagLength, end) };
    }
    case dnsTypes.SVCB:
    case dnsTypes.HTTPS:
      return decodeSvcb(b, off, end, cx.name, cx.anomalies);
    case dnsTypes.OPT:
      return decodeOpt(b, classValue, ttlAt, off, end, cx.anomalies);
    default:
      return Buffer.from(b.subarray(off, end));
  }
}

/** The name at `off`, ending inside the RDATA; null with its anomaly noted. */
function nameIn(cx: RdataContext, off: number, end: number): string | null {
  if (readName(cx.b, off, end, cx.name)) return cx.name.text;
  if (cx.name.problem === 'truncated' || cx.name.problem === null) return bad(cx, `RDATA name: ${cx.name.detail}`);
  noteAnomaly(cx.anomalies, cx.name.problem, cx.name.detail);
  return null;
}

/** A name that is the rest of the RDATA. */
function onlyName(cx: RdataContext, off: number, end: number): string | null {
  const name = nameIn(cx, off, end);
  if (name === null) return null;
  return cx.name.end === end ? name : bad(cx, `${end - cx.name.end} bytes after the RDATA's name`);
}

/** One or more <character-string>s filling the RDATA (RFC 1035 §3.3.14). */
function strings(cx: RdataContext, off: number, end: number): string[] | null {
  const b = cx.b;
  const list: string[] = [];
  for (let at = off; at < end; ) {
    const n = b[at] as number;
    if (at + 1 + n > end) return bad(cx, `TXT string of ${n} bytes at ${at} overruns the RDATA (${end})`);
    list.push(b.toString('latin1', at + 1, at + 1 + n));
    at += 1 + n;
  }
  return list;
}

function bad(cx: RdataContext, detail: string): null {
  noteAnomaly(cx.anomalies, 'bad-rdata', detail);
  return null;
}
