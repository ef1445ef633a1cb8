/**
 * What a replay did, in the terms expect.json speaks: the records every expectation is matched
 * against and `--update` summarises.
 */
import type { ReplayResult } from '../replay.ts';
import type { AlertRecord } from '../alert.ts';
import type { FlowRecord } from '../../dissectors/flow/record.ts';
import type { Fields } from './case-file.ts';
import { injectedRecord, type InjectedRecord } from './injected-record.ts';

export interface Observed {
  /** Input frames read. */
  packets: number;
  /** Alerts as raised; updates (`update: true` lines) are left out: they re-state an alert. */
  alerts: AlertRecord[];
  dropped: number[];
  injected: (InjectedRecord | Fields)[];
  flows: FlowRecord[];
  logs: Fields[];
  /** Anomaly counts by kind, as the stats keep them (`tcp-data-after-rst`…). */
  anomalies: Record<string, number>;
}

export function observe(result: ReplayResult): Observed {
  return {
    packets: result.stats.packets,
    alerts: result.alerts.filter((a) => a.update !== true),
    dropped: result.dropped,
    injected: result.injected.map(
      (p) => injectedRecord(p, result.flows) ?? { to: '(not a TCP/IP packet)', ...(p.after === undefined ? {} : { after: p.after }) },
    ),
    flows: result.flows,
    logs: result.logs,
    anomalies: Object.fromEntries(result.stats.anomalies),
  };
}
