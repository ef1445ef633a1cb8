/** The TLS dissector's limits and policies (`tls.*` in the config; core/config.ts holds the schema, defaults and texts). */
import type { DissectorPolicy } from '../../core/flow-dissector.ts';
import type { TlsAnomalyKind } from './anomalies.ts';

export interface TlsConfig {
  /** Bytes held for one handshake message the dissector reads whole (a hello, a Certificate). */
  maxHandshakeBytes: number;
  policies: Record<TlsAnomalyKind, DissectorPolicy>;
}
