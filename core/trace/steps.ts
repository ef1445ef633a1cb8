/**
 * The steps the packet path records while a frame is traced (turn.trace not null): events with
 * their arguments in short, rule runs with their result and time (the trackers add the flow a
 * frame joined: dissectors/flow/trace-flow.ts).
 * Called only behind a `trace !== null` test: tracing off costs that test.
 */
import type { FrameTrace } from '../../dissectors/trace.ts';
import type { AnyEvent } from '../events.ts';
import { describeThrown } from '../describe-thrown.ts';

/** An argument in a few words: `flow 3`, `1460 bytes`, `up`, `TcpPacket`. */
function short(x: unknown): string {
  if (x === undefined) return '';
  if (x === null) return 'null';
  if (typeof x === 'string') return x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (typeof x === 'object') {
    const o = x as { id?: unknown; client?: unknown; kind?: unknown };
    if (typeof o.id === 'number' && typeof o.client === 'object') return `flow ${o.id}`;
    if (typeof o.kind === 'string') return o.kind;
    return x.constructor.name;
  }
  return typeof x;
}

export function traceEvent(trace: FrameTrace, ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
  const args = [a, b, c, d].filter((x) => x !== undefined).map(short).join(', ');
  trace.steps.push({ step: 'event', event: ev.name, args });
}

/** What a traced rule threw, as its result. */
export class Thrown {
  constructor(readonly message: string) {}
}

export function thrown(err: unknown): Thrown {
  return new Thrown(describeThrown(err).message);
}

export function traceRule(trace: FrameTrace, rule: string, ret: unknown, t0: number, dropped: boolean): void {
  const micros = Math.round((performance.now() - t0) * 1000);
  if (ret instanceof Thrown) {
    trace.steps.push({ step: 'rule', rule, result: 'threw', micros, threw: ret.message, ...(dropped ? { dropped: true as const } : {}) });
    return;
  }
  const result = ret !== null && typeof ret === 'object' && typeof (ret as { then?: unknown }).then === 'function' ? 'promise' : short(ret) || 'undefined';
  trace.steps.push({ step: 'rule', rule, result, micros, ...(dropped ? { dropped: true as const } : {}) });
}
