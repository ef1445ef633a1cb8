/**
 * Segments of a connection whose stream was edited (stream-edits.ts), made to match: the edited
 * direction's segments renumbered and carrying their edited bytes, the other direction's
 * acknowledgments and SACK blocks numbered back to what the sender sent. Works on the views of
 * the frame being judged, or of a held frame's copy as it is released (its own views, here).
 */
import { Packet } from '../packet.ts';
import { dissectIpv4, Ipv4Packet } from '../ipv4.ts';
import { dissectIpv6, Ipv6Packet } from '../ipv6.ts';
import { setL4U32, settleWrites, W_L4_FULL } from '../rewrite.ts';
import { dissectTcp, TCPOPT_SACK, TcpPacket } from '../tcp.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../tcp-flags.ts';
import { IPPROTO_TCP } from '../ip-protocols.ts';
import type { KeptFrame } from './hold.ts';
import type { StreamEdits } from './stream-edits.ts';

/** The receiver's acknowledgment and SACK edges of an edited direction, numbered as its sender counts. */
export function ackBack(tcp: TcpPacket, edits: StreamEdits): void {
  if ((tcp.flagsByte & TCP_ACK) !== 0) tcp.ack = edits.originalSeq(tcp.ackRaw) >>> 0;
  for (const o of tcp.options) {
    if (o.kind !== TCPOPT_SACK) continue;
    const at = o.data.byteOffset - tcp.bytes.byteOffset;
    // Blocks of two 32-bit edges (RFC 2018 §3).
    for (let i = 0; i + 4 <= o.data.length; i += 4) setL4U32(tcp.packet, tcp.bytes, at + i, edits.originalSeq(o.data.readInt32BE(i)) >>> 0);
  }
}

/**
 * A segment of the edited direction as the receiver must get it: renumbered, and its bytes
 * edited where an edit falls in them (its length may change: the frame is then made anew).
 * Returns whether anything changed.
 */
export function editSegment(tcp: TcpPacket, edits: StreamEdits): boolean {
  const seq = tcp.seqRaw;
  const s = edits.offsetOf(seq);
  const len = tcp.payloadLength;
  const fin = (tcp.flagsByte & TCP_FIN) !== 0;
  const sent = edits.sentSeq(seq);
  const touched = edits.touches(s, s + len, fin);
  if (!touched && sent === seq) return false;
  if (touched) tcp.rewriteData(edits.apply(Buffer.from(tcp.payload), s, fin));
  if (sent !== seq) tcp.seq = sent >>> 0;
  return true;
}

/** Views to edit a held frame's copy with, as it is released. */
const copy = { packet: new Packet(), ipv4: new Ipv4Packet(), ipv6: new Ipv6Packet(), tcp: new TcpPacket() };
const quiet = { anomaly: (): void => undefined };

/** A copy's checksums fixed; one the kernel left unfinished (GSO) computed whole, as the engine does for the frame in hand. */
function settle(packet: Packet, ip: Ipv4Packet | Ipv6Packet): void {
  if (packet.checksumPartial) packet.writes |= W_L4_FULL;
  settleWrites(packet, ip);
}

/** A held frame as it goes out after edits: the frame itself, and the segments an insertion added after it. */
export interface EditedFrames {
  readonly frame: KeptFrame;
  /** Frames to inject after it, each a copy of its headers carrying the next piece of its bytes. */
  readonly more: readonly Buffer[];
}

const NONE: readonly Buffer[] = [];

/**
 * The largest segment the receiver takes: the MSS its SYN offered, or the default when it
 * offered none (RFC 9293 §3.7.1: 536 bytes over IPv4, RFC 8200 §5: 1220 over IPv6).
 */
export function segmentLimit(mss: number, version: number): number {
  return mss > 0 ? mss : version === 6 ? 1220 : 536;
}

/**
 * A held frame of the edited direction as it is released: the same frame, or a new one edited
 * (its checksums fixed). An insertion that makes it longer than `mss` (the receiver's, see
 * segmentLimit) cuts it, unless it came longer already (GSO): the frame keeps the first piece, copies of it carry the rest, each
 * numbered after the one before, its FIN and PSH on the last.
 */
export function editKept(frame: KeptFrame, edits: StreamEdits, mss: number): EditedFrames {
  // A segment that came in IP fragments goes out as those fragments: it cannot be edited.
  if (frame.parts !== undefined) return { frame, more: NONE };
  const { packet, tcp } = copy;
  packet.point(Buffer.from(frame.bytes), frame.secs, frame.nsecs, frame.linkType, frame.id, false, frame.checksumPartial === true);
  const b = packet.bytes;
  const version = (b[frame.linkOffset] as number) >> 4;
  const ip = version === 4 ? copy.ipv4 : copy.ipv6;
  const ok = version === 4 ? dissectIpv4(copy.ipv4, packet, b, frame.linkOffset, quiet) : version === 6 && dissectIpv6(copy.ipv6, packet, b, frame.linkOffset, quiet);
  if (!ok || ip.proto !== IPPROTO_TCP || !dissectTcp(tcp, ip, quiet)) return { frame, more: NONE };
  const came = tcp.payloadLength;
  if (!editSegment(tcp, edits)) return { frame, more: NONE };
  const limit = segmentLimit(mss, version);
  const more: Buffer[] = [];
  // Only a segment the receiver would have taken is cut: a larger one is a GSO super-packet
  // (inline, with inline.gso), which the kernel cuts to its segment size as it sends it.
  if (tcp.payloadLength > limit && came <= limit) {
    const data = Buffer.from(tcp.payload);
    const seq = tcp.seq;
    const flags = tcp.flagsByte;
    // The pieces after the first, each from the frame as it is now: headers, then its bytes.
    for (let at = limit; at < data.length; at += limit) {
      const last = at + limit >= data.length;
      tcp.rewriteData(data.subarray(at, Math.min(at + limit, data.length)));
      tcp.seq = (seq + at) >>> 0;
      tcp.flagsByte = last ? flags : flags & ~(TCP_FIN | TCP_PSH);
      settle(packet, ip);
      more.push(Buffer.from(packet.bytes));
    }
    tcp.rewriteData(data.subarray(0, limit));
    tcp.seq = seq;
    tcp.flagsByte = flags & ~(TCP_FIN | TCP_PSH);
  }
  settle(packet, ip);
  return { frame: { ...frame, bytes: packet.bytes, rewritten: true }, more };
}
