/** The HTTP dissector's limits and policies (`http.*` in the config; core/config.ts holds the schema, defaults and texts). */
import type { DissectorPolicy } from '../../core/flow-dissector.ts';
import type { HttpAnomalyKind } from './anomalies.ts';

export interface HttpConfig {
  /** Bytes of a request or status line, its line end excluded. */
  maxStartLine: number;
  /** Bytes of a header section (or a trailer section), its start line included. */
  maxHeaderBytes: number;
  policies: Record<HttpAnomalyKind, DissectorPolicy>;
}
