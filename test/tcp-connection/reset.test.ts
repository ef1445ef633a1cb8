/**
 * The RSTs of flow.reset()/halfreset(): built behind the triggering frame's link header, for
 * IPv4 and IPv6, both directions, every link type palisade reads; each one decoded by our own
 * dissectors and by tshark.
 */

import { describe, expect, it } from 'vitest';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_NULL, LINKTYPE_RAW } from '../../core/link-types.ts';
import { craftRst, type RstSpec } from '../../dissectors/tcp-connection/reset.ts';
import { ethernet, ipv4, ipv6, tcp } from '../../testing/packets.ts';
import { defineRules, tcpConnection } from '../../index.ts';
import { replay, tcpSession } from '../../testing.ts';
import { Chain } from '../dissectors/frames.ts';
import { tsharkFields } from '../tshark-fields.ts';

const CLIENT_MAC = '0a:00:00:00:00:01';
const SERVER_MAC = '0a:00:00:00:00:02';
const ADDRS = { 4: { client: '192.168.10.10', server: '192.168.20.80' }, 6: { client: 'fd00::10', server: 'fd00:0:0:1::80' } };
const CLIENT_PORT = 40000;
const SERVER_PORT = 80;

type Version = 4 | 6;
interface LinkKind {
  name: string;
  linkType: number;
  vlans: number[];
  /** The link header in front of an IP packet of this version. */
  header(version: Version): Buffer;
}

const etherType = (v: Version): number => (v === 4 ? 0x0800 : 0x86dd);

function sll(version: Version): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // PACKET_HOST: the capturing host received it
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  Buffer.from(CLIENT_MAC.replaceAll(':', ''), 'hex').copy(h, 6);
  h.writeUInt16BE(etherType(version), 14);
  return h;
}

function sll2(version: Version): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(etherType(version), 0);
  h.writeUInt32BE(3, 4); // interface index
  h.writeUInt16BE(1, 8);
  h[10] = 0;
  h[11] = 6;
  Buffer.from(CLIENT_MAC.replaceAll(':', ''), 'hex').copy(h, 12);
  return h;
}

const ethernetHeader = (vlans: number[]) => (v: Version) =>
  ethernet(Buffer.from([v << 4]), { src: CLIENT_MAC, dst: SERVER_MAC, vlans, ...(vlans.length > 1 ? { vlanTpid: 0x88a8 } : {}) }).subarray(0, 14 + 4 * vlans.length);

const LINKS: LinkKind[] = [
  { name: 'Ethernet', linkType: LINKTYPE_ETHERNET, vlans: [], header: ethernetHeader([]) },
  { name: 'Ethernet with an 802.1Q tag', linkType: LINKTYPE_ETHERNET, vlans: [100], header: ethernetHeader([100]) },
  { name: 'Ethernet with QinQ tags', linkType: LINKTYPE_ETHERNET, vlans: [200, 300], header: ethernetHeader([200, 300]) },
  { name: 'Linux SLL', linkType: LINKTYPE_LINUX_SLL, vlans: [], header: sll },
  { name: 'Linux SLL2', linkType: LINKTYPE_LINUX_SLL2, vlans: [], header: sll2 },
  { name: 'raw IP', linkType: LINKTYPE_RAW, vlans: [], header: () => Buffer.alloc(0) },
  // BSD loopback, little-endian host: AF_INET 2, AF_INET6 24 (NetBSD/OpenBSD).
  { name: 'null/loopback', linkType: LINKTYPE_NULL, vlans: [], header: (v) => Buffer.from([v === 4 ? 2 : 24, 0, 0, 0]) },
];

/** A client→server data segment (seq 5000, ack 9000, DF), the packet a rule resets the flow on. */
function triggerIp(version: Version): Buffer {
  const { client, server } = ADDRS[version];
  return tcp({ src: client, dst: server, srcport: CLIENT_PORT, dstport: SERVER_PORT, seq: 5000, ack: 9000, flags: 'PA', payload: 'login: root\r\n', df: true, ttl: 3, id: 0x4242 });
}

function trigger(link: LinkKind, ip: Buffer): Pick<RstSpec, 'frame' | 'linkType' | 'linkHeaderLength'> {
  const header = link.header((ip[0] as number) >> 4 === 6 ? 6 : 4);
  return { frame: Buffer.concat([header, ip]), linkType: link.linkType, linkHeaderLength: header.length };
}

/** tshark's fields for each of `frames`, checksums checked. */
function tshark(frames: Buffer[], linkType: number, fields: string[]): Record<string, string>[] {
  const pcap = encodePcap(frames.map((data, i) => ({ data, secs: 1_700_000_000 + i, nsecs: 0 })), { linkType });
  return tsharkFields(pcap, fields, { prefs: ['tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE'] });
}

describe('craftRst', () => {
  for (const link of LINKS) {
    for (const version of [4, 6] as const) {
      describe(`${link.name}, IPv${version}`, () => {
        const spec = trigger(link, triggerIp(version));
        const { client, server } = ADDRS[version];
        const toServer = craftRst({ ...spec, sameDirection: true, seq: 5013 });
        const toClient = craftRst({ ...spec, sameDirection: false, seq: 9000 });

        it('decodes with our dissectors as RST only, ack 0, window 0, TTL 64, valid checksums', () => {
          const chain = new Chain();
          for (const [rst, sameDirection, seq] of [[toServer, true, 5013], [toClient, false, 9000]] as const) {
            expect(rst.length).toBe(spec.linkHeaderLength + (version === 4 ? 20 : 40) + 20);
            expect(chain.run(rst, link.linkType)).toBe('tcp');
            expect(chain.anomalies()).toEqual({});
            expect(chain.link.vlanIds).toEqual(link.vlans);
            const t = chain.tcp;
            expect([t.srcport, t.dstport]).toEqual(sameDirection ? [CLIENT_PORT, SERVER_PORT] : [SERVER_PORT, CLIENT_PORT]);
            expect(t.seq).toBe(seq);
            expect(t.ack).toBe(0);
            expect(t.flagsByte).toBe(0x04);
            expect(t.window).toBe(0);
            expect(t.hdrLen).toBe(20);
            expect(t.urgentPointer).toBe(0);
            expect(t.payload.length).toBe(0);
            expect(t.verifyChecksum()).toBe(true);
            const ip = t.ip;
            expect([ip.src, ip.dst]).toEqual(sameDirection ? [client, server] : [server, client]);
            if (ip.version === 4) {
              expect([ip.ttl, ip.id, ip.hdrLen, ip.len, ip.tos]).toEqual([64, 0, 20, 40, 0]);
              expect([ip.flags.df, ip.flags.mf, ip.fragOffset]).toEqual([true, false, 0]);
              expect(ip.verifyChecksum()).toBe(true);
            } else {
              expect([ip.hopLimit, ip.nextHeader, ip.payloadLength, ip.flowLabel, ip.trafficClass]).toEqual([64, 6, 20, 0, 0]);
            }
          }
        });

        it('reads as a good RST with tshark', () => {
          const rows = tshark([toServer, toClient], link.linkType, [
            'tcp.flags',
            'tcp.seq_raw',
            'tcp.ack_raw',
            'tcp.window_size_value',
            version === 4 ? 'ip.ttl' : 'ipv6.hlim',
            'tcp.checksum.status',
            version === 4 ? 'ip.checksum.status' : 'ipv6.plen',
            version === 4 ? 'ip.src' : 'ipv6.src',
            version === 4 ? 'ip.dst' : 'ipv6.dst',
            'tcp.srcport',
            'tcp.dstport',
            'tcp.len',
            '_ws.malformed',
          ]);
          const common = {
            'tcp.flags': '0x0004',
            'tcp.ack_raw': '0',
            'tcp.window_size_value': '0',
            'tcp.checksum.status': '1',
            'tcp.len': '0',
            '_ws.malformed': '',
            ...(version === 4
              ? { 'ip.ttl': '64', 'ip.checksum.status': '1' }
              : { 'ipv6.hlim': '64', 'ipv6.plen': '20' }),
          };
          const src = version === 4 ? 'ip.src' : 'ipv6.src';
          const dst = version === 4 ? 'ip.dst' : 'ipv6.dst';
          expect(rows).toEqual([
            { ...common, 'tcp.seq_raw': '5013', [src]: client, [dst]: server, 'tcp.srcport': '40000', 'tcp.dstport': '80' },
            { ...common, 'tcp.seq_raw': '9000', [src]: server, [dst]: client, 'tcp.srcport': '80', 'tcp.dstport': '40000' },
          ]);
        });
      });
    }
  }

  it('reuses the Ethernet header, MACs swapped only for the opposite direction', () => {
    const spec = trigger(LINKS[1] as LinkKind, triggerIp(4));
    const same = craftRst({ ...spec, sameDirection: true, seq: 1 });
    const back = craftRst({ ...spec, sameDirection: false, seq: 1 });
    expect(same.subarray(0, 18)).toEqual(spec.frame.subarray(0, 18));
    const rows = tshark([same, back], LINKTYPE_ETHERNET, ['eth.src', 'eth.dst', 'vlan.id', 'eth.type']);
    expect(rows).toEqual([
      { 'eth.src': CLIENT_MAC, 'eth.dst': SERVER_MAC, 'vlan.id': '100', 'eth.type': '0x8100' },
      { 'eth.src': SERVER_MAC, 'eth.dst': CLIENT_MAC, 'vlan.id': '100', 'eth.type': '0x8100' },
    ]);
  });

  it('mirrors the SLL packet type and clears the unknown peer address for the opposite direction', () => {
    for (const link of [LINKS[3], LINKS[4]] as LinkKind[]) {
      const spec = trigger(link, triggerIp(6));
      const same = craftRst({ ...spec, sameDirection: true, seq: 1 });
      const back = craftRst({ ...spec, sameDirection: false, seq: 1 });
      expect(same.subarray(0, spec.linkHeaderLength)).toEqual(spec.frame.subarray(0, spec.linkHeaderLength));
      const v2 = link.linkType === LINKTYPE_LINUX_SLL2;
      const rows = tshark([same, back], link.linkType, ['sll.pkttype', 'sll.halen', 'sll.src.eth', v2 ? 'sll.ifindex' : 'sll.hatype']);
      expect(rows).toEqual([
        { 'sll.pkttype': '0', 'sll.halen': '6', 'sll.src.eth': CLIENT_MAC, [v2 ? 'sll.ifindex' : 'sll.hatype']: v2 ? '3' : '1' },
        { 'sll.pkttype': '4', 'sll.halen': '0', 'sll.src.eth': '', [v2 ? 'sll.ifindex' : 'sll.hatype']: v2 ? '3' : '1' },
      ]);
    }
  });

  it('can be called again with the same trigger: Haka order, server→client then client→server', () => {
    const spec = trigger(LINKS[0] as LinkKind, triggerIp(4));
    const before = Buffer.from(spec.frame);
    const first = craftRst({ ...spec, sameDirection: false, seq: 9000 });
    const second = craftRst({ ...spec, sameDirection: true, seq: 5000 });
    expect(spec.frame).toEqual(before);
    expect(first).not.toBe(second);
    expect(first.buffer).not.toBe(spec.frame.buffer);
    const rows = tshark([first, second], LINKTYPE_ETHERNET, ['ip.src', 'tcp.seq_raw']);
    expect(rows).toEqual([
      { 'ip.src': ADDRS[4].server, 'tcp.seq_raw': '9000' },
      { 'ip.src': ADDRS[4].client, 'tcp.seq_raw': '5000' },
    ]);
  });

  it('keeps DF off when the trigger had it off', () => {
    const ip = tcp({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1, dstport: 2, flags: 'A' });
    const rst = craftRst({ frame: ip, linkType: LINKTYPE_RAW, linkHeaderLength: 0, sameDirection: true, seq: 7 });
    const chain = new Chain();
    expect(chain.run(rst, LINKTYPE_RAW)).toBe('tcp');
    expect(chain.ipv4.flags.df).toBe(false);
  });

  it('writes sequence numbers past 2^31 and at the wrap unsigned', () => {
    const spec = trigger(LINKS[0] as LinkKind, triggerIp(4));
    const rows = tshark(
      [0xffff_ffff, 0x8000_0000, 2 ** 32].map((seq) => craftRst({ ...spec, sameDirection: true, seq })),
      LINKTYPE_ETHERNET,
      ['tcp.seq_raw', 'tcp.checksum.status'],
    );
    expect(rows.map((r) => r['tcp.seq_raw'])).toEqual(['4294967295', '2147483648', '0']);
    expect(rows.every((r) => r['tcp.checksum.status'] === '1')).toBe(true);
  });

  it('answers a SYN nobody answered with RST|ACK acknowledging it when given ack', () => {
    const syn = tcp({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 4000, dstport: 23, seq: 0xfffffff0, flags: 'S' });
    const frame = ethernet(syn);
    const rst = craftRst({ frame, linkType: LINKTYPE_ETHERNET, linkHeaderLength: 14, sameDirection: false, seq: 0, ack: 0xfffffff1 });
    const [row] = tshark([rst], LINKTYPE_ETHERNET, ['tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.srcport', 'tcp.dstport', 'tcp.checksum.status']);
    expect(row).toEqual({
      'tcp.flags': '0x0014',
      'tcp.seq_raw': '0',
      'tcp.ack_raw': '4294967281',
      'tcp.srcport': '23',
      'tcp.dstport': '4000',
      'tcp.checksum.status': '1',
    });
  });

  it('finds the ports behind IPv4 options', () => {
    const seg = tcp({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport: 443, flags: 'PA', payload: 'x' }).subarray(20);
    const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, options: Buffer.from([1, 1, 1, 0]), payload: seg });
    const rst = craftRst({ frame: ip, linkType: LINKTYPE_RAW, linkHeaderLength: 0, sameDirection: false, seq: 42 });
    const chain = new Chain();
    expect(chain.run(rst, LINKTYPE_RAW)).toBe('tcp');
    expect([chain.tcp.srcport, chain.tcp.dstport, chain.ipv4.hdrLen]).toEqual([443, 1234, 20]);
    expect(chain.tcp.verifyChecksum()).toBe(true);
  });

  it('finds the ports behind IPv6 extension headers and addresses the final destination of a routing header', () => {
    const home = 'fd00::99';
    const seg = tcp({ src: 'fd00::1', dst: home, srcport: 5555, dstport: 25, flags: 'PA', payload: 'EHLO' }).subarray(40);
    // Hop-by-hop (8 bytes, PadN), then a type 2 routing header (24 bytes) with 1 segment left: the home address.
    const hbh = Buffer.from([43, 0, 1, 4, 0, 0, 0, 0]);
    const rh2 = Buffer.concat([Buffer.from([6, 2, 2, 1, 0, 0, 0, 0]), Buffer.from('fd000000000000000000000000000099', 'hex')]);
    const ip = ipv6({ src: 'fd00::1', dst: 'fd00::2', nextHeader: 0, payload: Buffer.concat([hbh, rh2, seg]) });
    const chain = new Chain();
    for (const sameDirection of [true, false]) {
      const rst = craftRst({ frame: ip, linkType: LINKTYPE_RAW, linkHeaderLength: 0, sameDirection, seq: 42 });
      expect(chain.run(rst, LINKTYPE_RAW)).toBe('tcp');
      expect([chain.ipv6.src, chain.ipv6.dst]).toEqual(sameDirection ? ['fd00::1', home] : [home, 'fd00::1']);
      expect([chain.tcp.srcport, chain.tcp.dstport]).toEqual(sameDirection ? [5555, 25] : [25, 5555]);
      expect(chain.ipv6.extensionHeaders).toEqual([]);
      expect(chain.tcp.verifyChecksum()).toBe(true);
    }
  });

  it('takes the ports from the spec when the frame is a later fragment', () => {
    const frag = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, fragOffset: 1480, payload: 'tail of the segment' });
    const spec = { frame: frag, linkType: LINKTYPE_RAW, linkHeaderLength: 0, sameDirection: false, seq: 1 };
    expect(() => craftRst(spec)).toThrow(/pass srcport and dstport/);
    const rst = craftRst({ ...spec, srcport: 3333, dstport: 80 });
    const chain = new Chain();
    expect(chain.run(rst, LINKTYPE_RAW)).toBe('tcp');
    expect([chain.ipv4.src, chain.tcp.srcport, chain.tcp.dstport, chain.ipv4.isFragment]).toEqual(['10.0.0.2', 80, 3333, false]);
  });

  it('gives replay output both RSTs of flow.reset(), server→client first, at the seqs each receiver expects', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: tcpConnection.events.receiveData,
        eval: (flow, data, direction) => {
          if (direction === 'down' && data.includes('login:')) flow.reset();
        },
      });
    });
    const frames = tcpSession({ client: '[fd00::10]:40000', server: '[fd00::80]:23', vlan: [7] })
      .handshake()
      .send('up', 'hello')
      .send('down', 'login: ')
      .frames();
    const { output, injected } = await replay({ rules, packets: frames });
    expect(injected).toHaveLength(2);
    const rows = tshark(
      output.map((p) => p.bytes),
      LINKTYPE_ETHERNET,
      ['ipv6.src', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.window_size_value', 'ipv6.hlim', 'vlan.id', 'tcp.checksum.status'],
    );
    // SYN, SYN/ACK, ACK, 'hello' and its ACK went through; 'login: ' was dropped, its bytes not counted.
    expect(rows.slice(5)).toEqual([
      { 'ipv6.src': 'fd00::80', 'tcp.flags': '0x0004', 'tcp.seq_raw': '2000001', 'tcp.ack_raw': '0', 'tcp.window_size_value': '0', 'ipv6.hlim': '64', 'vlan.id': '7', 'tcp.checksum.status': '1' },
      { 'ipv6.src': 'fd00::10', 'tcp.flags': '0x0004', 'tcp.seq_raw': '1000006', 'tcp.ack_raw': '0', 'tcp.window_size_value': '0', 'ipv6.hlim': '64', 'vlan.id': '7', 'tcp.checksum.status': '1' },
    ]);
  });
});
