import { describe, expect, it } from 'vitest';
import { defineRules, ipv4, ipv6, tcp, udp } from 'palisade';
import { ethernet, ipv4Packet, replay, tcpSegment, udpDatagram } from 'palisade/testing';

const good = ethernet(tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport: 80, flags: 'PA', payload: 'GET /' }));
const badSum = ethernet(tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport: 80, flags: 'PA', payload: 'GET /', badChecksum: true }));
// A TCP header whose data offset (3 words) is below the minimum of 5.
const badTcp = (() => {
  const f = ethernet(tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1, dstport: 2 }));
  f[14 + 20 + 12] = 0x30;
  return f;
})();

describe('dissectors run only when a rule needs them', () => {
  it('a rule set on ipv4 alone never dissects TCP, so a broken TCP header is not its concern', async () => {
    const rules = defineRules(({ rule }) => rule({ on: ipv4.events.receivePacket, eval: () => undefined }));
    const r = await replay({ rules, packets: [badTcp] });
    expect(r.stats.anomalies.get('tcp-invalid-header')).toBeUndefined();
    expect(r.dropped).toEqual([]);
  });

  it('a rule set on tcp counts the broken header as an anomaly and drops it (malformedPolicy drop)', async () => {
    const seen: number[] = [];
    const rules = defineRules(({ rule }) => rule({ on: tcp.events.receivePacket, eval: (pkt) => seen.push(pkt.dstport) }));
    const r = await replay({ rules, packets: [badTcp, good] });
    expect(r.stats.anomalies.get('tcp-invalid-header')).toBe(1);
    expect(r.dropped).toEqual([1]);
    expect(seen).toEqual([80]);
  });

  it('malformedPolicy accept forwards what cannot be dissected', async () => {
    const rules = defineRules(({ rule }) => rule({ on: tcp.events.receivePacket, eval: () => undefined }));
    const r = await replay({ rules, packets: [badTcp], config: { malformedPolicy: 'accept' } });
    expect(r.dropped).toEqual([]);
    expect(r.stats.anomalyTotal).toBe(1);
  });

  it('malformed headers mixed with good packets: every good one is seen, nothing throws', async () => {
    const seen: number[] = [];
    const rules = defineRules(({ rule }) => rule({ on: udp.events.receivePacket, eval: (pkt) => seen.push(pkt.srcport) }));
    const packets: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const f = ethernet(udpDatagram({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1000 + i, dstport: 53, payload: 'abcdefgh' }));
      // Every other frame cut somewhere inside its headers.
      packets.push(i % 2 === 0 ? f : f.subarray(0, 14 + (i % 28)));
    }
    const r = await replay({ rules, packets });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + 2 * i));
    // Each cut frame is counted (at least once) and dropped as malformed.
    expect(r.stats.anomalyTotal).toBeGreaterThanOrEqual(20);
    expect(r.dropped).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 2));
  });
});

describe('checksums', () => {
  it('a bad checksum never stops a packet before the rules see it; rules can verify it', async () => {
    const verified: boolean[] = [];
    const rules = defineRules(({ rule }) => rule({ on: tcp.events.receivePacket, eval: (pkt) => verified.push(pkt.verifyChecksum()) }));
    const r = await replay({ rules, packets: [good, badSum] });
    expect(verified).toEqual([true, false]);
    expect(r.stats.anomalies.get('tcp-bad-checksum')).toBe(1);
    expect(r.dropped).toEqual([]);
  });

  it('badChecksumPolicy drop drops it', async () => {
    const rules = defineRules(({ rule }) => rule({ on: tcp.events.receivePacket, eval: () => undefined }));
    const r = await replay({ rules, packets: [good, badSum], config: { badChecksumPolicy: 'drop', checksumValidation: 'always' } });
    expect(r.dropped).toEqual([2]);
  });

  it('auto validation turns itself off on a capture with offloaded (wrong) checksums', async () => {
    const rules = defineRules(({ rule }) => rule({ on: tcp.events.receivePacket, eval: () => undefined }));
    const packets = Array.from({ length: 1200 }, (_, i) => (i % 2 === 0 ? good : badSum));
    const auto = await replay({ rules, packets });
    // 500 bad among the first 1000 sampled, then validation stops counting.
    expect(auto.stats.anomalies.get('tcp-bad-checksum')).toBe(500);
    expect(auto.logs.some((l) => String(l.msg).includes('checksum validation turned off'))).toBe(true);
    const always = await replay({ rules, packets, config: { checksumValidation: 'always' } });
    expect(always.stats.anomalies.get('tcp-bad-checksum')).toBe(600);
    const never = await replay({ rules, packets, config: { checksumValidation: 'never' } });
    expect(never.stats.anomalies.get('tcp-bad-checksum')).toBeUndefined();
  });

  it('counts a bad IPv4 header checksum', async () => {
    const rules = defineRules(({ rule }) => rule({ on: ipv4.events.receivePacket, eval: () => undefined }));
    const f = ethernet(ipv4Packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 253, payload: 'x', badChecksum: true }));
    const r = await replay({ rules, packets: [f] });
    expect(r.stats.anomalies.get('ipv4-bad-checksum')).toBe(1);
  });
});

describe('IPv6', () => {
  it('delivers TCP over IPv6 with its addresses', async () => {
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv6.events.receivePacket, eval: (pkt) => seen.push(`${pkt.src} > ${pkt.dst} ${pkt.proto}`) });
      rule({ on: tcp.events.receivePacket, eval: (pkt) => seen.push(`tcp ${pkt.dstport} ${pkt.verifyChecksum()}`) });
    });
    await replay({ rules, packets: [ethernet(tcpSegment({ src: '2001:db8::1', dst: '2001:db8::2', srcport: 1, dstport: 443, flags: 'S' }))] });
    expect(seen).toEqual(['2001:db8::1 > 2001:db8::2 6', 'tcp 443 true']);
  });
});
