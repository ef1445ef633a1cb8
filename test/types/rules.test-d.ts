/* eslint-disable @typescript-eslint/no-unsafe-assignment -- the @ts-expect-error lines are wrong on purpose */
import { expectTypeOf, it } from 'vitest';
import { defineRules, engine, ipv4, ipv6, packet, tcp, tcpConnection, udp, udpConnection, icmp } from 'palisade';
import type { Direction, Ipv4Packet, Ipv6Packet, Packet, TcpAnomaly, TcpFlow, TcpPacket, UdpPacket, IcmpPacket } from 'palisade';

it('infers eval parameters from the event alone', () => {
  defineRules(({ rule, ruleGroup }) => {
    rule({ on: tcp.events.receivePacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<TcpPacket>() });
    rule({ on: udp.events.receivePacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<UdpPacket>() });
    rule({ on: icmp.events.sendPacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<IcmpPacket>() });
    rule({ on: ipv4.events.receivePacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<Ipv4Packet>() });
    rule({ on: ipv6.events.receivePacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<Ipv6Packet>() });
    rule({ on: packet.events.receivePacket, eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<Packet>() });
    rule({ on: engine.events.exiting, eval: (...args) => expectTypeOf(args).toEqualTypeOf<[]>() });
    const g = ruleGroup({
      name: 'g',
      on: tcp.events.receivePacket,
      init: (pkt) => expectTypeOf(pkt).toEqualTypeOf<TcpPacket>(),
      continue: (ret, pkt) => {
        expectTypeOf(ret).toBeUnknown();
        expectTypeOf(pkt).toEqualTypeOf<TcpPacket>();
        return !ret;
      },
      final: (pkt) => expectTypeOf(pkt).toEqualTypeOf<TcpPacket>(),
    });
    g.rule({ eval: (pkt) => expectTypeOf(pkt).toEqualTypeOf<TcpPacket>() });
  });
});

it('narrows the IP version of a transport packet', () => {
  defineRules(({ rule }) => {
    rule({
      on: tcp.events.receivePacket,
      eval: (pkt) => {
        if (pkt.ip.version === 4) expectTypeOf(pkt.ip.srcInt).toBeNumber();
        expectTypeOf(pkt.flags.syn).toBeBoolean();
        expectTypeOf(pkt.payload).toEqualTypeOf<Buffer>();
      },
    });
  });
});

it('rejects a wrong argument type in eval', () => {
  defineRules(({ rule }) => {
    // @ts-expect-error tcp.receivePacket delivers a TcpPacket, not a UdpPacket
    rule({ on: tcp.events.receivePacket, eval: (pkt: UdpPacket) => pkt.length });
  });
});

it('rejects an unknown event', () => {
  defineRules(({ rule }) => {
    // @ts-expect-error there is no tcp.events.receivePackets
    rule({ on: tcp.events.receivePackets, eval: () => true });
  });
});

it('rejects a misspelled field', () => {
  defineRules(({ rule }) => {
    // @ts-expect-error TcpPacket has dstport, not dstprot
    rule({ on: tcp.events.receivePacket, eval: (pkt) => pkt.dstprot === 80 });
  });
});

it('rejects a rule without eval, and a group rule with the wrong event type', () => {
  defineRules(({ rule, ruleGroup }) => {
    // @ts-expect-error eval is required
    rule({ on: tcp.events.receivePacket });
    const g = ruleGroup({ name: 'g', on: udp.events.receivePacket });
    // @ts-expect-error the group listens to udp.receivePacket
    g.rule({ eval: (pkt: TcpPacket) => pkt.seq });
  });
});

it('types alerts', () => {
  defineRules(({ alert }) => {
    const a = alert({ description: 'x', severity: 'high', targets: ['10.0.0.1', { address: ipv4.addr('10.0.0.2'), service: 'tcp/80' }] });
    a.update({ completion: 'failed' });
    // @ts-expect-error severity is low, medium or high
    alert({ severity: 'critical' });
  });
});

it('types the tcpConnection events', () => {
  defineRules(({ rule, flowState }) => {
    const bytes = flowState(() => ({ up: 0 }));
    rule({
      on: tcpConnection.events.newConnection,
      eval: (flow, tcp) => {
        expectTypeOf(flow).toEqualTypeOf<TcpFlow>();
        expectTypeOf(tcp).toEqualTypeOf<TcpPacket>();
        expectTypeOf(flow.client.ip).toBeString();
        expectTypeOf(flow.endReason).toEqualTypeOf<'fin' | 'rst' | 'timeout' | 'reuse' | 'memcap' | 'dropped' | 'shutdown' | undefined>();
      },
    });
    rule({
      on: tcpConnection.events.receiveData,
      eval: (flow, data, direction, offset) => {
        expectTypeOf(data).toEqualTypeOf<Buffer>();
        expectTypeOf(direction).toEqualTypeOf<Direction>();
        expectTypeOf(offset).toBeNumber();
        bytes(flow).up += data.length;
        if (direction === 'up' && data.includes('login:')) flow.reset();
      },
    });
    rule({ on: tcpConnection.events.anomaly, eval: (_flow, a) => expectTypeOf(a).toEqualTypeOf<TcpAnomaly>() });
    rule({ on: tcpConnection.events.endConnection, eval: (flow) => expectTypeOf(flow.stats.up.bytes).toBeNumber() });
    rule({
      on: tcpConnection.events.receivePacket,
      eval: (flow) => {
        // @ts-expect-error the counters are the tracker's: rules read them
        flow.stats.down.packets = 0;
      },
    });
    rule({
      on: udpConnection.events.endConnection,
      eval: (flow) => {
        expectTypeOf(flow.stats.up.bytes).toBeNumber();
        // @ts-expect-error the counters are the tracker's: rules read them
        flow.stats.up.bytes = 0;
      },
    });
    // @ts-expect-error direction is 'up' or 'down'
    rule({ on: tcpConnection.events.receivePacket, eval: (_f, _t, direction: 'left') => direction });
  });
});
