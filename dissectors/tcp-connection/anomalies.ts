/**
 * The anomalies of the tcp_connection dissector (design §5). Each is counted in stats, raised as
 * a `tcpConnection.events.anomaly` event, and governed by a policy in config (`tcp.policies`).
 */
export const tcpAnomalies = [
  'invalid-flags', // no flag, SYN+RST or SYN+FIN
  'syn-with-data', // payload on a SYN (TFO aside, an evasion vector)
  'out-of-window', // data far outside the receiver's window
  'overlap-different-data', // a retransmission carrying other bytes than the first copy
  'data-after-rst', // data after an in-window RST
  'data-after-fin', // data past the sender's FIN
  'gap', // bytes never seen (snaplen cut, capture loss): reported, never glued
  'reassembly-memcap', // a segment could not be buffered within the caps
  'flow-table-full', // no room for a new connection
  'no-connection', // not a SYN and no connection (midstream policy 'drop')
  'hold-cap', // frames held for streamed rules past tcp.hold.maxBytes / memcap
] as const;

export type TcpAnomalyKind = (typeof tcpAnomalies)[number];

/** What happens to the packet that raised an anomaly. */
export type AnomalyPolicy = 'accept' | 'drop-packet' | 'drop-flow';
