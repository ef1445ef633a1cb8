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

/**
 * The application protocol a flow was recognised as (Suricata's `app_proto`, Zeek's `service`):
 * set by the dissector that parsed it (`http`, `tls`, `dns`), or by a flow dissector of a rule
 * file (`smtp` in the samples); null while none has.
 */
export type AppProto = 'http' | 'tls' | 'dns' | 'smtp' | (string & {});
