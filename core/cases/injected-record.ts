/**
 * What a crafted packet (a RST palisade sent) says in expect.json terms: to which side of its
 * connection it went, its TCP flags, the input frame it followed, and the header fields a case
 * may check (sequence numbers, window, TTL, 802.1Q tags). Decoded with palisade's own
 * dissectors, as the engine would read the packet.
 */
import { Packet } from '../../dissectors/packet.ts';
import { Stats } from '../stats.ts';
import type { FlowRecord } from '../../dissectors/flow/record.ts';
import { LinkLayer, dissectLink } from '../../dissectors/link.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../dissectors/ethertypes.ts';
import { Ipv4Packet, dissectIpv4 } from '../../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../../dissectors/ipv6.ts';
import { IPPROTO_TCP } from '../../dissectors/ip-protocols.ts';
import { TcpPacket, dissectTcp } from '../../dissectors/tcp.ts';

// A type, not an interface: it is a plain record that the matcher reads as Fields.
export type InjectedRecord = {
  /** 'client' or 'server' of the connection it belongs to; the destination `ip:port` if no flow record matches. */
  to: string;
  /** The packet builder's letters (testing/packets.ts), in its order: 'R', 'RA', 'FA'… */
  flags: string;
  /** The input frame palisade was handling when it sent the packet. */
  after?: number;
  seq: number;
  ack: number;
  window: number;
  ttl: number;
  /** 802.1Q/802.1ad ids, outermost first; [] when untagged. A RST must carry its flow's tags to reach the right VLAN. */
  vlan: number[];
};

/** Flag letters by bit, FIN (0x01) first, as `tcp({ flags })` takes them. */
const FLAG_LETTERS = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'] as const;

/**
 * Decodes one crafted frame. `flows` are the replay's flow records: the side whose address and
 * port is the packet's destination is the side it went to. Undefined when the frame is no
 * TCP/IP packet palisade can read (it never crafts one).
 */
export function injectedRecord(
  frame: { bytes: Buffer; linkType: number; after?: number },
  flows: readonly FlowRecord[],
): InjectedRecord | undefined {
  const stats = new Stats();
  const packet = new Packet();
  const link = new LinkLayer();
  packet.point(frame.bytes, 0, 0, frame.linkType, 0);
  if (!dissectLink(frame.linkType, frame.bytes, link, stats)) return undefined;
  let ip: Ipv4Packet | Ipv6Packet;
  let ttl: number;
  if (link.etherType === ETHERTYPE_IPV4) {
    const v4 = new Ipv4Packet();
    if (!dissectIpv4(v4, packet, frame.bytes, link.offset, stats)) return undefined;
    ip = v4;
    ttl = v4.ttl;
  } else if (link.etherType === ETHERTYPE_IPV6) {
    const v6 = new Ipv6Packet();
    if (!dissectIpv6(v6, packet, frame.bytes, link.offset, stats)) return undefined;
    ip = v6;
    ttl = v6.hopLimit;
  } else {
    return undefined;
  }
  const tcp = new TcpPacket();
  if (ip.proto !== IPPROTO_TCP || !dissectTcp(tcp, ip, stats)) return undefined;

  const dst = ip.dst;
  const dstport = tcp.dstport;
  const src = ip.src;
  const srcport = tcp.srcport;
  let to = `${dst.includes(':') ? `[${dst}]` : dst}:${dstport}`;
  for (const f of flows) {
    if (f['id.orig_h'] === dst && f['id.orig_p'] === dstport && f['id.resp_h'] === src && f['id.resp_p'] === srcport) to = 'client';
    else if (f['id.resp_h'] === dst && f['id.resp_p'] === dstport && f['id.orig_h'] === src && f['id.orig_p'] === srcport) to = 'server';
    else continue;
    break;
  }
  const bits = tcp.flagsByte;
  return {
    to,
    flags: FLAG_LETTERS.filter((_, i) => (bits & (1 << i)) !== 0).join(''),
    ...(frame.after === undefined ? {} : { after: frame.after }),
    seq: tcp.seq,
    ack: tcp.ack,
    window: tcp.window,
    ttl,
    vlan: link.vlanIds,
  };
}
