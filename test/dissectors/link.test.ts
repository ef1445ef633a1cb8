import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../../core/link-types.ts';
import { Stats } from '../../core/stats.ts';
import { LinkLayer, dissectLink } from '../../dissectors/link.ts';
import { Chain, hex, sll2Tcp4, sll2Tcp6, sllUdp4, sllUdp6, tcp4Syn, tcp6Get, udp4, udp6 } from './frames.ts';

const ETH = 14;
const ipOf = (frame: Buffer, linkHeader = ETH): Buffer => frame.subarray(linkHeader);
const udp4Ip = ipOf(udp4);
const udp6Ip = ipOf(udp6);

function link(linkType: number, bytes: Buffer): { ok: boolean; etherType: number; offset: number; vlanIds: number[]; anomalies: Record<string, number> } {
  const stats = new Stats();
  const out = new LinkLayer();
  const ok = dissectLink(linkType, bytes, out, stats);
  return { ok, etherType: out.etherType, offset: out.offset, vlanIds: [...out.vlanIds], anomalies: Object.fromEntries(stats.anomalies) };
}

/** An Ethernet header from the udp4 frame's addresses, then `tags` (hex), then `ip`. */
function ethernet(tags: string, etherType: string, ip: Buffer): Buffer {
  return Buffer.concat([hex('1ae1fc2d7637 9aefb5002dd5' + tags + etherType), ip]);
}

describe('Ethernet', () => {
  it('finds IPv4 and IPv6 after the 14-byte header', () => {
    expect(link(LINKTYPE_ETHERNET, tcp4Syn)).toEqual({ ok: true, etherType: 0x0800, offset: 14, vlanIds: [], anomalies: {} });
    expect(link(LINKTYPE_ETHERNET, tcp6Get)).toMatchObject({ ok: true, etherType: 0x86dd, offset: 14 });
  });

  it('walks an 802.1Q tag and reports its VLAN id without priority and DEI bits', () => {
    const frame = ethernet('8100 b064', '0800', udp4Ip); // PCP 5, DEI 1, VID 100
    expect(link(LINKTYPE_ETHERNET, frame)).toEqual({ ok: true, etherType: 0x0800, offset: 18, vlanIds: [100], anomalies: {} });
    const c = new Chain();
    expect(c.run(frame)).toBe('udp');
    expect(c.udp.payload.toString()).toBe('udp checksummed');
  });

  it('walks QinQ tags (802.1ad 0x88a8, and the older 0x9100), outermost first', () => {
    expect(link(LINKTYPE_ETHERNET, ethernet('88a8 00c8 8100 0064', '86dd', udp6Ip))).toMatchObject({
      etherType: 0x86dd,
      offset: 22,
      vlanIds: [200, 100],
    });
    expect(link(LINKTYPE_ETHERNET, ethernet('9100 0fff 8100 0001', '0800', udp4Ip))).toMatchObject({
      etherType: 0x0800,
      offset: 22,
      vlanIds: [4095, 1],
    });
    expect(link(LINKTYPE_ETHERNET, ethernet('88a8 0001 88a8 0002 8100 0003', '0800', udp4Ip)).vlanIds).toEqual([1, 2, 3]);
  });

  it('resets the VLAN ids for every frame', () => {
    const stats = new Stats();
    const out = new LinkLayer();
    dissectLink(LINKTYPE_ETHERNET, ethernet('8100 0064', '0800', udp4Ip), out, stats);
    const ids = out.vlanIds;
    dissectLink(LINKTYPE_ETHERNET, udp4, out, stats);
    expect(out.vlanIds).toBe(ids); // the same array, reused
    expect(out.vlanIds).toEqual([]);
  });

  it('passes non-IP frames with their EtherType or 802.3 length', () => {
    const arp = hex('ffffffffffff 9aefb5002dd5 0806 0001080006040001 9aefb5002dd5 0a630001 000000000000 0a630002');
    expect(link(LINKTYPE_ETHERNET, arp)).toMatchObject({ ok: true, etherType: 0x0806, offset: 14 });
    const stp = hex('0180c2000000 9aefb5002dd5 0026 424203 0000000000');
    expect(link(LINKTYPE_ETHERNET, stp)).toMatchObject({ ok: true, etherType: 0x26 });
    expect(new Chain().run(arp)).toBe('link');
  });

  it('counts link-truncated for a frame shorter than its header or its tags', () => {
    for (let n = 0; n < 14; n++) {
      expect(link(LINKTYPE_ETHERNET, udp4.subarray(0, n))).toMatchObject({ ok: false, anomalies: { 'link-truncated': 1 } });
    }
    const tagged = ethernet('88a8 00c8 8100 0064', '0800', udp4Ip);
    for (const n of [15, 16, 17, 18, 19, 20, 21]) {
      expect(link(LINKTYPE_ETHERNET, tagged.subarray(0, n))).toMatchObject({ ok: false, anomalies: { 'link-truncated': 1 } });
    }
    // The header itself complete: the IP dissector reports what is missing after it.
    expect(link(LINKTYPE_ETHERNET, tagged.subarray(0, 22))).toMatchObject({ ok: true, offset: 22 });
  });
});

describe('Linux cooked captures', () => {
  it('SLL: protocol at byte 14, network layer at 16', () => {
    expect(link(LINKTYPE_LINUX_SLL, sllUdp4)).toEqual({ ok: true, etherType: 0x0800, offset: 16, vlanIds: [], anomalies: {} });
    expect(link(LINKTYPE_LINUX_SLL, sllUdp6)).toMatchObject({ ok: true, etherType: 0x86dd, offset: 16 });
    const c = new Chain();
    expect(c.run(sllUdp4, LINKTYPE_LINUX_SLL)).toBe('udp');
    expect([c.ipv4.src, c.udp.srcport, c.udp.dstport, c.udp.payload.toString()]).toEqual(['127.0.0.1', 55030, 9999, 'sll one']);
    expect(c.run(sllUdp6, LINKTYPE_LINUX_SLL)).toBe('udp');
    expect([c.ipv6.src, c.udp.srcport, c.udp.payload.toString()]).toEqual(['::1', 44043, 'sll six']);
  });

  it('SLL: follows a VLAN tag the NIC left in place', () => {
    const frame = Buffer.concat([hex('0000000100060000000000000000 8100 0064 0800'), udp4Ip]);
    expect(link(LINKTYPE_LINUX_SLL, frame)).toMatchObject({ ok: true, etherType: 0x0800, offset: 20, vlanIds: [100] });
  });

  it('SLL2: protocol at byte 0, network layer at 20', () => {
    expect(link(LINKTYPE_LINUX_SLL2, sll2Tcp4)).toEqual({ ok: true, etherType: 0x0800, offset: 20, vlanIds: [], anomalies: {} });
    expect(link(LINKTYPE_LINUX_SLL2, sll2Tcp6)).toMatchObject({ ok: true, etherType: 0x86dd, offset: 20 });
    const c = new Chain();
    expect(c.run(sll2Tcp4, LINKTYPE_LINUX_SLL2)).toBe('tcp');
    expect([c.tcp.srcport, c.tcp.dstport, c.tcp.payload.toString()]).toEqual([56912, 8080, 'GET / HTTP/1.0\r\n\r\n']);
    expect(c.run(sll2Tcp6, LINKTYPE_LINUX_SLL2)).toBe('tcp');
    expect([c.tcp.srcport, c.tcp.dstport, c.tcp.payload.toString()]).toEqual([37130, 8081, 'ping']);
  });

  it('counts link-truncated for short cooked headers', () => {
    for (let n = 0; n < 16; n++) expect(link(LINKTYPE_LINUX_SLL, sllUdp4.subarray(0, n)).anomalies).toEqual({ 'link-truncated': 1 });
    for (let n = 0; n < 20; n++) expect(link(LINKTYPE_LINUX_SLL2, sll2Tcp4.subarray(0, n)).anomalies).toEqual({ 'link-truncated': 1 });
  });
});

describe('BSD loopback (NULL and LOOP)', () => {
  const cases: [string, string, Buffer, number][] = [
    ['AF_INET little-endian', '02000000', udp4Ip, 0x0800],
    ['AF_INET big-endian', '00000002', udp4Ip, 0x0800],
    ['AF_INET6 NetBSD/OpenBSD (24) little-endian', '18000000', udp6Ip, 0x86dd],
    ['AF_INET6 FreeBSD (28) big-endian', '0000001c', udp6Ip, 0x86dd],
    ['AF_INET6 macOS (30) little-endian', '1e000000', udp6Ip, 0x86dd],
    ['AF_INET6 macOS (30) big-endian', '0000001e', udp6Ip, 0x86dd],
  ];
  for (const [name, family, ip, etherType] of cases) {
    it(`${name}, under both link types`, () => {
      const frame = Buffer.concat([hex(family), ip]);
      for (const lt of [LINKTYPE_NULL, LINKTYPE_LOOP]) {
        expect(link(lt, frame)).toEqual({ ok: true, etherType, offset: 4, vlanIds: [], anomalies: {} });
        expect(new Chain().run(frame, lt)).toBe('udp');
      }
    });
  }

  it('treats other families as non-IP', () => {
    expect(link(LINKTYPE_NULL, Buffer.concat([hex('07000000'), udp4Ip]))).toMatchObject({ ok: true, etherType: 0 }); // AF_ISO
    expect(link(LINKTYPE_NULL, Buffer.concat([hex('0a000000'), udp6Ip]))).toMatchObject({ ok: true, etherType: 0 }); // Linux AF_INET6
    expect(link(LINKTYPE_NULL, Buffer.concat([hex('02000002'), udp4Ip]))).toMatchObject({ ok: true, etherType: 0 }); // neither order
  });

  it('counts link-truncated under 4 bytes', () => {
    for (let n = 0; n < 4; n++) expect(link(LINKTYPE_NULL, hex('02000000').subarray(0, n)).anomalies).toEqual({ 'link-truncated': 1 });
  });
});

describe('raw IP', () => {
  it('LINKTYPE_RAW tells IPv4 from IPv6 by the version nibble', () => {
    expect(link(LINKTYPE_RAW, udp4Ip)).toEqual({ ok: true, etherType: 0x0800, offset: 0, vlanIds: [], anomalies: {} });
    expect(link(LINKTYPE_RAW, udp6Ip)).toMatchObject({ ok: true, etherType: 0x86dd, offset: 0 });
    const c = new Chain();
    expect(c.run(udp4Ip, LINKTYPE_RAW)).toBe('udp');
    expect(c.run(udp6Ip, LINKTYPE_RAW)).toBe('udp');
  });

  it('accepts the BSD DLT_RAW values 12 and 14 as LINKTYPE_RAW', () => {
    expect(link(12, udp6Ip)).toMatchObject({ ok: true, etherType: 0x86dd });
    expect(link(14, udp4Ip)).toMatchObject({ ok: true, etherType: 0x0800 });
  });

  it('hands junk on an IP-only link to the IPv4 dissector, which refuses it', () => {
    const junk = hex('f0000000000000000000000000000000000000000000');
    expect(link(LINKTYPE_RAW, junk)).toMatchObject({ ok: true, etherType: 0x0800 });
    const c = new Chain();
    expect(c.run(junk, LINKTYPE_RAW)).toBe('malformed');
    expect(c.anomalies()).toEqual({ 'ipv4-invalid-header': 1 });
  });

  it('LINKTYPE_IPV4 and LINKTYPE_IPV6 fix the version', () => {
    expect(link(LINKTYPE_IPV4, udp4Ip)).toMatchObject({ ok: true, etherType: 0x0800, offset: 0 });
    expect(link(LINKTYPE_IPV6, udp6Ip)).toMatchObject({ ok: true, etherType: 0x86dd, offset: 0 });
  });

  it('counts link-truncated for an empty frame', () => {
    for (const lt of [LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6]) {
      expect(link(lt, Buffer.alloc(0))).toMatchObject({ ok: false, anomalies: { 'link-truncated': 1 } });
    }
  });
});

it('reports a link type it does not dissect as a non-IP frame', () => {
  expect(link(147, udp4)).toEqual({ ok: true, etherType: 0, offset: 0, vlanIds: [], anomalies: {} });
});
