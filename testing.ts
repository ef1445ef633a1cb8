/** `palisade/testing`: replay rule sets in vitest, and build packets byte by byte. */
export { replay } from './core/replay.ts';
export type { ReplayOptions, ReplayResult, OutputPacket } from './core/replay.ts';
// Named for what they build: `tcp`, `udp`, `ipv4`… are the event namespaces of 'palisade'.
export { ethernet, ipv4 as ipv4Packet, ipv6 as ipv6Packet, tcp as tcpSegment, udp as udpDatagram, icmp as icmpMessage } from './testing/packets.ts';
export type { EthernetSpec, Ipv4Spec, Ipv6Spec, TcpSpec, UdpSpec, IcmpSpec } from './testing/packets.ts';
export { fragment } from './testing/fragments.ts';
export type { FragmentOptions } from './testing/fragments.ts';
export { tcpSession, udpExchange, pcap, TcpSession, UdpExchange } from './testing/session.ts';
export type {
  SessionDirection,
  TcpSessionOptions,
  UdpExchangeOptions,
  UdpSendOptions,
  SendOptions,
  ResendOptions,
  SegmentOptions,
  PcapOptions,
} from './testing/session.ts';
