/**
 * Drives UdpTracker as the engine does, without the engine: real frames (testing/packets.ts),
 * dissected by the same functions as test/dissectors/frames.ts's Chain, handed to the tracker
 * through a fake host that records every event as a line and runs the test's rule callbacks.
 */
import { Packet } from '../../dissectors/packet.ts';
import { ACCEPT } from '../../dissectors/verdict.ts';
import { Stats } from '../../core/stats.ts';
import { defaultConfig } from '../../core/config.ts';
import type { AnyEvent } from '../../core/events.ts';
import type { EventSink } from '../../dissectors/flow/event-sink.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../dissectors/ethertypes.ts';
import { IPPROTO_UDP } from '../../dissectors/ip-protocols.ts';
import { Ipv4Packet, dissectIpv4 } from '../../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../../dissectors/ipv6.ts';
import { LinkLayer, dissectLink } from '../../dissectors/link.ts';
import { UdpPacket, dissectUdp } from '../../dissectors/udp.ts';
import type { Direction } from '../../dissectors/tcp-connection/flow.ts';
import { ethernet, udp, type UdpSpec } from '../../testing/packets.ts';
import {
  UdpTracker,
  udpConnectionEvents as events,
  type UdpConnectionConfig,
  type UdpFlow,
} from '../../dissectors/udp-connection/index.ts';

/** What a test's rules may do on each event (one listener each, as a rule set would). */
export interface Rules {
  newConnection?: (flow: UdpFlow, udp: UdpPacket) => void;
  receiveData?: (flow: UdpFlow, data: Buffer, direction: Direction, offset: number) => void;
  endConnection?: (flow: UdpFlow) => void;
}

export class Harness {
  readonly stats = new Stats();
  readonly packet = new Packet();
  readonly link = new LinkLayer();
  readonly ipv4 = new Ipv4Packet();
  readonly ipv6 = new Ipv6Packet();
  readonly udp = new UdpPacket();
  /** Engine time, seconds: the host clock the tracker reads. */
  now = 1000;
  /** Every event, as `new 1 10.0.0.1:5000->10.0.0.2:53`, `data 1 up@0 abc`, `end 1 timeout`. */
  readonly events: string[] = [];
  /** Flows handed to the flow log (the tracker's `ended`, drained as the engine does), in order. */
  readonly logged: UdpFlow[] = [];
  rules: Rules = {};
  /** Whether a rule listens to receiveData (the tracker asks once). */
  wantData = true;
  readonly host: EventSink;
  readonly tracker: UdpTracker;
  #frames = 0;

  constructor(config?: UdpConnectionConfig) {
    this.host = {
      emit: (ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => {
        this.#emit(ev, a, b, c, d);
      },
      listening: (ev: AnyEvent) => ev !== events.receiveData || this.wantData,
    };
    this.tracker = new UdpTracker(this.host, this.packet, config ?? defaultConfig().udp);
  }

  #emit(ev: AnyEvent, a: unknown, b: unknown, c: unknown, d: unknown): void {
    if (ev === events.newConnection) {
      const flow = a as UdpFlow;
      this.events.push(`new ${flow.id} ${endpoint(flow.client)}->${endpoint(flow.server)}`);
      this.rules.newConnection?.(flow, b as UdpPacket);
    } else if (ev === events.receiveData) {
      const flow = a as UdpFlow;
      const data = b as Buffer;
      this.events.push(`data ${flow.id} ${c as string}@${d as number} ${data.toString('latin1')}`);
      this.rules.receiveData?.(flow, data, c as Direction, d as number);
    } else if (ev === events.endConnection) {
      const flow = a as UdpFlow;
      this.events.push(`end ${flow.id} ${flow.endReason ?? '?'}`);
      this.rules.endConnection?.(flow);
    } else {
      throw new Error(`unexpected event ${ev.name}`);
    }
  }

  /** Dissects one frame as the engine would (link, IP, UDP) and returns the UDP view. */
  dissect(frame: Buffer, wireLength = frame.length): UdpPacket {
    this.packet.point(frame, Math.floor(this.now), 0, 1, ++this.#frames, wireLength > frame.length);
    if (!dissectLink(1, frame, this.link, this.stats)) throw new Error('link refused the frame');
    let ip: Ipv4Packet | Ipv6Packet;
    if (this.link.etherType === ETHERTYPE_IPV4) {
      if (!dissectIpv4(this.ipv4, this.packet, frame, this.link.offset, this.stats)) throw new Error('ipv4 refused the frame');
      ip = this.ipv4;
    } else if (this.link.etherType === ETHERTYPE_IPV6) {
      if (!dissectIpv6(this.ipv6, this.packet, frame, this.link.offset, this.stats)) throw new Error('ipv6 refused the frame');
      ip = this.ipv6;
    } else {
      throw new Error('not IP');
    }
    if (ip.proto !== IPPROTO_UDP || !dissectUdp(this.udp, ip, this.stats)) throw new Error('not a UDP datagram');
    return this.udp;
  }

  /** Hands one frame to the tracker at the current time: 'drop' or 'accept'. */
  /** `wireLength`: the frame's length on the wire, when the capture cut it. */
  push(frame: Buffer, wireLength = frame.length): 'drop' | 'accept' {
    this.tracker.expire(this.now);
    this.#drain();
    const v = this.tracker.receive(this.dissect(frame, wireLength)) === ACCEPT ? 'accept' : 'drop';
    this.#drain();
    return v;
  }

  /** Moves the clock to `t` and expires, as the engine does before each frame. */
  at(t: number): this {
    this.now = t;
    this.tracker.expire(t);
    this.#drain();
    return this;
  }

  /** Ends every flow (end of input), as the engine's flush() does. */
  shutdown(): void {
    this.tracker.shutdown();
    this.#drain();
  }

  #drain(): void {
    this.logged.push(...(this.tracker.out.items as UdpFlow[]));
    this.tracker.out.clear();
  }
}

const endpoint = (e: { ip: string; port: number }): string => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

/** A UDP/IP frame in Ethernet. */
export const frame = (spec: UdpSpec): Buffer => ethernet(udp(spec));

/** Frames of one 4-tuple: `up` from the client, `down` back. */
export function pair(client: string, clientPort: number, server: string, serverPort: number) {
  return {
    up: (payload = ''): Buffer => frame({ src: client, dst: server, srcport: clientPort, dstport: serverPort, payload }),
    down: (payload = ''): Buffer => frame({ src: server, dst: client, srcport: serverPort, dstport: clientPort, payload }),
  };
}
