/**
 * SVCB and HTTPS RDATA (RFC 9460 §2.2): a priority, a target name and the SvcParams. The keys a
 * client acts on are decoded (§7: mandatory, alpn, no-default-alpn, port, ipv4hint, ech,
 * ipv6hint); any other is kept raw in `others`. A value that breaks its key's syntax, keys not in
 * strictly increasing order, or a compressed target make the whole RDATA malformed, as §2.2 and
 * §7 tell clients to treat it.
 */
import { ipv4TextAt, ipv6TextAt } from '../../core/address-text.ts';
import { u16 } from '../bytes.ts';
import { noteAnomaly, type DnsAnomaly } from './anomalies.ts';
import { readName, type NameRead } from './names.ts';

export interface DnsSvcb {
  /** SvcPriority: 0 is AliasMode (`target` is an alias; params are to be ignored), else ServiceMode, lowest first. */
  priority: number;
  /** TargetName; '.' in ServiceMode means the owner name itself (§2.5.2). */
  target: string;
  params: DnsSvcParams;
}

/** The SvcParams, each key's value decoded; a key that is absent is undefined. */
export interface DnsSvcParams {
  /** Every key as sent, in order. */
  keys: number[];
  /** mandatory (0): keys the client must understand to use the record. */
  mandatory?: number[];
  /** alpn (1): ALPN protocol ids ('h2', 'h3'), one character per byte. */
  alpn?: string[];
  /** no-default-alpn (2): the default protocol ('http/1.1' for HTTPS) is not offered. */
  noDefaultAlpn?: boolean;
  /** port (3). */
  port?: number;
  /** ipv4hint (4): addresses as text. */
  ipv4hint?: string[];
  /** ech (5): the ECHConfigList of TLS Encrypted Client Hello, a copy; its presentation form is `ech.toString('base64')`. */
  ech?: Buffer;
  /** ipv6hint (6): addresses as text (RFC 5952). */
  ipv6hint?: string[];
  /** Every other key, in order, with its value as sent (a copy). */
  others: { key: number; value: Buffer }[];
}

const MANDATORY = 0;
const ALPN = 1;
const NO_DEFAULT_ALPN = 2;
const PORT = 3;
const IPV4HINT = 4;
const ECH = 5;
const IPV6HINT = 6;

/** The SVCB/HTTPS RDATA at `b[off..end)`, or null with 'bad-rdata' (or the target name's anomaly) noted. */
export function decodeSvcb(b: Buffer, off: number, end: number, name: NameRead, anomalies: DnsAnomaly[]): DnsSvcb | null {
  if (end - off < 3) return bad(anomalies, `SVCB RDATA of ${end - off} bytes`);
  const priority = u16(b, off);
  // TargetName "MUST NOT be compressed" (§2.2).
  if (!readName(b, off + 2, end, name, false)) {
    if (name.problem === 'truncated') return bad(anomalies, `SVCB target: ${name.detail}`);
    noteAnomaly(anomalies, name.problem ?? 'bad-rdata', name.detail);
    return null;
  }
  const params: DnsSvcParams = { keys: [], others: [] };
  let at = name.end;
  let last = -1;
  while (at < end) {
    if (at + 4 > end) return bad(anomalies, `SvcParam header at ${at} cut by the end of the RDATA (${end})`);
    const key = u16(b, at);
    const length = u16(b, at + 2);
    const from = at + 4;
    const to = from + length;
    if (to > end) return bad(anomalies, `SvcParam ${key} of ${length} bytes at ${at} overruns the RDATA (${end})`);
    if (key <= last) return bad(anomalies, `SvcParam key ${key} after ${last}: keys must increase (§2.2)`);
    last = key;
    params.keys.push(key);
    if (!decodeParam(b, key, from, to, params)) return bad(anomalies, `SvcParam ${key}: value of ${length} bytes does not follow its syntax (§7)`);
    at = to;
  }
  return { priority, target: name.text, params };
}

function decodeParam(b: Buffer, key: number, from: number, to: number, params: DnsSvcParams): boolean {
  const length = to - from;
  switch (key) {
    case MANDATORY: {
      if (length === 0 || length % 2 !== 0) return false;
      const keys: number[] = [];
      for (let i = from; i < to; i += 2) keys.push(u16(b, i));
      params.mandatory = keys;
      return true;
    }
    case ALPN: {
      // A non-empty list of non-empty length-prefixed ids (§7.1.1).
      if (length === 0) return false;
      const ids: string[] = [];
      for (let i = from; i < to; ) {
        const n = b[i] as number;
        if (n === 0 || i + 1 + n > to) return false;
        ids.push(b.toString('latin1', i + 1, i + 1 + n));
        i += 1 + n;
      }
      params.alpn = ids;
      return true;
    }
    case NO_DEFAULT_ALPN:
      if (length !== 0) return false;
      params.noDefaultAlpn = true;
      return true;
    case PORT:
      if (length !== 2) return false;
      params.port = u16(b, from);
      return true;
    case IPV4HINT: {
      if (length === 0 || length % 4 !== 0) return false;
      const list: string[] = [];
      for (let i = from; i < to; i += 4) list.push(ipv4TextAt(b, i));
      params.ipv4hint = list;
      return true;
    }
    case ECH:
      params.ech = Buffer.from(b.subarray(from, to));
      return true;
    case IPV6HINT: {
      if (length === 0 || length % 16 !== 0) return false;
      const list: string[] = [];
      for (let i = from; i < to; i += 16) list.push(ipv6TextAt(b, i));
      params.ipv6hint = list;
      return true;
    }
    default:
      params.others.push({ key, value: Buffer.from(b.subarray(from, to)) });
      return true;
  }
}

function bad(anomalies: DnsAnomaly[], detail: string): null {
  noteAnomaly(anomalies, 'bad-rdata', detail);
  return null;
}
