/**
 * HTTP request smuggling guard: a connection whose client frames a message in a way two parsers
 * on the path could read differently (RFC 9112 §11.2: Content-Length with Transfer-Encoding, two
 * Content-Lengths, a bad chunk size, a folded or LF-ended line…) is alerted on and reset. The
 * HTTP dissector names these shapes as anomalies (`http.events.anomaly`) while the head that
 * carries them is still held, so the reset leaves the server with none of that head.
 *
 *   httpSmugglingGuard(ctx, { action: 'reset' });
 */
import { flowState, http, type AlertLevel, type Direction, type HttpAnomalyKind, type RuleContext } from '../index.ts';
import { OptionCheck } from './options.ts';

export interface HttpSmugglingGuardOptions {
  /** The rule's name: the `rule` of its alerts. Default 'http-smuggling-guard'. */
  name?: string;
  /** The anomaly kinds acted on, at least one. Default: the smuggling kinds (`smuggling` in {@link httpAnomalyRules}). */
  kinds?: readonly HttpAnomalyKind[];
  /** Whose messages are judged: 'up' the client's (requests), 'down' the server's, or 'both'. Default 'up'. */
  direction?: Direction | 'both';
  /** 'reset' (default) sends both ends a RST; 'drop' drops the connection silently; 'alert' only alerts. */
  action?: 'reset' | 'drop' | 'alert';
  /** Every alert's severity, over the kind's own (in {@link httpAnomalyRules}). */
  severity?: AlertLevel;
}

export interface HttpAnomalyRule {
  /** The alert's severity. */
  severity: AlertLevel;
  /** One of the request smuggling shapes: acted on by default. */
  smuggling: boolean;
  /** Where the RFC says it: the alert's `method.ref`. */
  ref?: string;
}

/** Every kind the HTTP dissector reports: a kind added there must be placed here. */
export const httpAnomalyRules: Readonly<Record<HttpAnomalyKind, Readonly<HttpAnomalyRule>>> = {
  // The classic desync: a front end reads one framing, the back end the other.
  'cl-te': { severity: 'high', smuggling: true, ref: 'RFC 9112 §6.3' },
  'duplicate-content-length': { severity: 'high', smuggling: true, ref: 'RFC 9112 §6.3' },
  'invalid-content-length': { severity: 'high', smuggling: true, ref: 'RFC 9112 §6.3' },
  'invalid-transfer-encoding': { severity: 'high', smuggling: true, ref: 'RFC 9112 §6.3' },
  'invalid-chunk-size': { severity: 'medium', smuggling: true, ref: 'RFC 9112 §7.1' },
  'obs-fold': { severity: 'medium', smuggling: true, ref: 'RFC 9112 §5.2' },
  'bare-lf': { severity: 'medium', smuggling: true, ref: 'RFC 9112 §2.2' },
  // RFC 9112 §5.1: a server must reject it, a proxy must strip the space: a parser that does neither differs.
  'space-before-colon': { severity: 'high', smuggling: true, ref: 'RFC 9112 §5.1' },
  'invalid-header': { severity: 'low', smuggling: false, ref: 'RFC 9112 §5' },
  'invalid-start-line': { severity: 'low', smuggling: false, ref: 'RFC 9112 §3' },
  'start-line-too-long': { severity: 'low', smuggling: false, ref: 'RFC 9112 §3' },
  'header-too-large': { severity: 'low', smuggling: false, ref: 'RFC 9112 §5' },
  gap: { severity: 'low', smuggling: false },
  'unexpected-response': { severity: 'low', smuggling: false, ref: 'RFC 9112 §9.3.2' },
  'edit-too-late': { severity: 'low', smuggling: false },
};

const allKinds = Object.keys(httpAnomalyRules) as HttpAnomalyKind[];
const smugglingKinds = allKinds.filter((k) => httpAnomalyRules[k].smuggling);

/** Installs the guard (a rule on http.events.anomaly) into the rule set being defined. */
export function httpSmugglingGuard(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: HttpSmugglingGuardOptions = {}): void {
  const check = new OptionCheck('httpSmugglingGuard', 'http-smuggling-guard', options, ['name', 'kinds', 'direction', 'action', 'severity']);
  const kinds = new Set(options.kinds === undefined ? smugglingKinds : check.list('kinds', options.kinds).map((k, i) => check.oneOf(`kinds[${i}]`, check.text(`kinds[${i}]`, k), allKinds, 'cl-te')));
  if (kinds.size === 0) check.fail('kinds', 'is empty: give at least one anomaly kind, or leave it out for the smuggling kinds');
  const side = check.oneOf('direction', options.direction, ['up', 'down', 'both'], 'up');
  const action = check.oneOf('action', options.action, ['reset', 'drop', 'alert'], 'reset');
  const severity = options.severity === undefined ? null : check.severity(options.severity, 'high');
  // Once per connection and kind: a chunked body with a bare LF on every chunk is one alert.
  const alerted = flowState(() => new Set<HttpAnomalyKind>());

  ctx.rule({
    name: check.name,
    on: http.events.anomaly,
    eval: (flow, anomaly) => {
      if (!kinds.has(anomaly.kind) || (side !== 'both' && anomaly.direction !== side)) return;
      const seen = alerted(flow);
      if (!seen.has(anomaly.kind)) {
        seen.add(anomaly.kind);
        const r = httpAnomalyRules[anomaly.kind];
        const fromClient = anomaly.direction === 'up';
        ctx.alert({
          description: `http ${anomaly.kind} (${fromClient ? 'from the client' : 'from the server'})`,
          severity: severity ?? r.severity,
          method: r.ref === undefined ? { description: `http-${anomaly.kind}` } : { description: `http-${anomaly.kind}`, ref: r.ref },
          sources: [fromClient ? flow.client.ip : flow.server.ip],
          targets: fromClient ? [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }] : [flow.client.ip],
          flow,
        });
      }
      if (action === 'reset') flow.reset();
      else if (action === 'drop') flow.drop();
    },
  });
}
