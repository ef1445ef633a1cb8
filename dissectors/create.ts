/**
 * New packets from fields, as Haka's `haka.dissector.create` makes them: `ipv4.create`,
 * `ipv6.create`, `tcp.create`, `udp.create`, `icmp.create` write each header with the writer
 * beside its parser (writeIpv4Header…), compute the checksums, and hand back the same views a
 * received packet has, over the new bytes (a raw IP packet): their fields can still be written,
 * and `send()` sends them. palisade/testing's builders are these too.
 */
import { rewriteError } from '../core/errors.ts';
import { dissectIcmp, IcmpPacket, writeIcmpHeader } from './icmp.ts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.ts';
import { dissectIpv4, Ipv4Packet, writeIpv4Header } from './ipv4.ts';
import { dissectIpv6, Ipv6Packet, writeIpv6Header } from './ipv6.ts';
import { Packet } from './packet.ts';
import { checkRange, computeTransportChecksum, ipv4Value, ipv6Bytes, type AddressInput } from './rewrite.ts';
import { dissectTcp, TcpPacket, writeTcpHeader } from './tcp.ts';
import { dissectUdp, UdpPacket, writeUdpHeader } from './udp.ts';
import { LINKTYPE_RAW } from '../core/link-types.ts';

export type { AddressInput } from './rewrite.ts';

/** IP fields of a created packet; the version follows the addresses (IPv6 when they are). */
export interface IpFields {
  src: AddressInput;
  dst: AddressInput;
  /** IPv4 TTL or IPv6 hop limit; 64 if not given. */
  ttl?: number;
  /** IPv4 TOS or IPv6 traffic class. */
  tos?: number;
  /** IPv4 identification. */
  id?: number;
  /** IPv4 Don't Fragment. */
  df?: boolean;
  /** IPv6 flow label. */
  flowLabel?: number;
}

/** For ipv4.create and ipv6.create (whose extension-only fields, rb, mf, fragOffset and options, it ignores). */
export interface Ipv4CreateSpec extends IpFields {
  /** The protocol number of the payload: IPv4's protocol, IPv6's next header. */
  proto: number;
  payload?: string | Uint8Array;
  rb?: boolean;
  mf?: boolean;
  /** In bytes, a multiple of 8. */
  fragOffset?: number;
  /** Already padded to a multiple of 4 bytes. */
  options?: Uint8Array;
}

export interface TcpCreateSpec extends IpFields {
  srcport: number;
  dstport: number;
  seq?: number;
  ack?: number;
  /** Letters as tcpdump prints them ('S', 'SA', 'PA', 'FA', 'R'; '.' or 'A' is ACK), or the flags byte. */
  flags?: string | number;
  window?: number;
  urgentPointer?: number;
  /** Already padded to a multiple of 4 bytes. */
  options?: Uint8Array;
  payload?: string | Uint8Array;
}

export interface UdpCreateSpec extends IpFields {
  srcport: number;
  dstport: number;
  payload?: string | Uint8Array;
  /** false: no checksum (0, allowed over IPv4 only, RFC 768). */
  checksum?: boolean;
}

export interface IcmpCreateSpec extends IpFields {
  type: number;
  code?: number;
  /** The bytes after type, code and checksum (for echo: identifier, sequence number, data). */
  payload?: string | Uint8Array;
}

const bytesOf = (p: string | Uint8Array | undefined): Uint8Array => (p === undefined ? new Uint8Array(0) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p);

const TCP_FLAG_LETTERS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, '.': 0x10, U: 0x20, E: 0x40, W: 0x80, C: 0x80 };

function tcpFlags(flags: string | number | undefined): number {
  if (flags === undefined) return 0x10;
  if (typeof flags === 'number') return checkRange('tcp.create flags', flags, 0xff);
  let bits = 0;
  for (const c of flags) {
    const bit = TCP_FLAG_LETTERS[c];
    if (bit === undefined) throw rewriteError('tcp.create', `flags '${flags}': '${c}' is not a flag letter (F S R P A U E C, as tcpdump prints them)`);
    bits |= bit;
  }
  return bits;
}

/** A created packet's IP version, from its addresses. */
function isV6(spec: IpFields): boolean {
  const v6 = (a: AddressInput): boolean => (typeof a === 'string' ? a.includes(':') : typeof a === 'object' && typeof a.value === 'bigint');
  const src = v6(spec.src);
  if (src !== v6(spec.dst)) throw rewriteError('create', 'src and dst are of different IP versions');
  return src;
}

/**
 * An IP packet of `proto` around `l4Length` bytes that `write` fills at the offset it is given,
 * dissected into new views (a Packet of link type raw IP, and its IP layer).
 */
function ipPacket(spec: IpFields & { proto: number; rb?: boolean; mf?: boolean; fragOffset?: number; options?: Uint8Array }, l4Length: number, where: string, write: (b: Buffer, off: number) => void): { packet: Packet; ip: Ipv4Packet | Ipv6Packet } {
  const ttl = checkRange(`${where} ttl`, spec.ttl ?? 64, 0xff);
  const tos = checkRange(`${where} tos`, spec.tos ?? 0, 0xff);
  const packet = new Packet();
  const drop = { anomaly: (kind: string): void => {
    throw rewriteError(where, `the packet built does not dissect (${kind})`);
  } };
  if (isV6(spec)) {
    if (l4Length > 0xffff) throw rewriteError(where, `${l4Length} bytes of payload are more than IPv6 carries without a jumbogram (65535)`);
    const b = Buffer.alloc(40 + l4Length);
    writeIpv6Header(b, 0, { src: ipv6Bytes(spec.src, `${where} src`), dst: ipv6Bytes(spec.dst, `${where} dst`), nextHeader: spec.proto, hopLimit: ttl, trafficClass: tos, flowLabel: checkRange(`${where} flowLabel`, spec.flowLabel ?? 0, 0xfffff) }, l4Length);
    write(b, 40);
    packet.point(b, 0, 0, LINKTYPE_RAW, 0);
    const ip = new Ipv6Packet();
    dissectIpv6(ip, packet, b, 0, drop);
    return { packet, ip };
  }
  const options = spec.options;
  if (options !== undefined && (options.length % 4 !== 0 || options.length > 40)) throw rewriteError(`${where} options`, `${options.length} bytes: IPv4 options take a multiple of 4 bytes, at most 40`);
  const hdrLen = 20 + (options?.length ?? 0);
  if (hdrLen + l4Length > 0xffff) throw rewriteError(where, `${hdrLen + l4Length} bytes are more than an IPv4 packet holds (65535)`);
  const fragOffset = checkRange(`${where} fragOffset`, spec.fragOffset ?? 0, 0x1fff * 8);
  if (fragOffset % 8 !== 0) throw rewriteError(`${where} fragOffset`, `${fragOffset} is not a multiple of 8`);
  const b = Buffer.alloc(hdrLen + l4Length);
  writeIpv4Header(b, 0, {
    src: ipv4Value(spec.src, `${where} src`),
    dst: ipv4Value(spec.dst, `${where} dst`),
    proto: spec.proto,
    ttl,
    tos,
    id: checkRange(`${where} id`, spec.id ?? 0, 0xffff),
    ...(spec.rb === undefined ? {} : { rb: spec.rb }),
    ...(spec.df === undefined ? {} : { df: spec.df }),
    ...(spec.mf === undefined ? {} : { mf: spec.mf }),
    fragOffset,
    ...(options === undefined ? {} : { options }),
  }, l4Length);
  write(b, hdrLen);
  packet.point(b, 0, 0, LINKTYPE_RAW, 0);
  const ip = new Ipv4Packet();
  dissectIpv4(ip, packet, b, 0, drop);
  return { packet, ip };
}

function createIp(spec: Ipv4CreateSpec, where: string): Ipv4Packet | Ipv6Packet {
  const payload = bytesOf(spec.payload);
  const { packet, ip } = ipPacket({ ...spec, proto: checkRange(`${where} proto`, spec.proto, 0xff) }, payload.length, where, (b, off) => b.set(payload, off));
  packet.created = { ip, l4: null };
  return ip;
}

/** `ipv4.create({ src, dst, proto, payload… })`: an IPv4 packet around bytes of your own (Haka's ipv4 create test). */
export function createIpv4(spec: Ipv4CreateSpec): Ipv4Packet {
  if (isV6(spec)) throw rewriteError('ipv4.create', 'the addresses are IPv6: use ipv6.create');
  return createIp(spec, 'ipv4.create') as Ipv4Packet;
}

/** `ipv6.create({ src, dst, proto, payload… })`: an IPv6 packet (no extension headers) around bytes of your own. */
export function createIpv6(spec: Ipv4CreateSpec): Ipv6Packet {
  if (!isV6(spec)) throw rewriteError('ipv6.create', 'the addresses are IPv4: use ipv4.create');
  return createIp(spec, 'ipv6.create') as Ipv6Packet;
}

export function createTcp(spec: TcpCreateSpec): TcpPacket {
  const payload = bytesOf(spec.payload);
  const options = spec.options;
  if (options !== undefined && (options.length % 4 !== 0 || options.length > 40)) throw rewriteError('tcp.create options', `${options.length} bytes: TCP options take a multiple of 4 bytes, at most 40`);
  const header = {
    srcport: checkRange('tcp.create srcport', spec.srcport, 0xffff),
    dstport: checkRange('tcp.create dstport', spec.dstport, 0xffff),
    seq: checkRange('tcp.create seq', spec.seq ?? 0, 0xffffffff),
    ack: checkRange('tcp.create ack', spec.ack ?? 0, 0xffffffff),
    flags: tcpFlags(spec.flags),
    window: checkRange('tcp.create window', spec.window ?? 65535, 0xffff),
    urgentPointer: checkRange('tcp.create urgentPointer', spec.urgentPointer ?? 0, 0xffff),
    ...(options === undefined ? {} : { options }),
  };
  const hdrLen = 20 + (options?.length ?? 0);
  const { packet, ip } = ipPacket({ ...spec, proto: IPPROTO_TCP }, hdrLen + payload.length, 'tcp.create', (b, off) => {
    writeTcpHeader(b, off, header);
    b.set(payload, off + hdrLen);
  });
  const seg = new TcpPacket();
  dissectTcp(seg, ip, { anomaly: () => undefined });
  computeTransportChecksum(ip);
  packet.writes = 0;
  packet.created = { ip, l4: seg };
  return seg;
}

export function createUdp(spec: UdpCreateSpec): UdpPacket {
  const payload = bytesOf(spec.payload);
  const header = { srcport: checkRange('udp.create srcport', spec.srcport, 0xffff), dstport: checkRange('udp.create dstport', spec.dstport, 0xffff) };
  const { packet, ip } = ipPacket({ ...spec, proto: IPPROTO_UDP }, 8 + payload.length, 'udp.create', (b, off) => {
    writeUdpHeader(b, off, header, payload.length);
    b.set(payload, off + 8);
  });
  if (spec.checksum === false && ip.version === 6) throw rewriteError('udp.create', 'a UDP checksum is required over IPv6 (RFC 8200 §8.1)');
  const d = new UdpPacket();
  dissectUdp(d, ip, { anomaly: () => undefined });
  if (spec.checksum !== false) computeTransportChecksum(ip);
  packet.writes = 0;
  packet.created = { ip, l4: d };
  return d;
}

export function createIcmp(spec: IcmpCreateSpec): IcmpPacket {
  const payload = bytesOf(spec.payload);
  const header = { type: checkRange('icmp.create type', spec.type, 0xff), code: checkRange('icmp.create code', spec.code ?? 0, 0xff) };
  const v6 = isV6(spec);
  const { packet, ip } = ipPacket({ ...spec, proto: v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP }, 4 + payload.length, 'icmp.create', (b, off) => {
    writeIcmpHeader(b, off, header);
    b.set(payload, off + 4);
  });
  const m = new IcmpPacket();
  dissectIcmp(m, ip, { anomaly: () => undefined });
  computeTransportChecksum(ip);
  packet.writes = 0;
  packet.created = { ip, l4: m };
  return m;
}
