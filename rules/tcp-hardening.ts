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
import { OptionCheck } from './options.ts';

/** What the module does on a kind: nothing, alert, alert and drop the connection, alert and reset it. */
export type HardeningAction = 'ignore' | 'alert' | 'drop-flow' | 'reset';

export interface TcpHardeningOptions {
  /** The rule's name: the `rule` of its alerts. Default 'tcp-hardening'. */
  name?: string;
  /**
   * 'alert': every kind alerts; 'block': the evasion kinds (`evasion` in {@link tcpAnomalyRules})
   * drop their connection too. Default 'alert'.
   */
  mode?: 'alert' | 'block';
  /** Per-kind actions, over the mode. Default: none. */
  actions?: Partial<Record<TcpAnomalyKind, HardeningAction>>;
}

export interface TcpAnomalyRule {
  /** The alert's severity. */
  severity: AlertLevel;
  /** Only an evasion (or a broken stack) produces it: `block` mode drops the connection. */
  evasion: boolean;
  /** Suricata's stream event for the same observation and the sid of its rule in stream-events.rules. */
  suricata?: { event: string; sid: number };
  /** Raised with no connection to name (counted in stats and policed, but no rule sees it). */
  connectionless?: true;
}

/** Every kind the tcp_connection dissector reports: a kind added there must be placed here. */
export const tcpAnomalyRules: Readonly<Record<TcpAnomalyKind, Readonly<TcpAnomalyRule>>> = {
  // On a tracked connection; without one (a lone SYN|FIN) it is counted and policed only.
  'invalid-flags': { severity: 'medium', evasion: true },
  'syn-with-data': { severity: 'medium', evasion: true },
  'out-of-window': { severity: 'low', evasion: false, suricata: { event: 'stream.est_packet_out_of_window', sid: 2210020 } },
  'overlap-different-data': { severity: 'high', evasion: true, suricata: { event: 'stream.reassembly_overlap_different_data', sid: 2210050 } },
  // Packets after a RST are what Suricata reads as a RST injection the receiver ignored.
  'data-after-rst': { severity: 'high', evasion: true, suricata: { event: 'stream.suspected_rst_inject', sid: 2210058 } },
  'data-after-fin': { severity: 'high', evasion: true },
  gap: { severity: 'low', evasion: false, suricata: { event: 'stream.reassembly_seq_gap', sid: 2210048 } },
  'reassembly-memcap': { severity: 'medium', evasion: false },
  'flow-table-full': { severity: 'medium', evasion: false, connectionless: true },
  'no-connection': { severity: 'low', evasion: false, connectionless: true },
  'hold-cap': { severity: 'low', evasion: false },
};

const kinds = Object.keys(tcpAnomalyRules);
const hardeningActions: readonly HardeningAction[] = ['ignore', 'alert', 'drop-flow', 'reset'];

/** Installs the anomaly rule (on tcpConnection.events.anomaly) into the rule set being defined. */
export function tcpHardening(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: TcpHardeningOptions = {}): void {
  const check = new OptionCheck('tcpHardening', 'tcp-hardening', options, ['name', 'mode', 'actions']);
  const mode = check.oneOf('mode', options.mode, ['alert', 'block'], 'alert');
  const overrides = options.actions === undefined ? {} : check.keys('actions', options.actions, kinds);
  // One decision per kind, made at load: the rule looks it up.
  const actions = new Map<TcpAnomalyKind, HardeningAction>();
  for (const kind of kinds as TcpAnomalyKind[]) {
    const byMode = mode === 'block' && tcpAnomalyRules[kind].evasion ? 'drop-flow' : 'alert';
    actions.set(kind, check.oneOf(`actions['${kind}']`, overrides[kind], hardeningActions, byMode));
  }
  // Once per connection and kind: an attacker's thousand bad segments are one alert.
  const alerted = flowState(() => new Set<TcpAnomalyKind>());
  ctx.rule({
    name: check.name,
    on: tcpConnection.events.anomaly,
    eval: (flow, anomaly) => {
      const what = actions.get(anomaly.kind) ?? 'alert';
      if (what === 'ignore') return;
      const seen = alerted(flow);
      if (!seen.has(anomaly.kind)) {
        seen.add(anomaly.kind);
        const r = tcpAnomalyRules[anomaly.kind];
        ctx.alert({
          description: `tcp ${anomaly.kind} (${anomaly.direction === 'up' ? 'from the client' : 'from the server'})`,
          severity: r.severity,
          method: r.suricata === undefined ? { description: `tcp-${anomaly.kind}` } : { description: `tcp-${anomaly.kind}`, ref: [r.suricata.event, `sid:${r.suricata.sid}`] },
          sources: [anomaly.direction === 'up' ? flow.client.ip : flow.server.ip],
          targets: anomaly.direction === 'up' ? [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }] : [flow.client.ip],
          flow,
        });
      }
      if (what === 'drop-flow') {
        // The packet too: on a connection that has ended (data after a RST), flow.drop() marks
        // the flow for its later packets but leaves the current one to tcp.policies.
        anomaly.packet?.drop();
        flow.drop();
      } else if (what === 'reset') {
        flow.reset();
      }
    },
  });
}
