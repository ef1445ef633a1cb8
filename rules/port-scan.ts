/**
 * Port scan detection: a source that opens connections to more than `threshold` distinct ports
 * within `windowS` seconds is a scanner. The connection that crosses the line raises an alert
 * and is refused, and so is every connection the source tries for the next `blockS` seconds.
 *
 * Time is the engine clock (`flow.startTime`): the capture's timestamps in replay, so a replay
 * judges a scan as it happened, however fast palisade reads the file; wall time inline. A connect
 * scan and a SYN scan look the same here: each probe is a new connection's SYN.
 *
 *   portScan(ctx, { threshold: 10, windowS: 5, blockS: 60 });
 */
import { tcpConnection, type AlertLevel, type RuleContext } from '../index.ts';
import { OptionCheck } from './options.ts';

export interface PortScanOptions {
  /** The rule's name: the `rule` of its alerts. Default 'port-scan'. */
  name?: string;
  /** Distinct destination ports one source may open connections to within the window. Default 10. */
  threshold?: number;
  /** The window, in seconds. Default 5. */
  windowS?: number;
  /** Seconds a detected scanner's connections are refused (0: alert only, refuse nothing). Default 60. */
  blockS?: number;
  /**
   * Sources remembered at once: past it, the source seen longest ago is forgotten, so a scan
   * from spoofed addresses cannot grow the table without bound. Default 65,536.
   */
  maxSources?: number;
  /** The alert's severity. Default 'medium'. */
  severity?: AlertLevel;
}

interface Source {
  /** Destination port → the last time this source opened a connection to it. */
  ports: Map<number, number>;
  blockedUntil: number;
}

/** Installs port scan detection (a rule on newConnection) into the rule set being defined. */
export function portScan(ctx: Pick<RuleContext, 'rule' | 'alert' | 'log'>, options: PortScanOptions = {}): void {
  const check = new OptionCheck('portScan', 'port-scan', options, ['name', 'threshold', 'windowS', 'blockS', 'maxSources', 'severity']);
  const threshold = check.count('threshold', options.threshold, 10);
  const windowS = check.count('windowS', options.windowS, 5, { fractions: true });
  const blockS = check.count('blockS', options.blockS, 60, { zero: true, fractions: true });
  const maxSources = check.count('maxSources', options.maxSources, 65_536);
  const severity = check.severity(options.severity, 'medium');

  // Per source address, not per flow: flowState would not see across a scanner's connections.
  const sources = new Map<string, Source>();
  const sourceOf = (address: string): Source => {
    let s = sources.get(address);
    if (s === undefined) {
      s = { ports: new Map(), blockedUntil: 0 };
      if (sources.size >= maxSources) {
        const oldest = sources.keys().next().value;
        if (oldest !== undefined) sources.delete(oldest);
      }
    } else {
      // Map keeps insertion order: re-inserting makes it the most recently seen source.
      sources.delete(address);
    }
    sources.set(address, s);
    return s;
  };

  ctx.rule({
    name: check.name,
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      const now = flow.startTime;
      const source = sourceOf(flow.client.ip);
      if (now < source.blockedUntil) {
        ctx.log.debug({ scanner: flow.client.ip, port: flow.server.port }, 'connection from a blocked scanner refused');
        flow.drop();
        return;
      }
      for (const [port, seen] of source.ports) if (seen <= now - windowS) source.ports.delete(port);
      source.ports.set(flow.server.port, now);
      if (source.ports.size <= threshold) return;
      ctx.alert({
        description: `port scan: ${source.ports.size} ports in ${windowS} s`,
        severity,
        sources: [flow.client.ip],
        targets: [flow.server.ip],
        flow,
      });
      source.ports.clear();
      if (blockS > 0) {
        source.blockedUntil = now + blockS;
        // Refusing drops the SYN: the probe learns nothing about this port.
        flow.drop();
      }
    },
  });
}

