/** What TCP connections and UDP flows have in common, as rules see them. */

/** `up`: from the client (the side that opened the connection, or sent the first datagram). */
export type Direction = 'up' | 'down';

/** Why a flow ended (UDP flows use the subset that applies to them). */
export type EndReason = 'fin' | 'rst' | 'timeout' | 'reuse' | 'memcap' | 'dropped' | 'shutdown';

export interface DirectionStats {
  readonly packets: number;
  /** Payload bytes. */
  readonly bytes: number;
  /** IP bytes (headers included), as Zeek's orig_ip_bytes. */
  readonly ipBytes: number;
}
