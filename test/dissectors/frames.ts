/**
 * Real frames for the dissector tests, captured with tcpdump on a veth pair between two network
 * namespaces (MTU 1280, checksum offload off unless noted) and on lo, with the values tshark 4.0
 * decoded from them (`-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE`).
 * Plus a helper that runs a frame through the whole stateless chain as the engine does.
 */

import { Packet } from '../../dissectors/packet.ts';
import { Stats } from '../../core/stats.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../dissectors/ethertypes.ts';
import { IcmpPacket, dissectIcmp } from '../../dissectors/icmp.ts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../dissectors/ip-protocols.ts';
import { Ipv4Packet, dissectIpv4 } from '../../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../../dissectors/ipv6.ts';
import { LinkLayer, dissectLink } from '../../dissectors/link.ts';
import { TcpPacket, dissectTcp } from '../../dissectors/tcp.ts';
import { UdpPacket, dissectUdp } from '../../dissectors/udp.ts';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const ETH_V4 = '1ae1fc2d7637 9aefb5002dd5 0800';
const ETH_V6 = '1ae1fc2d7637 9aefb5002dd5 86dd';
const ETH_V4_BACK = '9aefb5002dd5 1ae1fc2d7637 0800';
const ETH_V6_BACK = '9aefb5002dd5 1ae1fc2d7637 86dd';

/** TCP SYN 10.99.0.1:47222 → 10.99.0.2:80, MSS, SACK_PERM, timestamps, WS. */
export const tcp4Syn = hex(
  ETH_V4 +
    '4500003c6dc840004006b82b0a6300010a630002' +
    'b87600500841ac6000000000a002fbe04d540000020404d80402080a43223a51000000000103030a',
);
/** TCP PSH,ACK with `GET / HTTP/1.0\r\nHost: palisade\r\n\r\n` (34 bytes). */
export const tcp4Get = hex(
  ETH_V4 +
    '450000566dca40004006b80f0a6300010a630002' +
    'b87600500841ac61c535e5348018003fb0ab00000101080a43223a53485a3cfd' +
    '474554202f20485454502f312e300d0a486f73743a2070616c69736164650d0a0d0a',
);
/** TCP SYN [fd99::1]:33664 → [fd99::2]:80. */
export const tcp6Syn = hex(
  ETH_V6 +
    '60033f8900280640fd990000000000000000000000000001fd990000000000000000000000000002' +
    '838000506cb3b4d200000000a002fc943f860000020404c40402080a217c4ac9000000000103030a',
);
/** TCP PSH,ACK over IPv6 with the same GET. */
export const tcp6Get = hex(
  ETH_V6 +
    '60033f8900420640fd990000000000000000000000000001fd990000000000000000000000000002' +
    '838000506cb3b4d37193f2ba80180040611600000101080a217c4ac9ff490e92' +
    '474554202f20485454502f312e300d0a486f73743a2070616c69736164650d0a0d0a',
);
/** UDP 10.99.0.1:34616 → 10.99.0.2:7, `udp checksummed`. */
export const udp4 = hex(
  ETH_V4 + '4500002b5a2340004011cbd60a6300010a630002' + '873800070017032175647020636865636b73756d6d6564',
);
/** ICMP port unreachable (TOS 0xc0, no DF) quoting udp4. */
export const icmp4Unreachable = hex(
  ETH_V4_BACK +
    '45c00047147c0000400150b20a6300020a630001' +
    '030311ee00000000' +
    '4500002b5a2340004011cbd60a6300010a630002873800070017032175647020636865636b73756d6d6564',
);
/** UDP [fd99::1]:59930 → [fd99::2]:7, `udp6 checksummed`. */
export const udp6 = hex(
  ETH_V6 +
    '600cecbd00181140fd990000000000000000000000000001fd990000000000000000000000000002' +
    'ea1a0007001802507564703620636865636b73756d6d6564',
);
/** ICMPv6 port unreachable quoting udp6. */
export const icmp6Unreachable = hex(
  ETH_V6_BACK +
    '600ca03700483a40fd990000000000000000000000000002fd990000000000000000000000000001' +
    '0104a54900000000' +
    '600cecbd00181140fd990000000000000000000000000001fd990000000000000000000000000002ea1a0007001802507564703620636865636b73756d6d6564',
);
/** ICMP echo request id 0x1234 seq 1, `palisade-ping-v4`. */
export const icmp4Echo = hex(
  ETH_V4 + '4500002cfc504000400129b80a6300010a630002' + '0800bcf81234000170616c69736164652d70696e672d7634',
);
/** ICMPv6 echo request id 0x4321 seq 7, `palisade-ping-v6`. */
export const icmp6Echo = hex(
  ETH_V6 +
    '600192c400183a40fd990000000000000000000000000001fd990000000000000000000000000002' +
    '8000187a4321000770616c69736164652d70696e672d7636',
);
/** MLDv2 report :: → ff02::16 behind a hop-by-hop header (router alert): ICMPv6 after an extension. */
export const mldHopByHop = hex(
  '333300000016 9aefb5002dd5 86dd' +
    '600000000038000100000000000000000000000000000000ff020000000000000000000000000016' +
    '3a00050200000100' +
    '8f003f9a0000000204000000ff0200000000000000000001ff002dd504000000ff0200000000000000000001ff000001',
);
/** TCP RST,ACK 10.99.0.2:9 → 10.99.0.1:57108 (window 0). */
export const tcp4Rst = hex(
  ETH_V4_BACK + '4500002800004000400626080a6300020a630001' + '0009df1400000000f373db0c50140000ed690000',
);
/** Captured on the sender with checksum offload on: the TCP checksum is a partial one (tshark: bad). */
export const tcp4SynOffloaded = hex(
  ETH_V4 +
    '4500003c1afd400040060af70a6300010a630002' +
    'df140009f373db0b00000000a002fbe014f70000020404d80402080a238bedce000000000103030a',
);
/** UDP with offloaded (bad) checksums, v4 and v6. */
export const udp4Offloaded = hex(ETH_V4 + '4500002550b440004011d54b0a6300010a630002' + '85030007001114eb736d616c6c20756470');
export const udp6Offloaded = hex(
  ETH_V6 +
    '60041a1800111140fd990000000000000000000000000001fd990000000000000000000000000002' +
    'eabf00070011fb58736d616c6c20756470',
);
/** tcpdump -i any -y LINUX_SLL on lo: UDP 127.0.0.1:55030 → :9999 `sll one`, and over ::1 `sll six`. */
export const sllUdp4 = hex(
  '0000030400060000000000000000 0800' + '4500002311c9400040112aff7f0000017f000001' + 'd6f6270f000ffe22736c6c206f6e65',
);
export const sllUdp6 = hex(
  '0000030400060000000000000000 86dd' +
    '600c36f3000f11400000000000000000000000000000000100000000000000000000000000000001' +
    'ac0b270f000f0022736c6c20736978',
);
/** tcpdump -i any (LINUX_SLL2) on lo: TCP 127.0.0.1:56912 → :8080 with `GET / HTTP/1.0\r\n\r\n`. */
export const sll2Tcp4 = hex(
  '0800 0000 00000001 0304 00 06 0000000000000000' +
    '4500004641ae40004006fb017f0000017f000001' +
    'de501f90b43b37a9b6f0275080180040fe3a00000101080a1b51fabdc3be9f1e474554202f20485454502f312e300d0a0d0a',
);
export const sll2Tcp6 = hex(
  '86dd 0000 00000001 0304 00 06 0000000000000000' +
    '600698f9002406400000000000000000000000000000000100000000000000000000000000000001' +
    '910a1f91ccbac3b6f225270280180040002c00000101080ae3a68948584c972b70696e67',
);

/**
 * A 3000-byte UDP datagram (byte i of its data is (13 i + 5) & 255) that the kernel fragmented
 * for a 1280-byte MTU: the captured headers, and the data rebuilt from the pattern.
 */
export const fragmentedUdpData = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 255));
const udp4FragHeader = hex('850300070bc0748f'); // 34051 → 7, length 3008, checksum 0x748f
const udp6FragHeader = hex('eabf00070bc02865'); // 60095 → 7, length 3008, checksum 0x2865
const udp4Datagram = Buffer.concat([udp4FragHeader, fragmentedUdpData]);
const udp6Datagram = Buffer.concat([udp6FragHeader, fragmentedUdpData]);
/** IPv4 id 0x50b3: offsets 0 (MF), 1256 (MF), 2512. */
export const udp4Fragments = [
  Buffer.concat([hex(ETH_V4 + '450004fc50b320004011f0750a6300010a630002'), udp4Datagram.subarray(0, 1256)]),
  Buffer.concat([hex(ETH_V4 + '450004fc50b3209d4011efd80a6300010a630002'), udp4Datagram.subarray(1256, 2512)]),
  Buffer.concat([hex(ETH_V4 + '4500020450b3013a401112340a6300010a630002'), udp4Datagram.subarray(2512)]),
];
const v6FragAddrs = 'fd990000000000000000000000000001fd990000000000000000000000000002';
/** IPv6 fragment id 0x84507e1b: offsets 0 (M), 1232 (M), 2464. */
export const udp6Fragments = [
  Buffer.concat([hex(ETH_V6 + '60041a1804d82c40' + v6FragAddrs + '1100000184507e1b'), udp6Datagram.subarray(0, 1232)]),
  Buffer.concat([hex(ETH_V6 + '60041a1804d82c40' + v6FragAddrs + '110004d184507e1b'), udp6Datagram.subarray(1232, 2464)]),
  Buffer.concat([hex(ETH_V6 + '60041a1802282c40' + v6FragAddrs + '110009a084507e1b'), udp6Datagram.subarray(2464)]),
];

/** One of each view, re-pointed for every frame, as the engine keeps them. */
export class Chain {
  readonly stats = new Stats();
  readonly packet = new Packet();
  readonly link = new LinkLayer();
  readonly ipv4 = new Ipv4Packet();
  readonly ipv6 = new Ipv6Packet();
  readonly tcp = new TcpPacket();
  readonly udp = new UdpPacket();
  readonly icmp = new IcmpPacket();

  /**
   * Link, IP, then the transport (not for fragments). Returns the deepest layer dissected:
   * 'link' (non-IP), 'ipv4'/'ipv6' (fragment or other protocol), 'tcp'/'udp'/'icmp', or
   * 'malformed' when a dissector refused.
   */
  run(bytes: Buffer, linkType = 1, wireLength = bytes.length): 'malformed' | 'link' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' {
    // A frame shorter than it was on the wire: the capture cut it (a snaplen).
    this.packet.point(bytes, 1, 500, linkType, 1, wireLength > bytes.length);
    if (!dissectLink(linkType, bytes, this.link, this.stats)) return 'malformed';
    let ip: Ipv4Packet | Ipv6Packet;
    if (this.link.etherType === ETHERTYPE_IPV4) {
      if (!dissectIpv4(this.ipv4, this.packet, bytes, this.link.offset, this.stats)) return 'malformed';
      ip = this.ipv4;
    } else if (this.link.etherType === ETHERTYPE_IPV6) {
      if (!dissectIpv6(this.ipv6, this.packet, bytes, this.link.offset, this.stats)) return 'malformed';
      ip = this.ipv6;
    } else {
      return 'link';
    }
    return this.transport(ip);
  }

  /** The transport layer of an IP packet already dissected. */
  transport(ip: Ipv4Packet | Ipv6Packet): 'malformed' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' {
    if (ip.isFragment) return ip.version === 4 ? 'ipv4' : 'ipv6';
    const proto = ip.proto;
    if (proto === IPPROTO_TCP) return dissectTcp(this.tcp, ip, this.stats) ? 'tcp' : 'malformed';
    if (proto === IPPROTO_UDP) return dissectUdp(this.udp, ip, this.stats) ? 'udp' : 'malformed';
    if (proto === (ip.version === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
      return dissectIcmp(this.icmp, ip, this.stats) ? 'icmp' : 'malformed';
    }
    return ip.version === 4 ? 'ipv4' : 'ipv6';
  }

  anomalies(): Record<string, number> {
    return Object.fromEntries(this.stats.anomalies);
  }
}
