/**
 * The OPT pseudo-record of EDNS(0) (RFC 6891 §6.1.2): its CLASS is the sender's UDP payload
 * size, its TTL the extended RCODE, the version and the flags (DO, RFC 3225), its RDATA a list
 * of options, kept raw.
 */
import { u16 } from '../bytes.ts';
import { noteAnomaly, type DnsAnomaly } from './anomalies.ts';

export interface DnsOpt {
  /** The largest UDP payload the sender can reassemble (the record's CLASS); below 512 counts as 512 (§6.2.5). */
  udpSize: number;
  /** EXTENDED-RCODE: the upper 8 bits of the 12-bit rcode, as `message.rcode` already combines them. */
  extendedRcode: number;
  /** EDNS version: 0; a server answers another with BADVERS. */
  version: number;
  /** DO: the sender can take DNSSEC records (RFC 3225). */
  dnssecOk: boolean;
  /** The 15 flag bits after DO, zero unless a later RFC assigns one. */
  z: number;
  /** Each option as sent, in order (RFC 6891 §6.1.2): 10 COOKIE, 8 client subnet, 12 padding… */
  options: DnsEdnsOption[];
}

export interface DnsEdnsOption {
  /** OPTION-CODE (IANA "DNS EDNS0 Option Codes"). */
  code: number;
  /** OPTION-DATA, a copy. */
  data: Buffer;
}

/**
 * The OPT whose CLASS is `udpSize` and whose TTL is at `b[ttlAt..ttlAt+4)`, with its RDATA at
 * `b[off..end)`; null with 'bad-rdata' noted when an option overruns the RDATA.
 */
export function decodeOpt(b: Buffer, udpSize: number, ttlAt: number, off: number, end: number, anomalies: DnsAnomaly[]): DnsOpt | null {
  const flags = u16(b, ttlAt + 2);
  const options: DnsEdnsOption[] = [];
  for (let at = off; at < end; ) {
    if (at + 4 > end) return bad(anomalies, `EDNS option header at ${at} cut by the end of the RDATA (${end})`);
    const code = u16(b, at);
    const length = u16(b, at + 2);
    if (at + 4 + length > end) return bad(anomalies, `EDNS option ${code} of ${length} bytes at ${at} overruns the RDATA (${end})`);
    options.push({ code, data: Buffer.from(b.subarray(at + 4, at + 4 + length)) });
    at += 4 + length;
  }
  return {
    udpSize,
    extendedRcode: b[ttlAt] as number,
    version: b[ttlAt + 1] as number,
    dnssecOk: (flags & 0x8000) !== 0,
    z: flags & 0x7fff,
    options,
  };
}

function bad(anomalies: DnsAnomaly[], detail: string): null {
  noteAnomaly(anomalies, 'bad-rdata', detail);
  return null;
}
