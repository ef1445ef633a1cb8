/** The tcp_connection dissector's events (design §3), typed for rule authors. */
import { defineEvent } from '../../core/events.ts';
import type { TcpPacket } from '../tcp.ts';
import type { Direction, TcpFlow } from './flow.ts';
import type { TcpAnomalyKind } from './anomalies.ts';

export interface TcpAnomaly {
  readonly kind: TcpAnomalyKind;
  /** The direction of the packet that raised it. */
  readonly direction: Direction;
  /** That packet, when there is one (not for a gap found at a timeout): valid only during the event, as every packet view. */
  readonly packet?: TcpPacket;
}

export const tcpConnectionEvents = {
  /** The first SYN of a new connection, or the first packet of one picked up midstream. `tcp` is valid only during the event; `flow` lasts until endConnection. */
  newConnection: defineEvent<[flow: TcpFlow, tcp: TcpPacket]>('tcpConnection', 'tcpConnection.newConnection'),
  /** Every packet of a tracked connection; `up` is client→server. */
  receivePacket: defineEvent<[flow: TcpFlow, tcp: TcpPacket, direction: Direction]>('tcpConnection', 'tcpConnection.receivePacket'),
  /**
   * Newly in-order bytes of one direction, as soon as they are in order. `offset` is the stream
   * position of data[0] (0 = the first byte after the SYN).
   *
   * `data` is a view into the frame (itself in the capture reader's reused buffer), valid only
   * during the event: a chunk kept to join later, or read after an await, holds other
   * connections' bytes by then. Copy what you keep: `Buffer.from(data)`. `palisade test` and
   * palisade/testing's replay() poison it after the event, so that a rule keeping it fails there.
   * A streamed rule's reads (`options: { streamed: true }`) are the stream's own: keep them as they are.
   */
  receiveData: defineEvent<[flow: TcpFlow, data: Buffer, direction: Direction, offset: number]>(
    'tcpConnection',
    'tcpConnection.receiveData',
  ),
  /** Exactly once per connection; `flow.endReason` says why. */
  endConnection: defineEvent<[flow: TcpFlow]>('tcpConnection', 'tcpConnection.endConnection'),
  /** A named anomaly on a tracked connection (design §5). */
  anomaly: defineEvent<[flow: TcpFlow, anomaly: TcpAnomaly]>('tcpConnection', 'tcpConnection.anomaly'),
};
