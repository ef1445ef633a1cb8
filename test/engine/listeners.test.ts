import { describe, expect, it } from 'vitest';
import { defineRules, engine, ipv4, packet, tcp, udp } from 'palisade';
import { ethernet, replay, tcpSegment, udpDatagram } from 'palisade/testing';

const web = ethernet(tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', srcport: 1234, dstport: 80, flags: 'S' }));
const dns = ethernet(udpDatagram({ src: '10.0.0.1', dst: '10.0.0.53', srcport: 5353, dstport: 53, payload: 'q' }));

describe('listeners and verdicts', () => {
  it('runs listeners in registration order, layer by layer, send events after receive', async () => {
    const order: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: packet.events.sendPacket, eval: () => order.push('packet.send') });
      rule({ on: tcp.events.sendPacket, eval: () => order.push('tcp.send') });
      rule({ on: ipv4.events.sendPacket, eval: () => order.push('ipv4.send') });
      rule({ on: tcp.events.receivePacket, eval: () => order.push('tcp.receive 1') });
      rule({ on: tcp.events.receivePacket, eval: () => order.push('tcp.receive 2') });
      rule({ on: ipv4.events.receivePacket, eval: () => order.push('ipv4.receive') });
      rule({ on: packet.events.receivePacket, eval: () => order.push('packet.receive') });
    });
    await replay({ rules, packets: [web] });
    expect(order).toEqual([
      'packet.receive',
      'ipv4.receive',
      'tcp.receive 1',
      'tcp.receive 2',
      'tcp.send',
      'ipv4.send',
      'packet.send',
    ]);
  });

  it('skips the remaining listeners once a rule drops the packet (and the inner layers)', async () => {
    const order: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({
        on: ipv4.events.receivePacket,
        eval: (pkt) => {
          order.push('drop');
          pkt.drop();
        },
      });
      rule({ on: ipv4.events.receivePacket, eval: () => order.push('later') });
      rule({ on: tcp.events.receivePacket, eval: () => order.push('tcp') });
    });
    const r = await replay({ rules, packets: [web, web] });
    expect(order).toEqual(['drop', 'drop']);
    expect(r.dropped).toEqual([1, 2]);
    expect(r.output).toHaveLength(0);
  });

  it('a sendPacket rule may still drop the packet', async () => {
    const rules = defineRules(({ rule }) => {
      rule({
        on: udp.events.sendPacket,
        eval: (pkt) => {
          if (pkt.dstport === 53) pkt.drop();
        },
      });
    });
    const r = await replay({ rules, packets: [web, dns] });
    expect(r.dropped).toEqual([2]);
    expect(r.output.map((p) => p.id)).toEqual([1]);
  });

  it('fires engine started once before the first packet and exiting once after the last', async () => {
    const order: string[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: engine.events.started, eval: () => order.push('started') });
      rule({ on: packet.events.receivePacket, eval: (pkt) => order.push(`frame ${pkt.id}`) });
      rule({ on: engine.events.exiting, eval: () => order.push('exiting') });
    });
    await replay({ rules, packets: [web, dns] });
    expect(order).toEqual(['started', 'frame 1', 'frame 2', 'exiting']);
  });

  it('passes frames that are not IP untouched and counts them', async () => {
    const arp = Buffer.from('ffffffffffff0200000000010806000108000604000102000000000a0000010000000000000a000002', 'hex');
    const seen: number[] = [];
    const rules = defineRules(({ rule }) => {
      rule({ on: ipv4.events.receivePacket, eval: (pkt) => seen.push(pkt.packet.id) });
    });
    const r = await replay({ rules, packets: [arp, web] });
    expect(seen).toEqual([2]);
    expect(r.output.map((p) => p.id)).toEqual([1, 2]);
    expect(r.output[0]?.bytes.equals(arp)).toBe(true);
    expect(r.stats.nonIp).toBe(1);
  });

  it('in pass-through mode runs every rule but forwards everything', async () => {
    const rules = defineRules(({ rule, alert }) => {
      rule({
        on: tcp.events.receivePacket,
        eval: (pkt) => {
          alert({ description: 'seen' });
          pkt.drop();
        },
      });
    });
    const r = await replay({ rules, packets: [web, dns], passThrough: true });
    expect(r.alerts).toHaveLength(1);
    expect(r.output.map((p) => p.id)).toEqual([1, 2]);
    expect(r.stats.dropped).toBe(1);
  });
});
