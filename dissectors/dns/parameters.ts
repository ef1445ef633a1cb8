/**
 * Names for the numbers of IANA's "Domain Name System (DNS) Parameters" registry: RR types,
 * classes, opcodes and response codes. A number without a name here is written as RFC 3597 §5
 * writes unknown types and classes, `TYPE65534`, `CLASS32`, and likewise `OPCODE9`, `RCODE24`.
 */

/** RR TYPEs by mnemonic (IANA, the assigned ones; QTYPEs such as AXFR and ANY included). */
export const dnsTypes = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  'NSAP-PTR': 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  // IANA writes '*'; dig, tshark and master files say ANY.
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  AMTRELAY: 260,
  RESINFO: 261,
  TA: 32768,
  DLV: 32769,
} as const;

export type DnsTypeMnemonic = keyof typeof dnsTypes;

const typeNames = new Map<number, DnsTypeMnemonic>(Object.entries(dnsTypes).map(([name, n]) => [n, name as DnsTypeMnemonic]));

/** 'A', 'HTTPS'…, or `TYPE${type}` for a type without a mnemonic (RFC 3597 §5). */
export function typeName(type: number): DnsTypeMnemonic | `TYPE${number}` {
  return typeNames.get(type) ?? `TYPE${type}`;
}

export const dnsClasses = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

const classNames = new Map<number, string>(Object.entries(dnsClasses).map(([name, n]) => [n, name]));

/** 'IN', 'CH'…, or `CLASS${cls}` (RFC 3597 §5). */
export function className(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}

export const dnsOpcodes = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5, DSO: 6 } as const;

const opcodeNames = new Map<number, string>(Object.entries(dnsOpcodes).map(([name, n]) => [n, name]));

/** 'QUERY', 'NOTIFY'…, or `OPCODE${opcode}`. */
export function opcodeName(opcode: number): string {
  return opcodeNames.get(opcode) ?? `OPCODE${opcode}`;
}

/** RCODEs, the extended ones (RFC 6891 §6.1.3) included: 16 is BADVERS in a message's rcode (BADSIG only inside TSIG). */
export const dnsRcodes = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
} as const;

const rcodeNames = new Map<number, string>(Object.entries(dnsRcodes).map(([name, n]) => [n, name]));

/** 'NOERROR', 'NXDOMAIN'…, or `RCODE${rcode}`. */
export function rcodeName(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}
