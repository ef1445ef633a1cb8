/** The udp_connection dissector's events (design §3), typed for rule authors. */
import { defineEvent } from '../../core/events.ts';
import type { UdpPacket } from '../udp.ts';
import type { Direction } from '../flow/types.ts';
import type { UdpFlow } from './flow.ts';

export const udpConnectionEvents = {
  /** The first datagram of a new 4-tuple; its sender is the client. Dropping it refuses the flow. `udp` is valid only during the event. */
  newConnection: defineEvent<[flow: UdpFlow, udp: UdpPacket]>('udpConnection', 'udpConnection.newConnection'),
  /**
   * Every datagram's data, empty ones included; `up` is client→server. `offset` is the number of
   * data bytes this direction sent before it.
   *
   * `data` is a view into the frame (itself in the capture reader's reused buffer), valid only
   * during the event: copy what you keep, `Buffer.from(data)`. `palisade test` and
   * palisade/testing's replay() poison it after the event, so that a rule keeping it fails there.
   */
  receiveData: defineEvent<[flow: UdpFlow, data: Buffer, direction: Direction, offset: number]>(
    'udpConnection',
    'udpConnection.receiveData',
  ),
  /** Exactly once per flow; `flow.endReason` says why. */
  endConnection: defineEvent<[flow: UdpFlow]>('udpConnection', 'udpConnection.endConnection'),
};
