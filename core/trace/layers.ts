/** One line per decoded layer for a frame's trace, tcpdump's way (`tcp 40000 > 80 [S] seq 1000 len 0`). */
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { LinkLayer } from '../../dissectors/link.ts';
import type { Ipv4Packet } from '../../dissectors/ipv4.ts';
import type { Ipv6Packet } from '../../dissectors/ipv6.ts';
import type { TcpPacket } from '../../dissectors/tcp.ts';
import type { UdpPacket } from '../../dissectors/udp.ts';
import type { IcmpPacket } from '../../dissectors/icmp.ts';

type Layers = { link: LinkLayer; ipv4: Ipv4Packet; ipv6: Ipv6Packet; tcp: TcpPacket; udp: UdpPacket; icmp: IcmpPacket };

/** tcpdump's flag letters: S F R P U E W, and '.' for ACK. */
function tcpFlags(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x20) s += 'U';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'W';
  if (f & 0x10) s += '.';
  return s === '' ? 'none' : s;
}

function summary<L extends keyof Layers>(layer: L, v: Layers[L]): string {
  switch (layer) {
    case 'link': {
      const l = v as LinkLayer;
      return `ethertype 0x${l.etherType.toString(16).padStart(4, '0')}${l.vlanIds.length > 0 ? ` vlan ${l.vlanIds.join('.')}` : ''}, ip at ${l.offset}`;
    }
    case 'ipv4': {
      const ip = v as Ipv4Packet;
      return `${ip.src} > ${ip.dst} proto ${ip.proto} len ${ip.len} ttl ${ip.ttl} id ${ip.id}${ip.isFragment ? ' fragment' : ''}`;
    }
    case 'ipv6': {
      const ip = v as Ipv6Packet;
      return `${ip.src} > ${ip.dst} next ${ip.proto} len ${ip.len}${ip.isFragment ? ' fragment' : ''}`;
    }
    case 'tcp': {
      const t = v as TcpPacket;
      return `${t.srcport} > ${t.dstport} [${tcpFlags(t.flagsByte)}] seq ${t.seqRaw >>> 0} ack ${t.ack} win ${t.window} len ${t.payloadLength}`;
    }
    case 'udp': {
      const u = v as UdpPacket;
      return `${u.srcport} > ${u.dstport} len ${u.length}`;
    }
    default: {
      const i = v as IcmpPacket;
      return `type ${i.type} code ${i.code}`;
    }
  }
}

export function traceLayer<L extends keyof Layers>(trace: FrameTrace, layer: L, view: Layers[L]): void {
  trace.steps.push({ step: 'layer', layer, summary: summary(layer, view) });
}
