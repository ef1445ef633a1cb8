/**
 * The rule API: defineRules(), rule(), ruleGroup(), flowState(). A rule file's default export is
 * a RuleSet; the engine calls its setup with a RuleContext to register the rules.
 */
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import type { Logger } from 'pino';
import type { AnyEvent, ArgsOf } from './events.ts';
import type { AlertHandle, AlertInput } from './alert.ts';
import type { EventDescriptor } from './events.ts';
import type { Direction, TcpFlow, TcpStream } from '../dissectors/tcp-connection/index.ts';

export interface RuleSpec<E extends AnyEvent> {
  /** Names the rule in logs, alerts and traces; defaults to the file and line that declared it. */
  name?: string;
  /** The event to listen to, e.g. `tcp.events.receivePacket`; it types `eval`'s parameters. */
  on: E;
  eval: (...args: ArgsOf<E>) => unknown;
  options?: { streamed?: false };
}

/**
 * A streamed rule (design §3): one async run per flow and direction over a TcpStream, from the
 * direction's first byte to its end. Packets whose bytes it has not read yet are held.
 */
export interface StreamedRuleSpec {
  name?: string;
  on: EventDescriptor<[flow: TcpFlow, data: Buffer, direction: Direction, offset: number]>;
  options: { streamed: true };
  eval: (flow: TcpFlow, stream: TcpStream, direction: Direction) => Promise<void> | void;
}

/** rule(): the streamed overload first, so `options: { streamed: true }` picks it. */
export interface RuleFunction {
  (spec: StreamedRuleSpec): void;
  <E extends AnyEvent>(spec: RuleSpec<E>): void;
}

export interface GroupRuleSpec<E extends AnyEvent> {
  name?: string;
  /** The group's `continue` receives what this returns. */
  eval: (...args: ArgsOf<E>) => unknown;
}

export interface RuleGroupSpec<E extends AnyEvent> {
  name: string;
  on: E;
  /** Called first on each event. */
  init?: (...args: ArgsOf<E>) => void;
  /** After each rule; returning false stops the group and skips `final`. Default `(ret) => !ret`. */
  continue?: (ret: unknown, ...args: ArgsOf<E>) => boolean;
  /** Called when every rule ran without `continue` stopping the group. */
  final?: (...args: ArgsOf<E>) => void;
}

export interface RuleGroup<E extends AnyEvent> {
  readonly name: string;
  /** Adds a rule; rules run in the order they were added. */
  rule: (spec: GroupRuleSpec<E>) => void;
}

// Function-typed properties, not methods: rule files destructure them (`({ rule, alert }) =>`).
export interface RuleContext {
  rule: RuleFunction;
  ruleGroup: <E extends AnyEvent>(spec: RuleGroupSpec<E>) => RuleGroup<E>;
  /** Raises an alert: one JSON line with the running rule's name. */
  alert: (input: AlertInput) => AlertHandle;
  /** A pino logger for this rule file. */
  log: Logger;
  flowState: typeof flowState;
}

const ruleSetBrand = Symbol.for('palisade.ruleSet');

export interface RuleSet {
  readonly [ruleSetBrand]: true;
  /** @internal */
  readonly setup: (ctx: RuleContext) => void;
  /** Where defineRules() was called (file path), for messages. */
  readonly source: string;
}

/** `export default defineRules(({ rule, ruleGroup, alert, log }) => { … })`. */
export function defineRules(setup: (ctx: RuleContext) => void): RuleSet {
  return { [ruleSetBrand]: true, setup, source: callerLocation().file };
}

export function isRuleSet(value: unknown): value is RuleSet {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ruleSetBrand] === true;
}

/** The context of the defineRules() setup running now (for helpers such as dissector.onPort()). */
let active: RuleContext | null = null;

/** A rule set's per-flow state stores (flowState), which the engine empties of a flow when it ends. */
export type FlowStores = WeakMap<object, unknown>[];

/**
 * @internal runs a rule set's setup with its context active. Returns the flowState stores it
 * owns: those made during the setup, and those its module made as it loaded (just before).
 */
export function runSetup(set: RuleSet, ctx: RuleContext): FlowStores {
  const outer = active;
  const outerStores = collecting;
  const stores = unclaimed;
  unclaimed = [];
  active = ctx;
  collecting = stores;
  try {
    set.setup(ctx);
  } finally {
    active = outer;
    collecting = outerStores;
  }
  return stores;
}

/** @internal the context of the setup running now, or null outside one. */
export function activeContext(): RuleContext | null {
  return active;
}

/**
 * flowState stores are owned by the rule set whose setup made them (or whose module made them
 * as it loaded), so that an engine releases a flow's state from its own rules' stores only, and
 * a reloaded rule file's new stores replace the old ones instead of adding to a global list.
 */
let collecting: FlowStores | null = null;
let unclaimed: FlowStores = [];

/**
 * Typed per-flow state: `const s = flowState(() => ({ n: 0 })); s(flow).n++`. The state is
 * created on first use and released after the flow's endConnection listeners ran.
 */
export function flowState<T>(init: () => T): (flow: object) => T {
  const states = new WeakMap<object, T>();
  // Keyed weakly: a store a setup never claims (a module loaded but not installed) costs nothing.
  (collecting ?? unclaimed).push(states);
  return (flow) => {
    let s = states.get(flow);
    if (s === undefined) {
      s = init();
      states.set(flow, s);
    }
    return s;
  };
}

/** @internal the engine calls it once a flow's endConnection is over. */
export function releaseFlowState(stores: FlowStores, flow: object): void {
  for (const store of stores) store.delete(flow);
}

const coreDir = fileURLToPath(new URL('.', import.meta.url));

/** The first stack frame outside palisade's core: where the user declared a rule. */
export function callerLocation(): { file: string; line: number; text: string; shown: string } {
  const stack = new Error().stack ?? '';
  for (const raw of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):\d+\)?$/.exec(raw.trim());
    if (!m?.[1] || !m[2]) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    if (file.startsWith(coreDir) || file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(process.cwd(), file);
    const shown = rel.startsWith('..') ? file : rel;
    return { file, line: Number(m[2]), text: `${shown}:${m[2]}`, shown };
  }
  return { file: '<unknown>', line: 0, text: '<unknown>', shown: '<unknown>' };
}
