/**
 * The anomalies of the tcp_connection dissector (design §5), declared once: each is counted in
 * stats (`tcp-<kind>`), raised as a `tcpConnection.events.anomaly` event, and, where it has one,
 * governed by a policy in config (`tcp.policies.<kind>`, whose default and text are these).
 */

/**
 * What happens to the packet that raised an anomaly. `normalize` (overlap-different-data only):
 * the packet goes on with its overlapping bytes rewritten to the first copy (Suricata's inline
 * stream normalisation).
 */
export type AnomalyPolicy = 'accept' | 'drop-packet' | 'drop-flow' | 'normalize';

export const tcpAnomalies = {
  'invalid-flags': { policy: 'drop-packet', doc: 'No flag set, SYN with RST, or SYN with FIN.' },
  'syn-with-data': { policy: 'accept', doc: 'Payload on a SYN (TCP Fast Open does this legitimately).' },
  'out-of-window': {
    policy: 'accept',
    doc: 'A RST, or data, outside the receiver window: the endpoint ignores it anyway (RFC 5961, RFC 9293 §3.10.7.4); data out of window, data sent into a zero window included, is not reassembled (a one-byte window probe is no anomaly).',
  },
  'overlap-different-data': {
    policy: 'normalize',
    normalize: true,
    doc: 'A segment whose bytes differ from the first copy where it overlaps earlier data (first wins, per byte). `normalize` forwards it with those bytes rewritten to the first copy (checksum recomputed), so the receiver gets what the rules saw, and its new bytes enter the stream; `accept` takes its new bytes too but forwards it as it came; `drop-packet` drops it whole. With --pass-through nothing is rewritten or dropped and the stream takes its new bytes. Inline the rewritten packet goes back to the kernel in its verdict (NFQA_PAYLOAD). A segment of a fragmented datagram cannot be rewritten: `normalize` drops it.',
  },
  'data-after-rst': { policy: 'drop-packet', doc: 'Data after a connection was reset.' },
  'data-after-fin': { policy: 'drop-packet', doc: "Data past the sender's FIN." },
  gap: { policy: 'accept', doc: 'Bytes the capture never held (snaplen, loss): reported, never glued.' },
  'reassembly-memcap': { policy: 'drop-packet', doc: 'A segment that cannot be held within the reassembly caps.' },
  'flow-table-full': { policy: 'drop-packet', doc: 'A new connection with no room in the table.' },
  // Governed by tcp.midstream ('drop'), not by a policy of its own.
  'no-connection': { policy: null, doc: 'Not a SYN, and no connection for it.' },
  'hold-cap': {
    policy: 'accept',
    doc: "Held frames past tcp.hold.maxBytes or tcp.hold.memcap: `accept` releases them and ends that direction's streams early (stream.truncated), `drop-packet` and `drop-flow` drop the connection and what it held (the frame's bytes are in the streams already: dropping it alone would let its retransmission pass unread).",
  },
} as const satisfies Record<string, { policy: AnomalyPolicy | null; doc: string; normalize?: true }>;

export type TcpAnomalyKind = keyof typeof tcpAnomalies;

/** The anomalies with a policy of their own in `tcp.policies`. */
export type PolicedTcpAnomaly = { [K in TcpAnomalyKind]: (typeof tcpAnomalies)[K]['policy'] extends null ? never : K }[TcpAnomalyKind];
