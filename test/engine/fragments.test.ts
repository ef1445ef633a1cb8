import { describe, expect, it } from 'vitest';
import { defineRules, ipv4, ipv6, udp } from 'palisade';
import { ethernet, ipv4Packet, ipv6Packet, replay, udpDatagram } from 'palisade/testing';

const SRC = '10.0.0.1';
const DST = '10.0.0.2';

/** A UDP datagram over IPv4, cut into fragments of `size` payload bytes (a multiple of 8). */
function fragmentsV4(payload: string, size: number, id = 7): Buffer[] {
  const whole = udpDatagram({ src: SRC, dst: DST, srcport: 5000, dstport: 53, payload });
  const ipPayload = whole.subarray(20);
  const out: Buffer[] = [];
  for (let off = 0; off < ipPayload.length; off += size) {
    const part = ipPayload.subarray(off, off + size);
    out.push(ethernet(ipv4Packet({ src: SRC, dst: DST, proto: 17, id, fragOffset: off, mf: off + size < ipPayload.length, payload: part })));
  }
  return out;
}

const collect = (into: string[]) =>
  defineRules(({ rule }) => {
    rule({ on: ipv4.events.receivePacket, eval: (pkt) => into.push(`ipv4 ${pkt.len} frag=${pkt.isFragment}`) });
    rule({ on: udp.events.receivePacket, eval: (pkt) => into.push(`udp ${pkt.payload.toString()} ${pkt.verifyChecksum()}`) });
  });

describe('IP fragments', () => {
  it('raise receivePacket once per reassembled datagram; the output holds the original fragments', async () => {
    const frags = fragmentsV4('a question split over several fragments', 16);
    expect(frags).toHaveLength(3);
    const seen: string[] = [];
    // Arrival order: last, first, middle.
    const r = await replay({ rules: collect(seen), packets: [frags[2], frags[0], frags[1]] as Buffer[] });
    expect(seen).toEqual(['ipv4 67 frag=false', 'udp a question split over several fragments true']);
    expect(r.output.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(r.output.map((p) => p.bytes)).toEqual([frags[2], frags[0], frags[1]]);
  });

  it('a drop of the datagram drops every fragment', async () => {
    const rules = defineRules(({ rule }) => rule({ on: udp.events.receivePacket, eval: (pkt) => pkt.drop() }));
    const r = await replay({ rules, packets: fragmentsV4('to be refused entirely, all of it', 16) });
    expect(r.dropped).toEqual([1, 2, 3]);
    expect(r.output).toHaveLength(0);
  });

  it('an overlap with the same bytes is first-wins; with other bytes the datagram is dropped', async () => {
    const seen: string[] = [];
    const frags = fragmentsV4('0123456789abcdefghijklmnopqrstuv', 16);
    const same = await replay({ rules: collect(seen), packets: [frags[0], frags[0], frags[1], frags[2]] as Buffer[] });
    expect(seen).toContain('udp 0123456789abcdefghijklmnopqrstuv true');
    expect(same.stats.anomalies.get('fragment-overlap')).toBe(1);
    expect(same.dropped).toEqual([]);

    const evil = fragmentsV4('0123456789ABCDEFghijklmnopqrstuv', 16);
    seen.length = 0;
    const r = await replay({ rules: collect(seen), packets: [frags[0], evil[1], frags[1], frags[2]] as Buffer[] });
    expect(seen).toEqual([]);
    expect(r.stats.anomalies.get('fragment-overlap-different-data')).toBe(1);
    expect(r.dropped).toEqual([1, 2, 3, 4]);
  });

  it('fragments of a datagram that never completes are dropped at its timeout, by capture time', async () => {
    const frags = fragmentsV4('never finished because the middle is lost', 16);
    const later = ethernet(udpDatagram({ src: SRC, dst: DST, srcport: 1, dstport: 2, payload: 'x' }));
    // encodePcap stamps frame i at t0 + i seconds: put 40 s between the fragments and the next packet.
    const packets = [frags[0], frags[2], ...Array.from({ length: 40 }, () => later)] as Buffer[];
    const r = await replay({ rules: collect([]), packets });
    expect(r.stats.anomalies.get('fragment-incomplete')).toBe(1);
    expect(r.dropped).toEqual([1, 2]);
    expect(r.verdicts.size).toBe(42);
  });

  it('an incomplete datagram left at the end of the capture is dropped', async () => {
    const frags = fragmentsV4('cut off by the end of the capture', 16);
    const r = await replay({ rules: collect([]), packets: [frags[0]] as Buffer[] });
    expect(r.dropped).toEqual([1]);
    expect(r.stats.anomalies.get('fragment-incomplete')).toBe(1);
  });

  it('reassembles IPv6 fragments (fragment extension header)', async () => {
    const whole = udpDatagram({ src: '2001:db8::1', dst: '2001:db8::2', srcport: 5000, dstport: 53, payload: 'ipv6 datagram in two fragments!!' });
    const upper = whole.subarray(40);
    const frag = (off: number, part: Buffer, more: boolean): Buffer => {
      const hdr = Buffer.alloc(8);
      hdr[0] = 17;
      hdr.writeUInt16BE(off | (more ? 1 : 0), 2);
      hdr.writeUInt32BE(0xabcd, 4);
      return ethernet(ipv6Packet({ src: '2001:db8::1', dst: '2001:db8::2', nextHeader: 44, payload: Buffer.concat([hdr, part]) }));
    };
    const seen: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv6.events.receivePacket, eval: (pkt) => seen.push(`ipv6 proto=${pkt.proto} frag=${pkt.isFragment}`) });
      rule({ on: udp.events.receivePacket, eval: (pkt) => seen.push(`udp ${pkt.payload.toString()} ${pkt.verifyChecksum()}`) });
    });
    const r = await replay({ rules, packets: [frag(24, upper.subarray(24), false), frag(0, upper.subarray(0, 24), true)] });
    expect(seen).toEqual(['ipv6 proto=17 frag=false', 'udp ipv6 datagram in two fragments!! true']);
    expect(r.output).toHaveLength(2);
  });
});

describe('fragments.memcap', () => {
  it('counts the frame each held fragment keeps, not only its data: 8-byte fragments padded to 60 KB frames', async () => {
    // Each datagram's first fragment only (never completes), 8 data bytes, in a frame padded to
    // 60,000 bytes past the IP total length (Ethernet padding is legal and ignored).
    const packets = Array.from({ length: 40 }, (_, i) =>
      Buffer.concat([
        ethernet(ipv4Packet({ src: SRC, dst: DST, proto: 17, id: 1000 + i, mf: true, fragOffset: 0, payload: Buffer.alloc(8, 0x41) })),
        Buffer.alloc(60_000 - 42),
      ]),
    );
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv4.events.receivePacket, eval: () => undefined });
    });
    const r = await replay({ rules, packets, config: { fragments: { memcap: 256 * 1024, timeout: 600 } } });
    // 256 KiB holds four such frames; the rest are dropped at once, counted.
    expect(r.stats.anomalies.get('fragment-memcap')).toBe(36);
    expect(r.stats.anomalies.get('fragment-incomplete')).toBe(4);
  });
});
