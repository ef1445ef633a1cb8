import type { PacketAnomaly } from '../dissectors/anomalies.ts';
import type { DropKind } from '../dissectors/verdict.ts';
import type { Turn } from '../dissectors/turn.ts';

/** Counters for one engine. Plain fields: the packet path increments them in place. */
export class Stats {
  packets = 0;
  bytes = 0;
  accepted = 0;
  dropped = 0;
  /** Frames that are not IP (ARP, STP, LLDP…): passed untouched. */
  nonIp = 0;
  alerts = 0;
  ruleErrors = 0;
  /** Rule errors by rule name (core/rule-errors.ts counts them, with `ruleErrors`). */
  readonly ruleErrorsByRule = new Map<string, number>();
  /** Rule errors that were a rule stopped by the watchdog (rules.timeoutMs). */
  ruleTimeouts = 0;
  injected = 0;
  /** Connections that ended (tcp_connection). */
  connections = 0;
  /** Flows (TCP and UDP) that ended, by the protocol a dissector recognised in them (`none` when none did). */
  readonly flowsByProto = new Map<string, number>();
  anomalyTotal = 0;
  /** The anomaly counted last: the check a malformed frame failed, for its drop reason. */
  lastAnomaly = '';
  /** Frames dropped by the kind of their reason (dissectors/verdict.ts). */
  readonly dropsByReason = new Map<DropKind, number>();
  readonly anomalies = new Map<PacketAnomaly | (string & {}), number>();

  ruleError(rule: string): number {
    this.ruleErrors++;
    const count = (this.ruleErrorsByRule.get(rule) ?? 0) + 1;
    this.ruleErrorsByRule.set(rule, count);
    return count;
  }

  /** @internal While frames are traced: the turn whose trace lists anomalies as they are counted. */
  traceTurn: Turn | null = null;

  anomaly(kind: PacketAnomaly | (string & {})): void {
    this.anomalyTotal++;
    this.lastAnomaly = kind;
    if (this.traceTurn !== null) this.traceTurn.trace?.steps.push({ step: 'anomaly', anomaly: kind });
    this.anomalies.set(kind, (this.anomalies.get(kind) ?? 0) + 1);
  }

  /** A frame was dropped for a reason of this kind. */
  drop(kind: DropKind): void {
    this.dropped++;
    this.dropsByReason.set(kind, (this.dropsByReason.get(kind) ?? 0) + 1);
  }

  toJSON(): Record<string, unknown> {
    return {
      packets: this.packets,
      bytes: this.bytes,
      accepted: this.accepted,
      dropped: this.dropped,
      droppedBy: Object.fromEntries(this.dropsByReason),
      nonIp: this.nonIp,
      alerts: this.alerts,
      ruleErrors: this.ruleErrors,
      ruleErrorsByRule: Object.fromEntries(this.ruleErrorsByRule),
      ruleTimeouts: this.ruleTimeouts,
      injected: this.injected,
      connections: this.connections,
      flowsByProto: Object.fromEntries(this.flowsByProto),
      anomalies: this.anomalyTotal,
      anomalyKinds: Object.fromEntries(this.anomalies),
      memory: { rss: process.memoryUsage.rss() },
    };
  }
}
