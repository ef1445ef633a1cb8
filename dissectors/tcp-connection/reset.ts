/**
 * The RSTs of flow.reset() and flow.halfreset(), in Haka's format (tcp_connection.lua
 * `_forgereset`): IP with TTL 64, TCP with RST only, window 0, no options, the sequence number
 * the receiver expects next. Each frame is built whole, behind the triggering frame's link
 * header, so it fits in the same capture and goes out on the same wire.
 */

import { u16, u32 } from '../bytes.ts';
import { internetChecksum, ipv4PseudoSum, ipv6PseudoSum } from '../checksum.ts';
import { IPPROTO_TCP } from '../ip-protocols.ts';
import { TCP_ACK, TCP_RST } from '../tcp-flags.ts';
import { dissectIpv6, Ipv6Packet, writeIpv6Header } from '../ipv6.ts';
import { writeIpv4Header } from '../ipv4.ts';
import { writeTcpHeader } from '../tcp.ts';
import { Packet } from '../packet.ts';
import { writeLinkHeader } from '../link.ts';
import { seqAdd32 } from './serial.ts';
import { FLOW_RESET, type Sender, type TcpFlow } from './flow.ts';
import { OUT_INJECT, type Outbox } from '../flow/outbox.ts';

/** Where the RST goes and what the receiver expects. */
export interface RstSpec {
  /**
   * The triggering frame. Its link header is reused: Ethernet (VLAN tags kept) with the MACs
   * swapped when the RST goes the other way; SLL/SLL2 with the packet type mirrored and the
   * (unknown) peer address cleared; null/loopback as is; raw IP has none.
   */
  frame: Buffer;
  linkType: number;
  /** Where the IP header starts in `frame` (the link dissector's offset). */
  linkHeaderLength: number;
  /** true: the RST travels in the same direction as the triggering frame; false: the opposite one. */
  sameDirection: boolean;
  /** The sequence number the receiver expects next (its rcv.nxt: the sender side's snd.nxt counting only forwarded bytes). */
  seq: number;
  /**
   * Makes it RST|ACK acknowledging `ack`: the answer to a SYN nobody answered yet
   * (RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>). Without it: RST only, ack 0.
   */
  ack?: number;
  /**
   * The triggering segment's ports (source, destination as it travelled). Read from its TCP
   * header when absent; give them when that header is not in `frame` (a reassembled fragment).
   */
  srcport?: number;
  dstport?: number;
}

const IPV4_HEADER_LENGTH = 20;
const IPV6_HEADER_LENGTH = 40;
const TCP_HEADER_LENGTH = 20;
const TTL = 64;

/** A view to walk a trigger's IPv6 header chain with (its counts go nowhere: the engine counted the packet). */
const trigger6 = { view: new Ipv6Packet(), packet: new Packet(), stats: { anomaly: (): void => undefined } };

/**
 * Builds one RST frame: the link header, IPv4 (TTL 64, DF as the trigger, id 0, no options) or
 * IPv6 (hop limit 64, no extension headers), TCP with flags R only (RA when `ack` is given),
 * ack 0, window 0, no options; IP and TCP checksums valid. Returns a new Buffer: it outlives the
 * triggering packet. Call it once per RST (Haka sends server→client first, then client→server).
 */
export function craftRst(spec: RstSpec): Buffer {
  const { frame, linkHeaderLength: ipOff, sameDirection } = spec;
  const version = (frame[ipOff] as number) >> 4;
  if (version !== 4 && version !== 6) throw new RangeError(`craftRst: the trigger is not IP (version ${version} at byte ${ipOff})`);
  const v6 = version === 6;
  const ipLen = v6 ? IPV6_HEADER_LENGTH : IPV4_HEADER_LENGTH;
  const out = Buffer.alloc(ipOff + ipLen + TCP_HEADER_LENGTH);
  writeLinkHeader(out, spec);

  // Source and destination of the trigger, and where its TCP header is.
  let srcOff: number;
  let dstOff: number;
  let tcpOff: number;
  if (v6) {
    srcOff = ipOff + 8;
    // The extension headers walked as the dissector walks them (the routing header's final
    // destination, RFC 8200 §8.1); a later fragment carries no TCP header.
    const v = trigger6.view;
    const ok = dissectIpv6(v, trigger6.packet, frame, ipOff, trigger6.stats);
    dstOff = ok ? v.finalDestinationOffset : ipOff + 24;
    const laterFragment = v.fragHeaderOffset >= 0 && (u16(frame, v.fragHeaderOffset + 2) & 0xfff8) !== 0;
    tcpOff = ok && v.proto === IPPROTO_TCP && !laterFragment ? v.payloadOffset : frame.length;
  } else {
    srcOff = ipOff + 12;
    dstOff = ipOff + 16;
    // A later fragment carries no TCP header: the ports must come from the spec.
    const noTcpHeader = (u16(frame, ipOff + 6) & 0x1fff) !== 0 || frame[ipOff + 9] !== IPPROTO_TCP;
    tcpOff = noTcpHeader ? frame.length : ipOff + ((frame[ipOff] as number) & 0x0f) * 4;
  }
  const srcport = spec.srcport ?? (tcpOff + 4 <= frame.length ? u16(frame, tcpOff) : -1);
  const dstport = spec.dstport ?? (tcpOff + 4 <= frame.length ? u16(frame, tcpOff + 2) : -1);
  if (srcport < 0 || dstport < 0) throw new RangeError('craftRst: the trigger has no TCP header in its frame; pass srcport and dstport');
  const addrLen = v6 ? 16 : 4;
  const from = sameDirection ? srcOff : dstOff;
  const to = sameDirection ? dstOff : srcOff;

  const ip = ipOff;
  if (v6) {
    writeIpv6Header(out, ip, { src: frame.subarray(from, from + addrLen), dst: frame.subarray(to, to + addrLen), nextHeader: IPPROTO_TCP, hopLimit: TTL }, TCP_HEADER_LENGTH);
  } else {
    // id 0; DF as the trigger had it, never MF or an offset.
    writeIpv4Header(out, ip, { src: u32(frame, from), dst: u32(frame, to), proto: IPPROTO_TCP, ttl: TTL, df: ((frame[ip + 6] as number) & 0x40) !== 0 }, TCP_HEADER_LENGTH);
  }

  const t = ip + ipLen;
  writeTcpHeader(out, t, {
    srcport: sameDirection ? srcport : dstport,
    dstport: sameDirection ? dstport : srcport,
    seq: spec.seq,
    ack: spec.ack ?? 0,
    flags: spec.ack === undefined ? TCP_RST : TCP_RST | TCP_ACK,
    window: 0,
  });
  // The checksum is computed over its own field, which the writer left 0.
  const pseudo = v6
    ? ipv6PseudoSum(out, ip + 8, ip + 24, IPPROTO_TCP, TCP_HEADER_LENGTH)
    : ipv4PseudoSum(out, ip, IPPROTO_TCP, TCP_HEADER_LENGTH);
  out.writeUInt16BE(internetChecksum(out, t, t + TCP_HEADER_LENGTH, pseudo), t + 16);
  return out;
}

/** The sequence number a side's receiver expects next, as the receiver numbers it (after stream edits). */
function sentNxt(sender: Sender): number {
  return (sender.edits === null ? sender.forwardedNxt : sender.edits.sentSeq(sender.forwardedNxt)) >>> 0;
}

/** The frame RSTs are built behind, and where its IP header starts. */
export interface RstTemplate {
  readonly frame: Buffer;
  readonly linkType: number;
  readonly linkHeaderLength: number;
}

/**
 * The RSTs of a reset (or half-reset) flow, into the outbox: the sequence number each receiver
 * expects (RFC 5961 §3.2), counting only what was forwarded; server→client first, then
 * client→server (Haka's order). `up`: the template travelled client→server. During the
 * handshake the client is answered as a refused SYN: RST|ACK acknowledging it (RFC 9293
 * §3.10.7.3); `synSeq` is the SYN's sequence number when the tracker has not recorded it yet.
 */
export function flowResets(flow: TcpFlow, t: RstTemplate, up: boolean, synSeq: number, out: Outbox): void {
  // The ports come from the flow: a template that is an IP datagram's last fragment has no TCP header.
  const link = {
    frame: t.frame,
    linkType: t.linkType,
    linkHeaderLength: t.linkHeaderLength,
    srcport: up ? flow.clientPort : flow.serverPort,
    dstport: up ? flow.serverPort : flow.clientPort,
  };
  if (flow.verdict === FLOW_RESET) {
    // To the client, travelling server→client.
    const answered = flow.down.forwarded;
    const isn = flow.up.synSeen ? flow.up.isn : synSeq;
    // What the receiver expects next, in its numbering where the stream was edited.
    const bytes = answered
      ? craftRst({ ...link, sameDirection: !up, seq: sentNxt(flow.down) })
      : craftRst({ ...link, sameDirection: !up, seq: 0, ack: seqAdd32(isn, 1) >>> 0 });
    out.push(OUT_INJECT, { bytes, linkType: t.linkType });
  }
  // To the server, travelling client→server: only if it has heard from the client at all.
  if (flow.up.forwarded) out.push(OUT_INJECT, { bytes: craftRst({ ...link, sameDirection: up, seq: sentNxt(flow.up) }), linkType: t.linkType });
}
