/**
 * defineFlowDissector(): protocol dissectors over a TCP connection's streams, the TypeScript
 * counterpart of Haka's tcp_connection.helper.TcpFlowDissector. A dissector reads each
 * direction of the flows it is enabled on as a TcpStream and raises typed events of its own;
 * rules listen to them like to any event, and act on the flow they carry.
 */
import { defineEvent, type EventDescriptor } from './events.ts';
import { activeContext } from './rules.ts';
import { ruleInvalid } from './errors.ts';
import type { Config } from './config.ts';
import { tcpConnectionEvents, type Direction, type StreamParser, type TcpFlow, type TcpStream } from '../dissectors/tcp-connection/index.ts';

const flowEventBrand = Symbol('palisade.flowEvent');

/** An event a flow dissector declares; its type parameter is the listeners' arguments. */
export interface FlowEventSpec<A extends readonly unknown[]> {
  readonly [flowEventBrand]: true;
  /** Phantom: the listeners' arguments. */
  readonly __args?: A;
}

/** Declares one event of a flow dissector: `command: flowEvent<[flow: TcpFlow, cmd: Command]>()`. */
export function flowEvent<A extends readonly unknown[]>(): FlowEventSpec<A> {
  return { [flowEventBrand]: true };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFlowEvents = Record<string, FlowEventSpec<any>>;
type SpecArgs<S> = S extends FlowEventSpec<infer A> ? A : never;

/** The dissector's events, as rules use them in `on`. */
export type FlowDissectorEvents<Ev extends AnyFlowEvents> = { readonly [K in keyof Ev]: EventDescriptor<SpecArgs<Ev[K]>> };
/** What receiveStreamed raises its events with: `emit.command(flow, cmd)`. */
export type FlowDissectorEmit<Ev extends AnyFlowEvents> = { readonly [K in keyof Ev]: (...args: SpecArgs<Ev[K]>) => void };

/** What a push-mode dissector is given beside its events: its anomalies, counted and policed. */
export interface FlowDissectorHost {
  /**
   * Counts the anomaly `<name>-<kind>` in the stats and applies `policy` to the flow:
   * `drop-flow` drops it, `reset-flow` resets it (the drop reason names the policy's key, `policyKey`).
   */
  anomaly(flow: TcpFlow, kind: string, policy: DissectorPolicy, policyKey: string): void;
  /**
   * Edits one direction of the flow's stream, as TcpStream's insert/erase/replace do: from
   * stream offset `at`, `erase` bytes go and `insert` goes before what follows. Only bytes the
   * parser has not let go yet (a head it held whole) can be edited; edits go forward.
   * Throws PAL_ERR_REWRITE otherwise.
   */
  edit(flow: TcpFlow, direction: Direction, at: number, erase: number, insert: Buffer): void;
  /** The engine's configuration (limits and policies). */
  readonly config: Config;
}

/** What an anomaly of a protocol dissector does to its flow. A stream cannot lose one packet without the receiver stalling on it, so there is no drop-packet. */
export type DissectorPolicy = 'accept' | 'drop-flow' | 'reset-flow';

interface SpecBase<Ev extends AnyFlowEvents> {
  /** Names the dissector: its events are `<name>.<event>`, its errors name it. */
  name: string;
  events: Ev;
  /** The flow's `appProto` once the dissector is on for it (its name when not given). */
  appProto?: string;
  /**
   * On by use: when a rule listens to one of its events, every connection's first client bytes
   * are shown to it (as few as have come, up to 64), on any port: true turns the dissector on
   * for the flow, false does not, undefined asks again with more bytes.
   */
  detect?: (head: Buffer, flow: TcpFlow) => boolean | undefined;
}

export interface StreamedFlowDissectorSpec<Ev extends AnyFlowEvents> extends SpecBase<Ev> {
  /**
   * One run per enabled flow and direction, from the direction's first byte to the end of the
   * stream. Bytes it has not read yet hold their packets back, as for streamed rules.
   */
  receiveStreamed: (flow: TcpFlow, stream: TcpStream, direction: Direction, emit: FlowDissectorEmit<Ev>) => Promise<void> | void;
}

export interface PushFlowDissectorSpec<Ev extends AnyFlowEvents, C = undefined> extends SpecBase<Ev> {
  /** What the two directions' parsers of one connection share (made once, with the first of them), kept on the flow. */
  connection?: (flow: TcpFlow) => C;
  /**
   * Push mode: one parser per enabled flow and direction, made at the direction's first byte and
   * fed each chunk inside the packet that brought it (stream-parser.ts): no await, no copy. Its
   * `buffered` bytes hold their packets back until it has judged them. A parser that throws is a
   * rule error named for the dissector; the flow goes on as bytes.
   */
  parser: (flow: TcpFlow, direction: Direction, emit: FlowDissectorEmit<Ev>, host: FlowDissectorHost, connection: C) => StreamParser;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FlowDissectorSpec<Ev extends AnyFlowEvents, C = any> = StreamedFlowDissectorSpec<Ev> | PushFlowDissectorSpec<Ev, C>;

export interface FlowDissector<Ev extends AnyFlowEvents = AnyFlowEvents> {
  readonly name: string;
  readonly events: FlowDissectorEvents<Ev>;
  /** Turns the dissector on for one flow (from a newConnection rule, before any data). */
  enable(flow: TcpFlow): void;
  /**
   * Inside defineRules: installs a newConnection rule enabling the dissector on connections to
   * `port` (Haka's install_tcp_rule).
   */
  onPort(port: number): void;
}

/** @internal how the engine runs a dissector. */
export interface FlowDissectorImpl extends FlowDissector {
  readonly appProto: string;
  readonly receiveStreamed?: StreamedFlowDissectorSpec<AnyFlowEvents>['receiveStreamed'];
  readonly parser?: PushFlowDissectorSpec<AnyFlowEvents, unknown>['parser'];
  readonly connection?: (flow: TcpFlow) => unknown;
  readonly detect?: (head: Buffer, flow: TcpFlow) => boolean | undefined;
}

/** @internal dissectors that detect their protocol by its first bytes, in the order they were defined. */
export const detectingDissectors: FlowDissectorImpl[] = [];

export function defineFlowDissector<Ev extends AnyFlowEvents, C = undefined>(spec: StreamedFlowDissectorSpec<Ev> | PushFlowDissectorSpec<Ev, C>): FlowDissector<Ev> {
  const streamed = 'receiveStreamed' in spec ? spec.receiveStreamed : undefined;
  const parser = 'parser' in spec ? spec.parser : undefined;
  if ((streamed === undefined) === (parser === undefined)) throw ruleInvalid(spec.name, 'a flow dissector has either receiveStreamed (read with awaits) or parser (push mode), and one of them');
  const events: Record<string, EventDescriptor> = {};
  for (const key of Object.keys(spec.events)) {
    const ev = defineEvent<readonly unknown[]>('tcpConnection', `${spec.name}.${key}`);
    events[key] = ev;
  }
  const appProto = spec.appProto ?? spec.name;
  const dissector: FlowDissectorImpl = {
    name: spec.name,
    appProto,
    events,
    ...(streamed === undefined ? {} : { receiveStreamed: streamed as FlowDissectorImpl['receiveStreamed'] }),
    ...(parser === undefined ? {} : { parser: parser as unknown as FlowDissectorImpl['parser'] }),
    ...('connection' in spec && spec.connection !== undefined ? { connection: spec.connection } : {}),
    ...(spec.detect === undefined ? {} : { detect: spec.detect }),
    enable(flow) {
      // Kept on the flow: the tracker asks per flow whether its bytes are wanted.
      const list = flow.dissectors;
      if (list === null) flow.dissectors = [dissector];
      else if (!list.includes(dissector)) list.push(dissector);
      else return;
      flow.appProto ??= appProto;
    },
    onPort(port) {
      const ctx = activeContext();
      if (ctx === null) throw ruleInvalid(spec.name, `${spec.name}.onPort(${port}) installs a rule: call it inside defineRules(() => { … })`);
      ctx.rule({
        name: `${spec.name}.onPort(${port})`,
        on: tcpConnectionEvents.newConnection,
        eval: (flow) => {
          if (flow.server.port === port) dissector.enable(flow);
        },
      });
    },
  };
  if (spec.detect !== undefined) detectingDissectors.push(dissector);
  return dissector as unknown as FlowDissector<Ev>;
}

/** @internal what a push dissector's parsers share on `flow` (its `connection`), made on first use. */
export function connectionState(flow: TcpFlow, d: FlowDissectorImpl): unknown {
  if (d.connection === undefined) return undefined;
  const list = flow.dissectors ?? [];
  const i = list.indexOf(d);
  const states = (flow.dissectorState ??= []);
  if (states[i] === undefined) states[i] = d.connection(flow);
  return states[i];
}

/** @internal the dissectors enabled on a flow. */
export function enabledDissectors(flow: TcpFlow): readonly FlowDissectorImpl[] {
  return (flow.dissectors ?? []) as FlowDissectorImpl[];
}

/** @internal where a dissector's emit object raises its events (the engine's Dispatch). */
export interface FlowEventSink {
  emitFlowEvent(ev: EventDescriptor, a: unknown, b?: unknown, c?: unknown, d?: unknown): void;
  emitFlowEventArgs(ev: EventDescriptor, args: readonly unknown[]): void;
}

/** @internal the emit object for one dissector: `emit.command(flow, cmd)` raises `<name>.command`. */
export function dissectorEmitter(d: FlowDissector, sink: FlowEventSink): Record<string, (...args: unknown[]) => void> {
  const out: Record<string, (...args: unknown[]) => void> = {};
  for (const [key, ev] of Object.entries(d.events as Record<string, EventDescriptor>)) {
    // No array per event: up to four arguments go as they are.
    out[key] = function (a?: unknown, b?: unknown, c?: unknown, d4?: unknown) {
      // eslint-disable-next-line prefer-rest-params
      if (arguments.length > 4) sink.emitFlowEventArgs(ev, Array.from(arguments as ArrayLike<unknown>));
      else sink.emitFlowEvent(ev, a, b, c, d4);
    };
  }
  return out;
}
