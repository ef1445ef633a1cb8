/**
 * Where a frame's headers are, for the mutations that aim past the link layer: the IP header's
 * offset by link type, a TCP or UDP packet's payload, and the checksums to write again once a
 * payload has changed (so that checksum validation lets the new bytes reach the dissectors).
 */

/** Offset of the IP header in a frame of this link type, or -1. */
export function ipOffset(data: Uint8Array, linkType: number): number {
  switch (linkType) {
    case 1: {
      if (data.length < 14) return -1;
      const type = ((data[12] ?? 0) << 8) | (data[13] ?? 0);
      return type === 0x8100 || type === 0x88a8 ? 18 : 14;
    }
    case 0:
    case 109:
      return 4;
    case 12:
    case 101:
    case 228:
    case 229:
      return 0;
    case 113:
      return 16;
    case 276:
      return 20;
    default:
      return -1;
  }
}

/** The ones' complement sum of data[from, to) (RFC 1071), folded, added to `sum`. */
function onesSum(data: Uint8Array, from: number, to: number, sum = 0): number {
  for (let o = from; o + 1 < to; o += 2) sum += ((data[o] ?? 0) << 8) | (data[o + 1] ?? 0);
  if ((to - from) % 2 === 1) sum += (data[to - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum of data[from, to). */
export function ones16(data: Uint8Array, from: number, to: number): number {
  return ~onesSum(data, from, to) & 0xffff;
}

/** A whole, unfragmented TCP or UDP packet with a payload: where its parts are in the frame. */
export interface Transport {
  ip: number;
  v6: boolean;
  /** The TCP or UDP header. */
  l4: number;
  proto: 6 | 17;
  /** The payload is data[start, end); what follows `end` is link padding. */
  start: number;
  end: number;
}

/** The transport layout of a frame, or null: not IP, a fragment, cut short, or no payload. */
export function transportOf(data: Buffer, linkType: number): Transport | null {
  const ip = ipOffset(data, linkType);
  if (ip < 0 || data.length < ip + 20) return null;
  const version = (data[ip] ?? 0) >> 4;
  let l4: number;
  let proto: number;
  let end: number;
  if (version === 4) {
    const ihl = ((data[ip] ?? 0) & 0xf) * 4;
    if (ihl < 20 || (data.readUInt16BE(ip + 6) & 0x3fff) !== 0) return null;
    l4 = ip + ihl;
    proto = data[ip + 9] ?? -1;
    end = ip + data.readUInt16BE(ip + 2);
  } else if (version === 6) {
    if (data.length < ip + 40) return null;
    l4 = ip + 40;
    proto = data[ip + 6] ?? -1;
    end = l4 + data.readUInt16BE(ip + 4);
  } else {
    return null;
  }
  // A checksum covers every byte: a packet cut short (snaplen) cannot be given a right one.
  if (end > data.length || end <= l4) return null;
  let start: number;
  if (proto === 6) {
    if (l4 + 20 > end) return null;
    start = l4 + ((data[l4 + 12] ?? 0) >> 4) * 4;
    if (start < l4 + 20) return null;
  } else if (proto === 17) {
    start = l4 + 8;
  } else {
    return null;
  }
  if (start >= end) return null;
  return { ip, v6: version === 6, l4, proto, start, end };
}

/** Writes the lengths (UDP, IP) for a payload now ending at `t.end`, and the checksums again. */
export function fixTransport(data: Buffer, t: Transport): void {
  if (t.v6) {
    data.writeUInt16BE(t.end - t.l4, t.ip + 4);
  } else {
    data.writeUInt16BE(t.end - t.ip, t.ip + 2);
    data.writeUInt16BE(0, t.ip + 10);
    data.writeUInt16BE(ones16(data, t.ip, t.l4), t.ip + 10);
  }
  if (t.proto === 17) data.writeUInt16BE(t.end - t.l4, t.l4 + 4);
  const at = t.proto === 6 ? t.l4 + 16 : t.l4 + 6;
  data.writeUInt16BE(0, at);
  // The pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1): addresses, protocol, transport length.
  let sum = t.v6 ? onesSum(data, t.ip + 8, t.ip + 40) : onesSum(data, t.ip + 12, t.ip + 20);
  sum += t.proto + (t.end - t.l4);
  const c = ~onesSum(data, t.l4, t.end, sum) & 0xffff;
  // UDP sends a computed 0 as 0xffff: 0 means no checksum (RFC 768).
  data.writeUInt16BE(c === 0 && t.proto === 17 ? 0xffff : c, at);
}
