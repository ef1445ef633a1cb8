/**
 * Keyword reset: a connection whose client sends a line starting with a forbidden command is
 * reset before the server sees the whole line (Haka's tcp filter, for line protocols: FTP,
 * SMTP, POP3, IMAP, Redis, memcached).
 *
 * TCP does not keep writes together: a client (or an evasion tool) can send "SITE EX" in one
 * segment and "EC /bin/sh" in the next. So the start of the current line is kept per connection
 * and matched as bytes arrive; the segment that completes a match is dropped with the reset, so
 * the server never holds the forbidden line. Only the first `lineStart` bytes of a line are
 * kept: a client that never sends a newline cannot make palisade buffer without bound.
 *
 *   keywordReset(ctx, { ports: 21, keywords: [{ pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC' }] });
 */
import { flowState, PalisadeError, tcpConnection, type AlertLevel, type Direction, type RuleContext } from '../index.ts';
import { portMatcher, type PortList } from './ports.ts';

export interface Keyword {
  /** Tested against the start of each line (its first `lineStart` bytes, as latin1 text). */
  pattern: RegExp;
  /** What it is: the alert's `method.description`. */
  description: string;
  /** A CVE or other reference: the alert's `method.ref`. */
  ref?: string | string[];
}

export interface KeywordResetOptions {
  /** The rule's name: the `rule` of its alerts. Default 'keyword-reset'. */
  name?: string;
  /** The forbidden line starts. */
  keywords: readonly Keyword[];
  /**
   * Only connections to these server ports are read (the others skip reassembly, a rule named
   * `<name>-ports`). Default: every connection.
   */
  ports?: PortList;
  /** Which side's lines are read. Default 'up' (what clients send). */
  direction?: Direction;
  /** Bytes of each line kept to match on. Default 64. */
  lineStart?: number;
  /** The alert's description, before the line: `${description}: ${line}`. Default 'forbidden command'. */
  description?: string;
  /** The alert's severity. Default 'high'. */
  severity?: AlertLevel;
  /** 'reset' (default) sends both ends a RST; 'drop' drops the connection silently; 'alert' only alerts. */
  action?: 'reset' | 'drop' | 'alert';
}

export function keywordReset(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: KeywordResetOptions): void {
  const name = options.name ?? 'keyword-reset';
  const lineStart = options.lineStart ?? 64;
  if (!Number.isInteger(lineStart) || lineStart < 1) throw new PalisadeError('PAL_ERR_RULE_INVALID', `keywordReset '${name}': lineStart must be a positive integer, not ${String(lineStart)}`);
  if (options.keywords.length === 0) throw new PalisadeError('PAL_ERR_RULE_INVALID', `keywordReset '${name}': keywords is empty; give at least one`);
  const keywords = options.keywords;
  const side = options.direction ?? 'up';
  const label = options.description ?? 'forbidden command';
  const severity = options.severity ?? 'high';
  const action = options.action ?? 'reset';
  const ports = portMatcher(options.ports, `keywordReset '${name}': ports`);
  /** The start of the line being sent, and whether it was already matched. */
  const line = flowState(() => ({ start: '', matched: false }));

  if (ports !== null) {
    ctx.rule({
      name: `${name}-ports`,
      on: tcpConnection.events.newConnection,
      // Reassembly costs memory and time: keep it for the connections this rule reads.
      eval: (flow) => {
        if (!ports(flow.server.port)) flow.ignoreData();
      },
    });
  }
  ctx.rule({
    name,
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction !== side || (ports !== null && !ports(flow.server.port))) return;
      const current = line(flow);
      const text = data.toString('latin1');
      for (let from = 0; from <= text.length; ) {
        const newline = text.indexOf('\n', from);
        const end = newline < 0 ? text.length : newline;
        if (!current.matched) {
          const room = lineStart - current.start.length;
          if (room > 0) current.start += text.slice(from, Math.min(end, from + room));
          const hit = keywords.find((k) => k.pattern.test(current.start));
          // One alert per line, however many segments it takes.
          if (hit) {
            current.matched = true;
            ctx.alert({
              description: `${label}: ${current.start.trim()}`,
              severity,
              method: hit.ref === undefined ? { description: hit.description } : { description: hit.description, ref: hit.ref },
              sources: [side === 'up' ? flow.client.ip : flow.server.ip],
              targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
              flow,
            });
            if (action === 'reset') flow.reset();
            else if (action === 'drop') flow.drop();
          }
        }
        if (newline < 0) break;
        current.start = '';
        current.matched = false;
        from = newline + 1;
      }
    },
  });
}

