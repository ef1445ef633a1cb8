/**
 * Dispatch: the listener lists by event id, running a listener with its name known (for alerts,
 * logs and errors), Haka's rule groups, and what happens when a rule throws or rejects. The
 * rule registry (rule-registry.ts) fills the lists; the engine and the trackers raise events.
 */
import type { Logger } from 'pino';
import type { AnyEvent } from './events.ts';
import type { StreamedRuleSpec } from './rules.ts';
import type { AlertWriter } from './alert.ts';
import type { RuleErrors } from './rule-errors.ts';
import type { Packet } from '../dissectors/packet.ts';
import { TcpFlow } from '../dissectors/tcp-connection/index.ts';
import { UdpFlow } from '../dissectors/udp-connection/index.ts';
import type { DropReason, FlowAction } from '../dissectors/verdict.ts';
import type { Turn } from '../dissectors/turn.ts';
import { describeThrown } from './describe-thrown.ts';
import { thrown, traceEvent, traceRule } from './trace/steps.ts';

export interface Listener {
  readonly name: string;
  readonly fn: (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown;
  /** Its drop's reason, made once when it is installed: `rule` (or `group-final` for a group's final), name, file and line. */
  readonly reason: DropReason;
}

/** The reason a rule's drop gives, made once per rule. */
export function ruleReason(kind: 'rule' | 'group-final', name: string, where?: { shown: string; line: number }): DropReason {
  return Object.freeze(where === undefined || where.line === 0 ? { kind, rule: name } : { kind, rule: name, file: where.shown, line: where.line });
}

export interface StreamedListener {
  readonly name: string;
  readonly fn: StreamedRuleSpec['eval'];
}

/** An `eval` that returned a promise (an async rule). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Where an async rule's pending result goes (the scheduler counts it as running). */
export type WatchAsync = (name: string, pending: PromiseLike<unknown>, subject: unknown) => void;

export class Dispatch {
  /** Listeners by event id. */
  readonly lists: Listener[][];
  /** Streamed rules (receiveData with options.streamed): one run per flow and direction. */
  readonly streamed: StreamedListener[] = [];
  /** Where async results go; set by the engine once the scheduler exists. */
  watch: WatchAsync = () => undefined;
  readonly #pkt: Packet;
  /** The engine's turn: the frame in hand (or none), the rule running, a frame being released, the trace. */
  readonly #turn: Turn;
  readonly #alerts: AlertWriter;
  readonly #log: Logger;
  readonly #ruleErrors: RuleErrors;
  readonly #dropOnError: () => boolean;
  /** Each installed rule's reason by name (its declaration's file and line). */
  readonly #reasons = new Map<string, DropReason>();
  /** A rule error dropping a flow: the reason its action gives. */
  #faultReason: DropReason | null = null;

  constructor(eventCount: number, pkt: Packet, turn: Turn, alerts: AlertWriter, log: Logger, ruleErrors: RuleErrors, dropOnError: () => boolean) {
    this.lists = Array.from({ length: eventCount }, () => []);
    this.#pkt = pkt;
    this.#turn = turn;
    this.#alerts = alerts;
    this.#log = log;
    this.#ruleErrors = ruleErrors;
    this.#dropOnError = dropOnError;
  }

  /** Files a rule (or a group's runner) under its event, after those before it: the rule registry installs through here. */
  add(ev: AnyEvent, listener: Listener): void {
    (this.lists[ev.id] ??= []).push(listener);
    this.noteRule(listener.reason);
  }

  /** Files a rule's declaration (a group's rule, a streamed rule) for reasons made at run time. */
  noteRule(reason: DropReason): void {
    if (reason.rule !== undefined) this.#reasons.set(reason.rule, reason);
  }

  has(ev: AnyEvent): boolean {
    return (this.lists[ev.id]?.length ?? 0) > 0;
  }

  /** EventSink: the trackers raise their events straight through emit(). */
  listening(ev: AnyEvent): boolean {
    return this.has(ev);
  }

  /** Runs an event's listeners in order; once the packet is dropped, later listeners do not see it (Haka). */
  emit(ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const list = this.lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const turn = this.#turn;
    // The frame whose drop stops the listeners: a held frame going out, or the current one.
    const pkt = turn.releasing ?? this.#pkt;
    const trace = turn.trace;
    if (trace !== null) traceEvent(trace, ev, a, b, c, d);
    for (const l of list) {
      turn.rule = l.name;
      const t0 = trace === null ? 0 : performance.now();
      let ret: unknown;
      try {
        ret = l.fn(a, b, c, d);
        if (isThenable(ret)) this.watch(l.name, ret, a);
      } catch (err) {
        this.ruleError(l.name, err);
        if (trace !== null) ret = thrown(err);
      }
      if (trace !== null) traceRule(trace, l.name, ret, t0, pkt.dropped);
      if (pkt.dropped) {
        if (pkt.reason === null) pkt.reason = l.reason;
        break;
      }
    }
    turn.rule = '';
  }

  /**
   * A flow dissector's event, raised from its run: once the flow is dropped, later listeners
   * skip it. Its arguments come as they were given, the flow first (no array made per event).
   */
  emitFlowEvent(ev: AnyEvent, a: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const list = this.lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const flow = a as TcpFlow | undefined;
    const turn = this.#turn;
    const pkt = this.#pkt;
    // A dropped or reset flow's later events (bytes its dissector had buffered) reach no rule.
    if (flow?.dropped === true || (turn.frame !== null && pkt.dropped)) return;
    const trace = turn.trace;
    if (trace !== null) traceEvent(trace, ev, a, b, c, d);
    const outer = turn.rule;
    for (const l of list) {
      turn.rule = l.name;
      const t0 = trace === null ? 0 : performance.now();
      let ret: unknown;
      try {
        ret = l.fn(a, b, c, d);
      } catch (err) {
        this.ruleError(l.name, err, flow);
        if (trace !== null) ret = thrown(err);
      }
      if (trace !== null) traceRule(trace, l.name, ret, t0, turn.frame !== null && pkt.dropped);
      // Read through a call: a listener may drop the flow or the packet.
      if (this.#flowStopped(flow)) {
        if (turn.frame !== null && pkt.dropped && pkt.reason === null) pkt.reason = l.reason;
        break;
      }
    }
    turn.rule = outer;
  }

  #flowStopped(flow: TcpFlow | undefined): boolean {
    return flow?.dropped === true || (this.#turn.frame !== null && this.#pkt.dropped);
  }

  /** A flow dissector's event with more than four arguments. */
  emitFlowEventArgs(ev: AnyEvent, args: readonly unknown[]): void {
    const list = this.lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const flow = args[0] as TcpFlow | undefined;
    if (this.#flowStopped(flow)) return;
    const outer = this.#turn.rule;
    for (const l of list) {
      this.#turn.rule = l.name;
      try {
        (l.fn)(...args);
      } catch (err) {
        this.ruleError(l.name, err, flow);
      }
      if (this.#flowStopped(flow)) break;
    }
    this.#turn.rule = outer;
  }

  /** Haka's group: init, then each rule with `continue` after it; `final` if none stopped it. */
  groupRunner(name: string, spec: { init?: unknown; continue?: unknown; final?: unknown }, rules: Listener[], finalReason: DropReason): Listener['fn'] {
    const init = spec.init as Listener['fn'] | undefined;
    const cont = (spec.continue as ((ret: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown) | undefined) ?? ((ret: unknown) => !ret);
    const final = spec.final as Listener['fn'] | undefined;
    const turn = this.#turn;
    return (a, b, c, d) => {
      const pkt = turn.releasing ?? this.#pkt;
      const trace = turn.trace;
      if (init) {
        turn.rule = name;
        init(a, b, c, d);
        if (pkt.dropped) return;
      }
      for (const r of rules) {
        turn.rule = r.name;
        const t0 = trace === null ? 0 : performance.now();
        let ret: unknown;
        try {
          ret = r.fn(a, b, c, d);
          if (isThenable(ret)) this.watch(r.name, ret, a);
        } catch (err) {
          this.ruleError(r.name, err);
          if (trace !== null) ret = thrown(err);
        }
        if (trace !== null) traceRule(trace, `${name} > ${r.name}`, ret, t0, pkt.dropped);
        if (pkt.dropped) {
          if (pkt.reason === null) pkt.reason = r.reason;
          return;
        }
        turn.rule = name;
        if (!cont(ret, a, b, c, d)) return;
      }
      if (final) {
        turn.rule = name;
        const t0 = trace === null ? 0 : performance.now();
        const ret = final(a, b, c, d);
        if (trace !== null) traceRule(trace, `${name} > final`, ret, t0, pkt.dropped);
        if (pkt.dropped && pkt.reason === null) pkt.reason = finalReason;
      }
    };
  }

  /** The rule running now: a listener of the current event, or a streamed rule across its awaits. */
  ruleName(): string {
    const turn = this.#turn;
    return turn.rule !== '' ? turn.rule : turn.running;
  }

  /** The frame an alert names: the packet being judged, or the one whose bytes a streamed rule just read. */
  alertPacket(): number | undefined {
    const turn = this.#turn;
    if (turn.releasing !== null) return turn.releasing.id;
    if (turn.frame !== null) return turn.frame.id;
    return turn.running !== '' && turn.runningFrame > 0 ? turn.runningFrame : undefined;
  }

  /**
   * A rule threw (or rejected): its first errors logged and alerted, the rest counted
   * (rule-errors.ts); under ruleErrorPolicy `drop` the packet is dropped, or, between packets
   * (a streamed rule), its flow: fail closed.
   */
  ruleError(name: string, err: unknown, flow?: TcpFlow | UdpFlow): void {
    const { message, stack } = describeThrown(err);
    if (this.#ruleErrors.record(name, message)) {
      const turn = this.#turn;
      this.#log.error({ rule: name, err: { message, stack }, packet: turn.releasing?.id ?? turn.frame?.id }, `rule '${name}' threw: ${message}`);
      this.#alerts.raise(name, this.alertPacket(), { description: `rule error: ${message}` }, { error: message });
    }
    if (!this.#dropOnError()) return;
    const reason: DropReason = { kind: 'rule-error', rule: name, ...this.#where(name) };
    const turn = this.#turn;
    if (turn.releasing !== null) turn.releasing.dropFor(reason);
    else if (turn.frame !== null) turn.frame.dropFor(reason);
    else if (flow !== undefined) {
      this.#faultReason = reason;
      try {
        flow.drop();
      } finally {
        this.#faultReason = null;
      }
    }
  }

  /** Where a rule was declared, by name (for a reason made at run time: a flow action, a rule error). */
  #where(name: string): { file?: string; line?: number } {
    const r = this.#reasons.get(name);
    return r?.file === undefined ? {} : { file: r.file, line: r.line };
  }

  /**
   * The reason a flow action gives its flow's frames: the running rule and the frame it is
   * about (0 between packets); or, when a rule's fault under `ruleErrorPolicy: drop` drops the
   * flow, that rule error. The trackers call it as the action is taken.
   */
  readonly flowActionReason = (action: FlowAction): DropReason => {
    if (this.#faultReason !== null) return this.#faultReason;
    const rule = this.ruleName();
    const reason: DropReason = Object.freeze({ kind: 'flow-action', action, ...(rule !== '' ? { rule, ...this.#where(rule) } : {}), frame: this.alertPacket() ?? 0 });
    this.#turn.blocked ??= reason;
    return reason;
  };

  /** The flow an event was about (its first argument), for an async rule's late error. */
  static flowOf(subject: unknown): TcpFlow | UdpFlow | undefined {
    return subject instanceof TcpFlow || subject instanceof UdpFlow ? subject : undefined;
  }
}
