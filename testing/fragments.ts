/**
 * IP fragmentation for tests: splits an IPv4 or IPv6 packet built by testing/packets.ts into
 * fragments as a router or the sending host would (RFC 791 §3.2, RFC 8200 §4.5).
 *
 * ```ts
 * const frames = fragment(udp({ src, dst, srcport: 5000, dstport: 53, payload }), 16).map((ip) => ethernet(ip));
 * ```
 */
import { writeIpv4HeaderChecksum } from '../dissectors/checksum.ts';

export interface FragmentOptions {
  /** The IPv4 identification (16 bits) or IPv6 fragment identification (32 bits). Default: the IPv4 packet's own id; 1 for IPv6. */
  id?: number;
}

/** IPv6 next-header values that must stay in the unfragmentable part (RFC 8200 §4.5). */
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;

/**
 * Splits `packet` (an IP packet, no link layer) into fragments carrying at most `size` bytes of
 * its payload each; `size` is a multiple of 8, as fragment offsets count 8-byte units. A packet
 * whose payload fits in one fragment still comes back as one fragment (offset 0, no MF), which
 * is not a fragment at all for IPv4 and an atomic fragment for IPv6.
 */
export function fragment(packet: Uint8Array, size: number, options: FragmentOptions = {}): Buffer[] {
  if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) {
    throw new RangeError(`fragment size ${size} is not a positive multiple of 8 (offsets count 8-byte units)`);
  }
  const bytes = Buffer.from(packet);
  const version = (bytes[0] ?? 0) >> 4;
  if (version === 4) return fragmentIpv4(bytes, size, options.id);
  if (version === 6) return fragmentIpv6(bytes, size, options.id ?? 1);
  throw new RangeError(`fragment(): the packet is IP version ${version}, not 4 or 6`);
}

function pieces(payload: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length || out.length === 0; off += size) out.push(payload.subarray(off, off + size));
  return out;
}

function fragmentIpv4(bytes: Buffer, size: number, id: number | undefined): Buffer[] {
  const hdrLen = ((bytes[0] as number) & 0x0f) * 4;
  const header = bytes.subarray(0, hdrLen);
  const payload = bytes.subarray(hdrLen, bytes.readUInt16BE(2));
  // Only options with the copied flag go into the fragments after the first (RFC 791 §3.1).
  const laterHeader = Buffer.concat([header.subarray(0, 20), copiedOptions(header.subarray(20))]);
  const parts = pieces(payload, size);
  return parts.map((part, i) => {
    const h = i === 0 ? header : laterHeader;
    const b = Buffer.concat([h, part]);
    b[0] = 0x40 | (h.length / 4);
    b.writeUInt16BE(b.length, 2);
    if (id !== undefined) b.writeUInt16BE(id & 0xffff, 4);
    // DF is cleared: a packet that may not be fragmented has no fragments.
    const more = i < parts.length - 1;
    b.writeUInt16BE((more ? 0x2000 : 0) | ((i * size) / 8), 6);
    writeIpv4HeaderChecksum(b, 0);
    return b;
  });
}

/** The options whose type has the copied bit (0x80), padded with EOL to a 4-byte boundary. */
function copiedOptions(options: Buffer): Buffer {
  const kept: Buffer[] = [];
  for (let off = 0; off < options.length; ) {
    const type = options[off] as number;
    if (type === 0) break;
    if (type === 1) {
      off++;
      continue;
    }
    const len = Math.max(2, options[off + 1] ?? 2);
    if (type & 0x80) kept.push(options.subarray(off, off + len));
    off += len;
  }
  const all = Buffer.concat(kept);
  return Buffer.concat([all, Buffer.alloc((4 - (all.length % 4)) % 4)]);
}

function fragmentIpv6(bytes: Buffer, size: number, id: number): Buffer[] {
  const nextHeader = bytes[6] as number;
  if (nextHeader === IPV6_HOP_BY_HOP || nextHeader === IPV6_ROUTING || nextHeader === IPV6_FRAGMENT) {
    throw new RangeError(`fragment(): IPv6 next header ${nextHeader} must stay unfragmented; build the fragments with ipv6() instead`);
  }
  const payload = bytes.subarray(40, 40 + bytes.readUInt16BE(4));
  const parts = pieces(payload, size);
  return parts.map((part, i) => {
    const b = Buffer.alloc(48 + part.length);
    bytes.copy(b, 0, 0, 40);
    b.writeUInt16BE(8 + part.length, 4);
    b[6] = IPV6_FRAGMENT;
    // Fragment header: next header, reserved, offset (13 bits) << 3 | M, identification.
    b[40] = nextHeader;
    b.writeUInt16BE((((i * size) / 8) << 3) | (i < parts.length - 1 ? 1 : 0), 42);
    b.writeUInt32BE(id >>> 0, 44);
    part.copy(b, 48);
    return b;
  });
}
