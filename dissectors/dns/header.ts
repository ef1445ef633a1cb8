/** The 12-byte DNS message header (RFC 1035 §4.1.1, with RFC 4035 §3.2's AD and CD bits). */
import { u16 } from '../bytes.ts';

export const DNS_HEADER_LENGTH = 12;

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
const Z = 0x0040;
const AD = 0x0020;
const CD = 0x0010;

export interface DnsHeader {
  /** Query ID, copied into the response. */
  id: number;
  /** QR: a response (true) or a query. */
  qr: boolean;
  /** OPCODE, 4 bits: 0 QUERY, 4 NOTIFY, 5 UPDATE… (opcodeName() names it). */
  opcode: number;
  /** AA: the answer comes from an authority for the name. */
  aa: boolean;
  /** TC: the sender cut the message to fit (UDP); the client is to ask again over TCP. */
  tc: boolean;
  /** RD: recursion desired. */
  rd: boolean;
  /** RA: recursion available. */
  ra: boolean;
  /** Z: the reserved bit, zero in every message RFC 1035 allows. */
  z: boolean;
  /** AD: authentic data (RFC 4035 §3.2.3; RFC 6840 §5.7 lets a query set it too). */
  ad: boolean;
  /** CD: checking disabled (RFC 4035 §3.2.2). */
  cd: boolean;
  /**
   * RCODE: the header's 4 bits, or with an OPT record the 12-bit extended code, its upper 8 bits
   * from the OPT (RFC 6891 §6.1.3): 16 is BADVERS only that way (rcodeName() names it).
   */
  rcode: number;
  /** The section counts as the header gives them: the arrays hold what is really there. */
  counts: { questions: number; answers: number; authority: number; additional: number };
}

/** The header of `b`, which holds at least DNS_HEADER_LENGTH bytes. */
export function readHeader(b: Uint8Array): DnsHeader {
  const flags = u16(b, 2);
  return {
    id: u16(b, 0),
    qr: (flags & QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & AA) !== 0,
    tc: (flags & TC) !== 0,
    rd: (flags & RD) !== 0,
    ra: (flags & RA) !== 0,
    z: (flags & Z) !== 0,
    ad: (flags & AD) !== 0,
    cd: (flags & CD) !== 0,
    rcode: flags & 0xf,
    counts: { questions: u16(b, 4), answers: u16(b, 6), authority: u16(b, 8), additional: u16(b, 10) },
  };
}
