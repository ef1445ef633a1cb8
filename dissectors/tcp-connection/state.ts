/**
 * The connection's state as a middlebox between both ends sees it: RFC 9293's machine (§3.3.2)
 * folded to what a bridge can tell. It sees both endpoints, so one state stands for the pair;
 * LISTEN is no state here (a connection exists from its first segment), and TIME-WAIT, the
 * FIN-WAITs and CLOSE-WAIT fold into `Closing` until both FINs are acknowledged. Each
 * transition is a function named for the event that causes it; none fires out of order.
 */
import type { FlowState } from './flow.ts';

export enum TcpState {
  /** The client's SYN was seen (the connection's first segment). */
  SynSent,
  /** The server answered: SYN/ACK, or its own SYN (simultaneous open, RFC 9293 §3.5 figure 8). */
  SynReceived,
  /** The handshake completed (the SYN/ACK acknowledged), or the connection was picked up midstream. */
  Established,
  /** A FIN was seen from either side, not yet both acknowledged. */
  Closing,
  /** Both FINs were sent and acknowledged (RFC 9293 §3.6). */
  Closed,
  /** An acceptable RST ended it (RFC 5961 §3.2; RFC 9293 §3.10.7.3 in SYN-SENT). */
  Reset,
}

/** The names rules see (`flow.state`), by TcpState. */
export const stateNames: readonly FlowState[] = ['syn-sent', 'syn-received', 'established', 'closing', 'closed', 'reset'];

interface HasState {
  tcpState: TcpState;
}

/** A connection whose handshake was not seen: both ends already talk. */
export function pickedUpMidstream(flow: HasState): void {
  flow.tcpState = TcpState.Established;
}

/** A SYN/ACK, or the server's own SYN in a simultaneous open. */
export function synReceived(flow: HasState): void {
  if (flow.tcpState === TcpState.SynSent) flow.tcpState = TcpState.SynReceived;
}

/** An ACK of the other side's SYN: the three-way handshake is complete. */
export function synAcknowledged(flow: HasState): void {
  if (flow.tcpState === TcpState.SynSent || flow.tcpState === TcpState.SynReceived) flow.tcpState = TcpState.Established;
}

/** A FIN from either side; a reset connection stays reset. */
export function finSent(flow: HasState): void {
  if (flow.tcpState !== TcpState.Reset) flow.tcpState = TcpState.Closing;
}

/** Both FINs acknowledged. */
export function finsAcknowledged(flow: HasState): void {
  flow.tcpState = TcpState.Closed;
}

/** An acceptable RST: exactly at the next expected sequence number, or refusing the SYN. */
export function resetAccepted(flow: HasState): void {
  flow.tcpState = TcpState.Reset;
}
