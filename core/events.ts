/**
 * Typed event descriptors. A descriptor carries its listeners' argument tuple as a phantom type,
 * so `rule({ on, eval })` infers `eval`'s parameters from `on` alone, and a numeric id the
 * engine uses to index its listener lists (no string lookups on the packet path).
 *
 * A packet a receivePacket or sendPacket event hands out, and every Buffer on it (`bytes`,
 * `payload`), is a view, valid only during the event: the engine re-points it at the next
 * packet and the source reuses its buffer. Copy what you keep: `Buffer.from(pkt.payload)`.
 */
import type { Packet } from '../dissectors/packet.ts';
import type { Ipv4Packet } from '../dissectors/ipv4.ts';
import type { Ipv6Packet } from '../dissectors/ipv6.ts';
import type { TcpPacket } from '../dissectors/tcp.ts';
import type { UdpPacket } from '../dissectors/udp.ts';
import type { IcmpPacket } from '../dissectors/icmp.ts';

/** Which dissector must run for an event to fire; the engine enables dissectors by use. */
export type Layer = 'engine' | 'packet' | 'ipv4' | 'ipv6' | 'tcp' | 'udp' | 'icmp' | 'tcpConnection' | 'udpConnection';

export interface EventDescriptor<A extends readonly unknown[] = readonly unknown[]> {
  /** Dotted public name, e.g. `tcp.receivePacket`. */
  readonly name: string;
  /** @internal index into the engine's listener table. */
  readonly id: number;
  /** @internal the dissector that raises it. */
  readonly layer: Layer;
  /** Phantom: the listener's arguments. Never set at run time. */
  readonly __args?: A;
}

/** The argument tuple of an event's listeners. */
export type ArgsOf<E> = E extends EventDescriptor<infer A> ? A : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEvent = EventDescriptor<any>;

const registry: AnyEvent[] = [];
const ids = new Map<string, number>();

/**
 * @internal A name defined again (a flow dissector's module run afresh by `ctl reload`) keeps
 * its id: the new descriptor takes the old one's place, so the registry, and the engine's
 * listener table indexed by it, do not grow with every reload.
 */
export function defineEvent<A extends readonly unknown[]>(layer: Layer, name: string): EventDescriptor<A> {
  const id = ids.get(name) ?? registry.length;
  const ev: EventDescriptor<A> = Object.freeze({ name, id, layer });
  registry[id] = ev;
  ids.set(name, id);
  return ev;
}

/** @internal every descriptor, by id. */
export function allEvents(): readonly AnyEvent[] {
  return registry;
}

/** @internal */
export function isEventDescriptor(value: unknown): value is AnyEvent {
  return typeof value === 'object' && value !== null && registry[(value as AnyEvent).id] === value;
}

export const engineEvents = {
  /** Once, before the first packet. */
  started: defineEvent<[]>('engine', 'engine.started'),
  /** Once, after the last packet (end of capture, or shutdown): e.g. to print statistics. */
  exiting: defineEvent<[]>('engine', 'engine.exiting'),
};

export const packetEvents = {
  /** Every frame from the source, before any dissection. `pkt` and `pkt.bytes` are valid only during the event. */
  receivePacket: defineEvent<[pkt: Packet]>('packet', 'packet.receivePacket'),
  /** Every frame just before it is forwarded; a rule may still drop it. */
  sendPacket: defineEvent<[pkt: Packet]>('packet', 'packet.sendPacket'),
};

export const ipv4Events = {
  /** Every IPv4 datagram (once per reassembled datagram when fragmented). `pkt` and its `payload` are valid only during the event. */
  receivePacket: defineEvent<[pkt: Ipv4Packet]>('ipv4', 'ipv4.receivePacket'),
  sendPacket: defineEvent<[pkt: Ipv4Packet]>('ipv4', 'ipv4.sendPacket'),
};

export const ipv6Events = {
  receivePacket: defineEvent<[pkt: Ipv6Packet]>('ipv6', 'ipv6.receivePacket'),
  sendPacket: defineEvent<[pkt: Ipv6Packet]>('ipv6', 'ipv6.sendPacket'),
};

export const tcpEvents = {
  receivePacket: defineEvent<[pkt: TcpPacket]>('tcp', 'tcp.receivePacket'),
  sendPacket: defineEvent<[pkt: TcpPacket]>('tcp', 'tcp.sendPacket'),
};

export const udpEvents = {
  receivePacket: defineEvent<[pkt: UdpPacket]>('udp', 'udp.receivePacket'),
  sendPacket: defineEvent<[pkt: UdpPacket]>('udp', 'udp.sendPacket'),
};

export const icmpEvents = {
  receivePacket: defineEvent<[pkt: IcmpPacket]>('icmp', 'icmp.receivePacket'),
  sendPacket: defineEvent<[pkt: IcmpPacket]>('icmp', 'icmp.sendPacket'),
};
