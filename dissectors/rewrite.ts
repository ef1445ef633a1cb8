/**
 * Rules' writes to packet headers, and the checksums they owe. A setter writes the frame's bytes
 * in place and records on the Packet what changed; when the frame leaves the rules (settleWrites,
 * once per frame) the IPv4 header checksum is computed again (20 to 60 bytes: cheaper whole than
 * tracked) and the transport checksum is updated from the words that changed, RFC 1624 eqn. 3:
 * HC' = ~(~HC + ~m + m'). Updating keeps a checksum that was wrong wrong, so a write never
 * launders a corrupt segment (RFC 1624 §1); a written payload or checksum makes it computed whole,
 * as Haka's forge does after any change. keepChecksum() leaves what is there, to craft bad ones.
 */
import { parseIpv4, parseIpv6Into } from '../core/address-text.ts';
import { rewriteError } from '../core/errors.ts';
import { u16 } from './bytes.ts';
import { checksumOf, foldSum, onesSum, writeIpv4HeaderChecksum } from './checksum.ts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.ts';
import type { Ipv4Packet } from './ipv4.ts';
import type { Ipv6Packet } from './ipv6.ts';
import type { Packet } from './packet.ts';

/** The IPv4 header was written: its checksum is computed again. */
export const W_IP_HEADER = 1;
/** A transport header word was written: its checksum is updated by the words' change. */
export const W_L4 = 2;
/** The transport payload or checksum was written: the checksum is computed whole. */
export const W_L4_FULL = 4;
/** keepChecksum() on the IPv4 header. */
export const W_KEEP_IP = 8;
/** keepChecksum() on the transport header. */
export const W_KEEP_L4 = 16;
/** The IP protocol was written: the bytes after the header are no longer what they were, and are left as they are. */
export const W_PROTO = 32;

/** Something was written (a field, a checksum computed on demand): the frame goes out as its bytes are now. */
export const W_WRITTEN = 64;

/** Only the frame's own bytes can be written: a reassembled datagram goes out as the fragments it came in. */
export function writable(packet: Packet, bytes: Buffer, where: string): void {
  if (packet.readOnly) throw rewriteError(where, 'with --pass-through packets go out as they came: nothing is written (run without it to rewrite)');
  if (bytes !== packet.bytes) {
    throw rewriteError(where, "this datagram was reassembled from IP fragments, which go out as they came: its fields cannot be written (drop it, or write the frames' bytes in packet.events.receivePacket)");
  }
}

/** An IPv4 address as text, a uint32, or `ipv4.addr()`; an IPv6 one as text or `ipv6.addr()`. */
export type AddressInput = string | number | { readonly value: number | bigint };

/** An address as the user wrote it, for an error. */
const shown = (a: AddressInput): string => (typeof a === 'string' ? JSON.stringify(a) : typeof a === 'number' ? String(a) : `{ value: ${String(a.value)} }`);

/** An IPv4 address a rule gave (a setter, ipv4.create) as a uint32; PAL_ERR_REWRITE naming `where` when it is none. */
export function ipv4Value(a: AddressInput, where: string): number {
  const n = typeof a === 'string' ? parseIpv4(a) : typeof a === 'number' ? a : typeof a.value === 'number' ? a.value : -1;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw rewriteError(where, `${shown(a)} is not an IPv4 address`);
  return n;
}

/** An IPv6 address a rule gave as its 16 bytes, written into `out`; PAL_ERR_REWRITE naming `where` when it is none. */
export function ipv6Bytes(a: AddressInput, where: string, out = new Uint8Array(16)): Uint8Array {
  if (typeof a === 'object' && typeof a.value === 'bigint') {
    let v = a.value;
    for (let i = 15; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
    return out;
  }
  if (typeof a !== 'string' || !parseIpv6Into(a, out, 0)) throw rewriteError(where, `${shown(a)} is not an IPv6 address`);
  return out;
}

/** `value` is an integer in [0, max]; otherwise PAL_ERR_REWRITE naming the field. */
export function checkRange(where: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw rewriteError(where, `${String(value)} is not an integer from 0 to ${max}`);
  return value;
}

/** Writes the 16-bit word at `at` of a transport header, counting its change toward the checksum. */
export function setL4Word(packet: Packet, bytes: Buffer, at: number, value: number): void {
  const old = u16(bytes, at);
  bytes[at] = value >>> 8;
  bytes[at + 1] = value & 0xff;
  packet.l4Delta += (~old & 0xffff) + value;
  packet.writes |= W_L4;
  packet.rewritten = true;
}

/** Writes one byte of a transport header; `word` is where its 16-bit word starts (an even distance from the header). */
export function setL4Byte(packet: Packet, bytes: Buffer, at: number, word: number, value: number): void {
  const old = u16(bytes, word);
  bytes[at] = value;
  packet.l4Delta += (~old & 0xffff) + u16(bytes, word);
  packet.writes |= W_L4;
  packet.rewritten = true;
}

/** Writes a 32-bit transport field (ports pair, sequence numbers) as two words. */
export function setL4U32(packet: Packet, bytes: Buffer, at: number, value: number): void {
  setL4Word(packet, bytes, at, value >>> 16);
  setL4Word(packet, bytes, at + 2, value & 0xffff);
}

/** An IPv4 header byte or word was written in place: the header checksum is owed. */
export function ipHeaderWritten(packet: Packet): void {
  packet.writes |= W_IP_HEADER;
  packet.rewritten = true;
}

/**
 * Copies `n` bytes of an address to `at`, counting each word's change toward the transport
 * checksum when the pseudo header holds it (`pseudo`).
 */
export function setAddress(packet: Packet, bytes: Buffer, at: number, from: Uint8Array, n: number, pseudo = true): void {
  let delta = 0;
  for (let i = 0; i < n; i += 2) {
    const old = u16(bytes, at + i);
    const word = ((from[i] as number) << 8) | (from[i + 1] as number);
    bytes[at + i] = word >>> 8;
    bytes[at + i + 1] = word & 0xff;
    delta += (~old & 0xffff) + word;
  }
  if (pseudo) packet.pseudoDelta += delta;
  packet.writes |= W_WRITTEN;
  packet.rewritten = true;
}

/**
 * The bytes from `from` to the datagram's end become `data`, in a new frame: the link, IP and
 * transport headers before `from` are kept, anything after the datagram (Ethernet padding)
 * goes, and the IP length is written. The frame and `ip` now hold the new bytes; the caller
 * re-points its transport view and fixes its own length. Returns the new frame.
 */
export function replaceTail(ip: Ipv4Packet | Ipv6Packet, from: number, data: Uint8Array, where: string): Buffer {
  const packet = ip.packet;
  if (ip.truncated) throw rewriteError(where, 'the capture cut this packet short: what follows the cut is not known, so its length cannot change');
  const end = from + data.length;
  const ipLength = end - ip.off;
  const max = ip.version === 4 ? 0xffff : 0xffff + 40;
  if (ipLength > max) throw rewriteError(where, `${data.length} bytes make the packet ${ipLength} bytes long, more than IPv${ip.version} can carry (${max})`);
  const b = Buffer.allocUnsafe(end);
  packet.bytes.copy(b, 0, 0, from);
  b.set(data, from);
  if (ip.version === 4) {
    b.writeUInt16BE(ipLength, ip.off + 2);
    packet.writes |= W_IP_HEADER;
  } else {
    b.writeUInt16BE(ipLength - 40, ip.off + 4);
  }
  packet.bytes = b;
  packet.rewritten = true;
  ip.rebase(b, end);
  return b;
}

/**
 * Where the transport checksum of `ip` sits, and whether it covers a pseudo header; -1 when it
 * cannot be fixed here: a fragment (the segment is in other frames too), a capture cut, a
 * protocol without one, a header that does not fit.
 */
function transportChecksumAt(ip: Ipv4Packet | Ipv6Packet): number {
  if (ip.truncated || ip.isFragment) return -1;
  const off = ip.payloadOffset;
  const proto = ip.proto;
  const at = proto === IPPROTO_TCP ? off + 16 : proto === IPPROTO_UDP ? off + 6 : proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? off + 2 : -1;
  return at < 0 || at + 2 > ip.end ? -1 : at;
}

/** The transport checksum of `ip` computed whole from its bytes, now (computeChecksum()). */
export function computeTransportChecksum(ip: Ipv4Packet | Ipv6Packet): void {
  const at = transportChecksumAt(ip);
  if (at < 0) return;
  const b = ip.bytes;
  const off = ip.payloadOffset;
  const proto = ip.proto;
  // UDP's own length bounds what it covers (bytes past it are not UDP's, RFC 768).
  const end = proto === IPPROTO_UDP ? Math.min(ip.end, off + u16(b, off + 4)) : ip.end;
  b[at] = 0;
  b[at + 1] = 0;
  const initial = proto === IPPROTO_ICMP ? 0 : ip.pseudoHeaderSum(proto, end - off);
  let sum = checksumOf(onesSum(b, off, end, initial));
  // 0 means "no checksum" in UDP: the same sum is sent as its other zero (RFC 768).
  if (proto === IPPROTO_UDP && sum === 0) sum = 0xffff;
  b[at] = sum >>> 8;
  b[at + 1] = sum & 0xff;
  ip.packet.rewritten = true;
  ip.packet.writes = (ip.packet.writes & ~(W_L4 | W_L4_FULL)) | W_WRITTEN;
  ip.packet.l4Delta = 0;
  ip.packet.pseudoDelta = 0;
}

/** The checksums a frame's writes owe, fixed once before it leaves (or is copied to be held). */
export function settleWrites(packet: Packet, ip: Ipv4Packet | Ipv6Packet): void {
  const w = packet.writes;
  if (w === 0 || ip.packet !== packet || ip.bytes !== packet.bytes) return;
  packet.writes = 0;
  const b = packet.bytes;
  if (ip.version === 4 && (w & W_IP_HEADER) !== 0 && (w & W_KEEP_IP) === 0) writeIpv4HeaderChecksum(b, ip.off);
  const l4Delta = packet.l4Delta;
  const pseudoDelta = packet.pseudoDelta;
  packet.l4Delta = 0;
  packet.pseudoDelta = 0;
  if ((w & (W_KEEP_L4 | W_PROTO)) !== 0) return;
  const at = transportChecksumAt(ip);
  if (at < 0) return;
  if ((w & W_L4_FULL) !== 0) {
    computeTransportChecksum(ip);
    return;
  }
  const proto = ip.proto;
  const delta = l4Delta + (proto === IPPROTO_ICMP ? 0 : pseudoDelta);
  if (delta === 0) return;
  const old = u16(b, at);
  // Over IPv4 a zero UDP checksum was never computed (RFC 768): it stays so.
  if (proto === IPPROTO_UDP && old === 0) return;
  let sum = ~foldSum((~old & 0xffff) + delta) & 0xffff;
  if (proto === IPPROTO_UDP && sum === 0) sum = 0xffff;
  b[at] = sum >>> 8;
  b[at + 1] = sum & 0xff;
}
