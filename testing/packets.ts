/**
 * A small packet builder for tests: byte-exact frames with correct checksums (or deliberately
 * wrong ones). Each header is written by the writer beside its parser (writeIpv4Header…), as
 * the packets rules create are; these add the knobs tests need (a bad checksum, a lying
 * length). Fuller session builders (handshake, resend, reorder…) grow on top of these.
 */
import { IPv4, IPv6 } from 'ip-num';
import { internetChecksum, ipv4PseudoSum, ipv6PseudoSum, writeIpv4HeaderChecksum } from '../dissectors/checksum.ts';
import { writeIcmpHeader } from '../dissectors/icmp.ts';
import { writeIpv4Header } from '../dissectors/ipv4.ts';
import { writeIpv6Header } from '../dissectors/ipv6.ts';
import { writeTcpHeader } from '../dissectors/tcp.ts';
import { writeUdpHeader } from '../dissectors/udp.ts';

const bytesOf = (p: string | Uint8Array | undefined): Buffer =>
  p === undefined ? Buffer.alloc(0) : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p);

function ipv4Bytes(text: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Number(IPv4.fromString(text).value));
  return b;
}

function ipv6Bytes(text: string): Buffer {
  return Buffer.from(IPv6.fromString(text).value.toString(16).padStart(32, '0'), 'hex');
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  proto: number;
  payload?: string | Uint8Array;
  ttl?: number;
  id?: number;
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** In bytes (a multiple of 8). */
  fragOffset?: number;
  options?: Uint8Array;
  /** Overrides the total length field. */
  totalLength?: number;
  badChecksum?: boolean;
}

export function ipv4(spec: Ipv4Spec): Buffer {
  const options = bytesOf(spec.options);
  const payload = bytesOf(spec.payload);
  const b = Buffer.alloc(20 + options.length + payload.length);
  const hdrLen = writeIpv4Header(
    b,
    0,
    {
      src: ipv4Bytes(spec.src).readUInt32BE(0),
      dst: ipv4Bytes(spec.dst).readUInt32BE(0),
      proto: spec.proto,
      ttl: spec.ttl ?? 64,
      tos: spec.tos ?? 0,
      id: spec.id ?? 1,
      df: spec.df === true,
      mf: spec.mf === true,
      fragOffset: spec.fragOffset ?? 0,
      ...(options.length === 0 ? {} : { options }),
    },
    payload.length,
  );
  payload.copy(b, hdrLen);
  if (spec.totalLength !== undefined) {
    b.writeUInt16BE(spec.totalLength, 2);
    writeIpv4HeaderChecksum(b, 0);
  }
  if (spec.badChecksum) b[11] = (b[11] ?? 0) ^ 0xff;
  return b;
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  nextHeader: number;
  /** Extension headers and upper-layer bytes, after the fixed header. */
  payload?: string | Uint8Array;
  hopLimit?: number;
  flowLabel?: number;
  trafficClass?: number;
}

export function ipv6(spec: Ipv6Spec): Buffer {
  const payload = bytesOf(spec.payload);
  const b = Buffer.alloc(40 + payload.length);
  writeIpv6Header(
    b,
    0,
    { src: ipv6Bytes(spec.src), dst: ipv6Bytes(spec.dst), nextHeader: spec.nextHeader, hopLimit: spec.hopLimit ?? 64, flowLabel: spec.flowLabel ?? 0, trafficClass: spec.trafficClass ?? 0 },
    payload.length,
  );
  payload.copy(b, 40);
  return b;
}

const TCP_FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

export interface TcpSpec {
  src: string;
  dst: string;
  srcport: number;
  dstport: number;
  seq?: number;
  ack?: number;
  /** Letters as tcpdump prints them: 'S', 'SA', 'PA', 'FA', 'R'. */
  flags?: string;
  window?: number;
  urgentPointer?: number;
  options?: Uint8Array;
  payload?: string | Uint8Array;
  badChecksum?: boolean;
  ttl?: number;
  id?: number;
  /** IPv4 Don't Fragment. */
  df?: boolean;
}

function transportChecksum(seg: Buffer, at: number, src: string, dst: string, proto: number): void {
  seg.writeUInt16BE(0, at);
  let pseudo: number;
  if (src.includes(':')) {
    const addrs = Buffer.concat([ipv6Bytes(src), ipv6Bytes(dst)]);
    pseudo = ipv6PseudoSum(addrs, 0, 16, proto, seg.length);
  } else {
    const hdr = Buffer.alloc(20);
    ipv4Bytes(src).copy(hdr, 12);
    ipv4Bytes(dst).copy(hdr, 16);
    pseudo = ipv4PseudoSum(hdr, 0, proto, seg.length);
  }
  let sum = internetChecksum(seg, 0, seg.length, pseudo);
  // UDP sends a computed 0 as 0xffff (RFC 768).
  if (proto === 17 && sum === 0) sum = 0xffff;
  seg.writeUInt16BE(sum, at);
}

/** A TCP segment inside an IPv4 or IPv6 packet (by the form of `src`). */
export function tcp(spec: TcpSpec): Buffer {
  const options = bytesOf(spec.options);
  const payload = bytesOf(spec.payload);
  const hdrLen = 20 + options.length;
  const seg = Buffer.alloc(hdrLen + payload.length);
  let bits = 0;
  for (const c of spec.flags ?? 'A') bits |= TCP_FLAG_BITS[c] ?? 0;
  writeTcpHeader(seg, 0, {
    srcport: spec.srcport,
    dstport: spec.dstport,
    seq: spec.seq ?? 1000,
    ack: spec.ack ?? 0,
    flags: bits,
    window: spec.window ?? 65535,
    urgentPointer: spec.urgentPointer ?? 0,
    ...(options.length === 0 ? {} : { options }),
  });
  payload.copy(seg, hdrLen);
  transportChecksum(seg, 16, spec.src, spec.dst, 6);
  if (spec.badChecksum) seg[17] = (seg[17] ?? 0) ^ 0xff;
  return spec.src.includes(':')
    ? ipv6({ src: spec.src, dst: spec.dst, nextHeader: 6, payload: seg })
    : ipv4({ src: spec.src, dst: spec.dst, proto: 6, payload: seg, ttl: spec.ttl, id: spec.id, df: spec.df });
}

export interface UdpSpec {
  src: string;
  dst: string;
  srcport: number;
  dstport: number;
  payload?: string | Uint8Array;
  /** Leave the checksum 0 (allowed over IPv4). */
  noChecksum?: boolean;
  badChecksum?: boolean;
}

export function udp(spec: UdpSpec): Buffer {
  const payload = bytesOf(spec.payload);
  const seg = Buffer.alloc(8 + payload.length);
  writeUdpHeader(seg, 0, spec, payload.length);
  payload.copy(seg, 8);
  if (!spec.noChecksum) transportChecksum(seg, 6, spec.src, spec.dst, 17);
  if (spec.badChecksum) seg[7] = (seg[7] ?? 0) ^ 0xff;
  return spec.src.includes(':')
    ? ipv6({ src: spec.src, dst: spec.dst, nextHeader: 17, payload: seg })
    : ipv4({ src: spec.src, dst: spec.dst, proto: 17, payload: seg });
}

export interface IcmpSpec {
  src: string;
  dst: string;
  type: number;
  code?: number;
  /** Bytes after the 4-byte header (identifier, sequence, data for echo). */
  payload?: string | Uint8Array;
}

export function icmp(spec: IcmpSpec): Buffer {
  const payload = bytesOf(spec.payload);
  const msg = Buffer.alloc(4 + payload.length);
  writeIcmpHeader(msg, 0, spec);
  payload.copy(msg, 4);
  const v6 = spec.src.includes(':');
  if (v6) transportChecksum(msg, 2, spec.src, spec.dst, 58);
  else msg.writeUInt16BE(internetChecksum(msg, 0, msg.length), 2);
  return v6
    ? ipv6({ src: spec.src, dst: spec.dst, nextHeader: 58, payload: msg })
    : ipv4({ src: spec.src, dst: spec.dst, proto: 1, payload: msg });
}

export interface EthernetSpec {
  /** 0x0800 by default, 0x86dd when the payload is IPv6. */
  etherType?: number;
  src?: string;
  dst?: string;
  /** 802.1Q tags, outermost first (0x8100 each; use `vlanTpid` for QinQ's 0x88a8 outer). */
  vlans?: number[];
  vlanTpid?: number;
}

const mac = (text: string): Buffer => Buffer.from(text.replaceAll(':', ''), 'hex');

export function ethernet(payload: Uint8Array, spec: EthernetSpec = {}): Buffer {
  const vlans = spec.vlans ?? [];
  const b = Buffer.alloc(14 + 4 * vlans.length + payload.length);
  mac(spec.dst ?? '02:00:00:00:00:02').copy(b, 0);
  mac(spec.src ?? '02:00:00:00:00:01').copy(b, 6);
  let off = 12;
  vlans.forEach((id, i) => {
    b.writeUInt16BE(i === 0 && spec.vlanTpid !== undefined ? spec.vlanTpid : 0x8100, off);
    b.writeUInt16BE(id, off + 2);
    off += 4;
  });
  const etherType = spec.etherType ?? ((payload[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800);
  b.writeUInt16BE(etherType, off);
  Buffer.from(payload).copy(b, off + 2);
  return b;
}
