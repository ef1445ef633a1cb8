/**
 * `ctl trace <flow id | 5-tuple>`: which flow's frames to trace. A flow id is the engine's
 * (`12`, or a flow record's uid `C12`), one per queue; a 5-tuple is `tcp|udp A:port B:port` in
 * either order, matched against the connection's client and server whichever way round they
 * are. Addresses are kept in the engine's text (RFC 5952 for IPv6, `[ip]:port`), so that a match
 * is a string compare.
 */
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import type * as IpNum from 'ip-num';
import { ipv6TextAt } from '../address-text.ts';
import { usageError } from '../errors.ts';
import type { TracedFlowKey } from './tracer.ts';

export type FlowSelection =
  | { readonly flow: number }
  | { readonly proto: 'tcp' | 'udp'; readonly a: string; readonly b: string };

const usage = 'palisade ctl trace: takes a flow id (12 or C12) or a 5-tuple (tcp 10.0.0.1:40000 10.0.0.2:80, udp …, [fd00::1]:53 for IPv6)';

/** The command line's words after `trace`. */
export function parseFlowSelection(words: readonly string[]): FlowSelection {
  const [first, ...rest] = words;
  if (first === undefined) throw usageError(usage);
  if (first === 'tcp' || first === 'udp') {
    if (rest.length !== 2) throw usageError(`${usage}; '${words.join(' ')}' needs two endpoints after ${first}`);
    return { proto: first, a: endpoint(rest[0] ?? ''), b: endpoint(rest[1] ?? '') };
  }
  if (rest.length > 0) throw usageError(`${usage}, not '${words.join(' ')}'`);
  const m = /^C?(\d+)$/.exec(first);
  if (m === null) throw usageError(`${usage}, not '${first}'`);
  const flow = Number(m[1]);
  if (!Number.isSafeInteger(flow) || flow < 1) throw usageError(`palisade ctl trace: flow ids count from 1, not '${first}'`);
  return { flow };
}

/** A selection that came over the control socket: checked as the command line's is, or null. */
export function checkFlowSelection(x: unknown): FlowSelection | null {
  if (typeof x !== 'object' || x === null) return null;
  const s = x as { flow?: unknown; proto?: unknown; a?: unknown; b?: unknown };
  try {
    if (typeof s.flow === 'number') return parseFlowSelection([String(s.flow)]);
    if ((s.proto === 'tcp' || s.proto === 'udp') && typeof s.a === 'string' && typeof s.b === 'string') return parseFlowSelection([s.proto, s.a, s.b]);
  } catch {
    return null;
  }
  return null;
}

/** Whether a traced frame's flow is the one selected. */
export function flowMatcher(s: FlowSelection): (key: TracedFlowKey) => boolean {
  if ('flow' in s) {
    const id = s.flow;
    return (key) => key.flow === id;
  }
  const { proto, a, b } = s;
  return (key) => key.proto === proto && ((key.client === a && key.server === b) || (key.client === b && key.server === a));
}

/** The selection as people read it: `flow 12`, `tcp 10.0.0.1:40000 <> 10.0.0.2:80`. */
export function describeFlowSelection(s: FlowSelection): string {
  return 'flow' in s ? `flow ${s.flow}` : `${s.proto} ${s.a} <> ${s.b}`;
}

/** `ip:port` or `[ipv6]:port`, in the engine's text. */
function endpoint(text: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const bad = (why: string): Error => usageError(`palisade ctl trace: '${text}' ${why}`);
  if (m === null) throw bad('is not an endpoint: write ip:port (10.0.0.1:40000) or [ipv6]:port ([fd00::1]:53)');
  const port = Number(m[3]);
  if (port > 65535) throw bad(`has port ${port}; ports go up to 65535`);
  const v6 = m[1];
  if (v6 !== undefined) {
    if (!isIPv6(v6) || v6.includes('%')) throw bad(`has '${v6}' in brackets, which is not an IPv6 address (without a zone)`);
    return `[${ipv6Text(v6)}]:${port}`;
  }
  const v4 = m[2] ?? '';
  if (!isIPv4(v4)) throw bad(`has '${v4}', which is not an IPv4 address (an IPv6 one goes in brackets: [fd00::1]:53)`);
  return `${v4}:${port}`;
}

/** RFC 5952 text, as the engine writes it (`fd77:201:0::1` is `fd77:201::1`). */
function ipv6Text(text: string): string {
  const ipNum = createRequire(import.meta.url)('ip-num') as typeof IpNum;
  let value = ipNum.IPv6.fromString(text).value;
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return ipv6TextAt(bytes, 0);
}
