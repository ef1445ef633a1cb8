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
import { flowState, tcpConnection, type AlertLevel, type Direction, type RuleContext } from '../index.ts';
import { OptionCheck } from './options.ts';
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
  /** Required, at least one: the forbidden line starts. */
  keywords: readonly Keyword[];
  /** Only connections to these server ports are read: one port, a list, or `{ from, to }` (inclusive). Default: every connection. */
  ports?: PortList;
  /**
   * Tell connections to other ports to skip reassembly (`flow.ignoreData()`, from a rule named
   * `<name>-ports` on newConnection), so palisade reassembles only what this module reads. Only
   * when no other rule reads those connections' data: `ignoreData` stops it for every rule.
   * Needs `ports`. Default false.
   */
  ignoreOtherPorts?: boolean;
  /** Which side's lines are read. Default 'up' (what clients send). */
  direction?: Direction;
  /** Bytes of each line kept to match on (a keyword past them is not seen). Default 64. */
  lineStart?: number;
  /** The alert's description, before the line: `${description}: ${line}`. Default 'forbidden command'. */
  description?: string;
  /** The alert's severity. Default 'high'. */
  severity?: AlertLevel;
  /** 'reset' (default) sends both ends a RST; 'drop' drops the connection silently; 'alert' only alerts. */
  action?: 'reset' | 'drop' | 'alert';
}

/** Installs the keyword filter (a rule on receiveData, and one on newConnection with `ports`) into the rule set being defined. */
export function keywordReset(ctx: Pick<RuleContext, 'rule' | 'alert'>, options: KeywordResetOptions): void {
  const check = new OptionCheck('keywordReset', 'keyword-reset', options, ['name', 'keywords', 'ports', 'ignoreOtherPorts', 'direction', 'lineStart', 'description', 'severity', 'action']);
  const name = check.name;
  const lineStart = check.count('lineStart', options.lineStart, 64);
  const keywords = check.list('keywords', options.keywords).map((k, i) => keyword(check, i, k));
  if (keywords.length === 0) check.fail('keywords', 'is empty: give at least one keyword');
  const side = check.oneOf('direction', options.direction, ['up', 'down'], 'up');
  const label = check.text('description', options.description, 'forbidden command');
  const severity = check.severity(options.severity, 'high');
  const action = check.oneOf('action', options.action, ['reset', 'drop', 'alert'], 'reset');
  const ports = portMatcher(check, 'ports', options.ports);
  const ignoreOthers = check.flag('ignoreOtherPorts', options.ignoreOtherPorts, false);
  if (ignoreOthers && ports === null) check.fail('ignoreOtherPorts', 'needs ports: with no ports, every connection is read');
  /** The start of the line being sent, and whether it was already matched. */
  const line = flowState(() => ({ start: '', matched: false }));

  if (ignoreOthers && ports !== null) {
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
      for (let from = 0; from <= data.length; ) {
        const newline = data.indexOf(0x0a, from);
        const end = newline < 0 ? data.length : newline;
        const room = lineStart - current.start.length;
        // A line start already full was matched already: the rest of a long line costs nothing.
        if (!current.matched && room > 0 && end > from) {
          current.start += data.toString('latin1', from, Math.min(end, from + room));
          const hit = keywords.find((k) => matches(k.pattern, current.start));
          // One alert per line, however many segments it takes.
          if (hit) {
            current.matched = true;
            ctx.alert({
              description: `${label}: ${current.start.trim()}`,
              severity,
              method: hit.ref === undefined ? { description: hit.description } : { description: hit.description, ref: hit.ref },
              sources: [side === 'up' ? flow.client.ip : flow.server.ip],
              targets: side === 'up' ? [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }] : [flow.client.ip],
              flow,
            });
            // The connection is over: its later lines do not matter.
            if (action === 'reset') {
              flow.reset();
              return;
            }
            if (action === 'drop') {
              flow.drop();
              return;
            }
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

/** A keyword checked, its pattern copied: a /g or /y pattern's lastIndex is the module's own. */
function keyword(check: OptionCheck, i: number, value: unknown): Keyword {
  const k = check.keys(`keywords[${i}]`, value, ['pattern', 'description', 'ref']);
  if (!(k.pattern instanceof RegExp)) check.fail(`keywords[${i}].pattern`, `must be a regular expression (/^\\s*SITE\\s+EXEC/i), not ${typeof k.pattern === 'string' ? `'${k.pattern}'` : String(k.pattern)}`);
  const description = check.text(`keywords[${i}].description`, k.description);
  const pattern = new RegExp(k.pattern);
  if (k.ref === undefined) return { pattern, description };
  const refs = typeof k.ref === 'string' ? [k.ref] : check.list(`keywords[${i}].ref`, k.ref);
  refs.forEach((r, j) => check.text(typeof k.ref === 'string' ? `keywords[${i}].ref` : `keywords[${i}].ref[${j}]`, r));
  return { pattern, description, ref: k.ref as string | string[] };
}

/** `RegExp.test` from the start: a /g or /y pattern would go on from where its last match ended. */
function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(text);
}
