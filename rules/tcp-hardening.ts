/**
 * TCP evasion hardening, as Suricata's stream-events rules: one switch that acts on every
 * anomaly the tcp_connection dissector reports (overlaps carrying other bytes, data after a RST
 * or a FIN, impossible flags, data on a SYN, segments out of the window, gaps, caps reached).
 * Each kind alerts (once per connection, so a flood of bad segments is one alert), and in
 * `block` mode the kinds that only an evasion or a broken stack produce also drop the connection.
 * What happens to the anomalous packet itself stays `tcp.policies` (docs/config.md).
 *
 *   tcpHardening(ctx, { mode: 'block', actions: { gap: 'ignore' } });
 *
 * Listening to anomalies turns on reassembly for every connection (overlaps and gaps are found
 * there): it costs what a receiveData rule costs.
 */
import { flowState, tcpConnection, type AlertLevel, type RuleContext, type TcpAnomalyKind } from '../index.ts';

export type HardeningAction = 'ignore' | 'alert' | 'drop-flow' | 'reset';

export interface TcpHardeningOptions {
  /** The rule's name: the `rule` of its alerts. Default 'tcp-hardening'. */
  name?: string;
  /** 'alert': every kind alerts; 'block': the evasion kinds drop their connection too. Default 'alert'. */
  mode?: 'alert' | 'block';
  /** Per-kind overrides of the mode. */
  actions?: Partial<Record<TcpAnomalyKind, HardeningAction>>;
}

/**
 * Each kind: its severity, whether only an evasion (or a broken stack) produces it, and the
 * Suricata stream event that reports the same thing, where there is one.
 */
export const tcpAnomalyRules: Readonly<Record<TcpAnomalyKind, { severity: AlertLevel; evasion: boolean; suricata?: string }>> = {
  'invalid-flags': { severity: 'medium', evasion: true },
  'syn-with-data': { severity: 'medium', evasion: true },
  'out-of-window': { severity: 'low', evasion: false, suricata: 'stream.est_packet_out_of_window' },
  'overlap-different-data': { severity: 'high', evasion: true, suricata: 'stream.reassembly_overlap_different_data' },
  'data-after-rst': { severity: 'high', evasion: true },
  'data-after-fin': { severity: 'high', evasion: true },
  gap: { severity: 'low', evasion: false, suricata: 'stream.reassembly_seq_gap' },
  'reassembly-memcap': { severity: 'medium', evasion: false },
  'flow-table-full': { severity: 'medium', evasion: false },
  'no-connection': { severity: 'low', evasion: false },
  'hold-cap': { severity: 'low', evasion: false },
};

export function tcpHardening(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: TcpHardeningOptions = {}): void {
  const name = options.name ?? 'tcp-hardening';
  const mode = options.mode ?? 'alert';
  const action = (kind: TcpAnomalyKind): HardeningAction => options.actions?.[kind] ?? (mode === 'block' && tcpAnomalyRules[kind].evasion ? 'drop-flow' : 'alert');
  // Once per connection and kind: an attacker's thousand bad segments are one alert.
  const alerted = flowState(() => new Set<TcpAnomalyKind>());
  ctx.rule({
    name,
    on: tcpConnection.events.anomaly,
    eval: (flow, anomaly) => {
      const what = action(anomaly.kind);
      if (what === 'ignore') return;
      const seen = alerted(flow);
      if (!seen.has(anomaly.kind)) {
        seen.add(anomaly.kind);
        const r = tcpAnomalyRules[anomaly.kind];
        ctx.alert({
          description: `tcp ${anomaly.kind} (${anomaly.direction === 'up' ? 'from the client' : 'from the server'})`,
          severity: r.severity,
          method: r.suricata === undefined ? { description: `tcp-${anomaly.kind}` } : { description: `tcp-${anomaly.kind}`, ref: r.suricata },
          sources: [anomaly.direction === 'up' ? flow.client.ip : flow.server.ip],
          targets: [anomaly.direction === 'up' ? flow.server.ip : flow.client.ip],
          flow,
        });
      }
      if (what === 'drop-flow') flow.drop();
      else if (what === 'reset') flow.reset();
    },
  });
}
