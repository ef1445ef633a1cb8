/** Questions and resource records (RFC 1035 §4.1.2, §4.1.3), read one at a time from a message. */
import { u16, u32 } from '../bytes.ts';
import { noteAnomaly } from './anomalies.ts';
import { readName } from './names.ts';
import { typeName, type DnsTypeMnemonic } from './parameters.ts';
import { decodeRdata, type DecodedTypeName, type DnsRecordData, type RdataContext } from './rdata.ts';

export interface DnsQuestion {
  /** QNAME, as sent (names.ts's text; compare with sameName()). */
  name: string;
  /** QTYPE: 1 A, 28 AAAA, 255 ANY… */
  type: number;
  /** The type's mnemonic, or `TYPE${type}`. */
  typeName: DnsTypeMnemonic | `TYPE${number}`;
  /** QCLASS: 1 IN, 255 ANY… (className() names it). */
  class: number;
}

/** The types palisade has a name for but does not decode, and the types it has no name for. */
export type RawTypeName = Exclude<DnsTypeMnemonic, DecodedTypeName> | `TYPE${number}`;

/** One resource record: `typeName` says what `data` holds. */
export interface DnsRecordOf<N extends string, D> {
  /** The owner name, as sent (names.ts's text; compare with sameName()). */
  name: string;
  /** TYPE. */
  type: number;
  /** The type's mnemonic, or `TYPE${type}` (RFC 3597 §5): test it to narrow `data`. */
  typeName: N;
  /** CLASS: 1 IN… (className() names it); in an OPT record, the UDP payload size. */
  class: number;
  /**
   * TTL in seconds as sent, unsigned (RFC 2181 §8 says to read one with the top bit set as 0);
   * in an OPT record, the extended rcode, version and flags (`data` has them apart).
   */
  ttl: number;
  /** The RDATA: decoded for the types of DnsRecordData (null when malformed: 'bad-rdata'), else a copy of its bytes. */
  data: D;
}

/** A record; narrow on `typeName`: `if (r.typeName === 'MX') r.data?.exchange`. */
export type DnsRecord = { [N in DecodedTypeName]: DnsRecordOf<N, DnsRecordData[N] | null> }[DecodedTypeName] | DnsRecordOf<RawTypeName, Buffer>;

/** A read that failed: the message ended inside the question or record. */
export const CUT = -1;
/** A read that failed: its name is malformed (the name's anomaly is noted). */
export const BROKEN = -2;

/** Reads the question at `off` into `into`; the offset after it, or CUT or BROKEN. */
export function readQuestion(cx: RdataContext, off: number, into: DnsQuestion[]): number {
  const b = cx.b;
  const at = nameEnd(cx, off);
  if (at < 0) return at;
  if (at + 4 > b.length) return CUT;
  const type = u16(b, at);
  into.push({ name: cx.name.text, type, typeName: typeName(type), class: u16(b, at + 2) });
  return at + 4;
}

/** Reads the record at `off` into `into`; the offset after it, or CUT or BROKEN. */
export function readRecord(cx: RdataContext, off: number, into: DnsRecord[]): number {
  const b = cx.b;
  const at = nameEnd(cx, off);
  if (at < 0) return at;
  if (at + 10 > b.length) return CUT;
  const name = cx.name.text;
  const type = u16(b, at);
  const cls = u16(b, at + 2);
  const rdataAt = at + 10;
  const end = rdataAt + u16(b, at + 8);
  if (end > b.length) return CUT;
  const data = decodeRdata(cx, type, cls, at + 4, rdataAt, end);
  into.push({ name, type, typeName: typeName(type), class: cls, ttl: u32(b, at + 4), data } as DnsRecord);
  return end;
}

function nameEnd(cx: RdataContext, off: number): number {
  if (readName(cx.b, off, cx.b.length, cx.name)) return cx.name.end;
  const problem = cx.name.problem;
  if (problem === 'truncated' || problem === null) return CUT;
  noteAnomaly(cx.anomalies, problem, cx.name.detail);
  return BROKEN;
}
