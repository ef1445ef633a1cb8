/** The DNS dissector's policies (`dns.*` in the config; core/config.ts holds the schema, defaults and texts). */
import type { DissectorPolicy } from '../../core/flow-dissector.ts';
import type { DnsAnomalyKind } from './anomalies.ts';

export interface DnsConfig {
  /** Over UDP `reset-flow` is `drop-flow`: a datagram flow has nothing to reset. */
  policies: Record<DnsAnomalyKind, DissectorPolicy>;
}
