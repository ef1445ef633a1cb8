/** Packet writes are typed: the writable fields take numbers, booleans, addresses and bytes; the derived ones take nothing. */
import { it } from 'vitest';
import { defineRules, icmp, ipv4, ipv6, tcp, udp } from 'palisade';

it('writable fields take their types, derived ones are read-only', () => {
  defineRules(({ rule }) => {
    rule({
      name: 'v4',
      on: ipv4.events.receivePacket,
      eval: (pkt) => {
        pkt.ttl = 33;
        pkt.flags.df = false;
        pkt.src = ipv4.addr('10.0.0.1');
        pkt.dst = '10.0.0.2';
        pkt.dst = 0x0a000002;
        pkt.keepChecksum();
        // @ts-expect-error: a TTL is a number
        pkt.ttl = '33';
        // @ts-expect-error: the total length follows the payload, it is not written
        pkt.len = 40;
        // @ts-expect-error: the header length is not written
        pkt.hdrLen = 24;
      },
    });
    rule({
      name: 'v6',
      on: ipv6.events.receivePacket,
      eval: (pkt) => {
        pkt.hopLimit = 9;
        pkt.src = ipv6.addr('2001:db8::1');
        // @ts-expect-error: the payload length follows the payload
        pkt.payloadLength = 0;
      },
    });
    rule({
      name: 'l4',
      on: tcp.events.receivePacket,
      eval: (seg) => {
        seg.window = 0;
        seg.flags.syn = true;
        seg.payload = Buffer.from('x');
        seg.payload = new Uint8Array(1);
        seg.computeChecksum();
        // @ts-expect-error: a payload is bytes
        seg.payload = 'x';
        // @ts-expect-error: the payload's length follows the payload
        seg.payloadLength = 1;
      },
    });
    rule({
      name: 'udp',
      on: udp.events.receivePacket,
      eval: (d) => {
        d.dstport = 53;
        // @ts-expect-error: the UDP length follows the payload
        d.length = 8;
      },
    });
    rule({
      name: 'icmp',
      on: icmp.events.receivePacket,
      eval: (m) => {
        m.type = 0;
        // @ts-expect-error: the version is the IP's
        m.version = 6;
      },
    });
  });
});
