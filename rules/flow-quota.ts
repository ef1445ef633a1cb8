/**
 * Per-flow quotas: a connection whose stream carries more than `bytes` in a direction raises
 * one alert the moment it passes the quota (and, with `action`, is reset or dropped); when the
 * connection ends, the alert is updated with the total. Bytes are counted on the reassembled
 * stream (receiveData hands each byte over once), so retransmissions and overlaps do not count
 * twice and a lossy link does not push an honest client over its quota.
 *
 *   flowQuota(ctx, { bytes: 16 * 1024 * 1024, direction: 'up', action: 'reset' });
 */
import { flowState, tcpConnection, type AlertHandle, type AlertLevel, type Direction, type RuleContext } from '../index.ts';
import { OptionCheck } from './options.ts';

export interface FlowQuotaOptions {
  /** The rule's name: the `rule` of its alert (a second rule, `<name>-total`, updates it when the connection ends). Default 'flow-quota'. */
  name?: string;
  /** Required. The quota, in stream bytes per connection and direction (an integer, 0 or more). */
  bytes: number;
  /** 'up' counts what clients send, 'down' what servers send, 'both' each direction on its own. Default 'up'. */
  direction?: Direction | 'both';
  /** What happens past the quota besides the alert: nothing, a reset (both ends get a RST), or a silent drop. Default 'alert'. */
  action?: 'alert' | 'reset' | 'drop';
  /** The alert's severity. Default 'medium'. */
  severity?: AlertLevel;
}

const noun = { up: 'upload', down: 'download' } as const;

/** Installs the quota (a rule on receiveData, one on endConnection) into the rule set being defined. */
export function flowQuota(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: FlowQuotaOptions): void {
  const check = new OptionCheck('flowQuota', 'flow-quota', options, ['name', 'bytes', 'direction', 'action', 'severity']);
  const name = check.name;
  const quota = check.count('bytes', options.bytes, undefined, { zero: true });
  const which = check.oneOf('direction', options.direction, ['up', 'down', 'both'], 'up');
  const action = check.oneOf('action', options.action, ['alert', 'reset', 'drop'], 'alert');
  const severity = check.severity(options.severity, 'medium');
  const usage = flowState(() => ({ up: 0, down: 0, alert: { up: null as AlertHandle | null, down: null as AlertHandle | null } }));

  ctx.rule({
    name,
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (which !== 'both' && direction !== which) return;
      const u = usage(flow);
      u[direction] += data.length;
      // Once per flow and direction: the update at the end carries the total.
      if (u[direction] > quota && u.alert[direction] === null) {
        u.alert[direction] = ctx.alert({
          description: `${noun[direction]} over quota: ${u[direction]} bytes sent, quota ${quota}`,
          severity,
          sources: [direction === 'up' ? flow.client.ip : flow.server.ip],
          targets: [{ address: direction === 'up' ? flow.server.ip : flow.client.ip, service: `tcp/${flow.server.port}` }],
          flow,
          start: flow.startTime,
        });
        if (action === 'reset') flow.reset();
        else if (action === 'drop') flow.drop();
      }
    },
  });
  ctx.rule({
    name: `${name}-total`,
    on: tcpConnection.events.endConnection,
    // The state is still there in endConnection, and released right after it.
    eval: (flow) => {
      const u = usage(flow);
      for (const d of ['up', 'down'] as const) {
        u.alert[d]?.update({ description: `${noun[d]} over quota: ${u[d]} bytes sent in all, quota ${quota}`, end: flow.lastTime });
      }
    },
  });
}
