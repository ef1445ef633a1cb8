/**
 * Dispatch: the listener lists by event id, running a listener with its name known (for alerts,
 * logs and errors), Haka's rule groups, and what happens when a rule throws or rejects. The
 * rule registry (rule-registry.ts) fills the lists; the engine and the trackers raise events.
 */
import type { Logger } from 'pino';
import type { AnyEvent } from './events.ts';
import { packetEvents } from './events.ts';
import { PalisadeError } from './errors.ts';
import type { StreamedRuleSpec } from './rules.ts';
import type { AlertWriter } from './alert.ts';
import type { RuleErrors } from './rule-errors.ts';
import type { Packet } from '../dissectors/packet.ts';
import { TcpFlow } from '../dissectors/tcp-connection/index.ts';
import { UdpFlow } from '../dissectors/udp-connection/index.ts';
import type { DropReason, FlowAction } from '../dissectors/verdict.ts';

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

/**
 * What a rule threw, as text, whatever it was: an Error, a string, an object without toString
 * (Object.create(null)), an Error whose message getter throws. Never throws itself: it runs in
 * the handler that keeps a rule's fault from ending the engine.
 */
export function describeThrown(err: unknown): { message: string; stack?: string } {
  const text = (read: () => unknown): string | undefined => {
    try {
      return String(read());
    } catch {
      return undefined;
    }
  };
  // A coded error (a rule misusing palisade's API) keeps its code in the message.
  if (err instanceof PalisadeError) return { message: err.toString(), stack: text(() => err.stack ?? '') };
  if (err instanceof Error) {
    return { message: text(() => err.message) ?? text(() => Object.prototype.toString.call(err)) ?? 'an Error', stack: text(() => err.stack ?? '') };
  }
  return { message: text(() => err) ?? text(() => Object.prototype.toString.call(err)) ?? 'a value that cannot be printed' };
}

/** Where an async rule's pending result goes (the scheduler counts it as running). */
export type WatchAsync = (name: string, pending: PromiseLike<unknown>, subject: unknown) => void;

export class Dispatch {
  /** Listeners by event id. */
  readonly lists: Listener[][];
  /** Streamed rules (receiveData with options.streamed): one run per flow and direction. */
  readonly streamed: StreamedListener[] = [];
  /** The listener running now ('' between rules). */
  rule = '';
  /** The streamed rule (or dissector) resumed last, and the frame that brought its bytes (the scheduler sets them). */
  running = '';
  runningFrame = 0;
  /** Inside push(): rules run for a packet (streamed rules run between pushes). */
  inPacket = false;
  /** A held frame going out (its packet.sendPacket runs), or null: its rules alert about it, and a rule error drops it. */
  #releasing: Packet | null = null;
  /** Where async results go; set by the engine once the scheduler exists. */
  watch: WatchAsync = () => undefined;
  readonly #pkt: Packet;
  readonly #alerts: AlertWriter;
  readonly #log: Logger;
  readonly #ruleErrors: RuleErrors;
  readonly #dropOnError: () => boolean;
  /** Each installed rule's reason by name (its declaration's file and line). */
  readonly #reasons = new Map<string, DropReason>();
  /** A rule error dropping a flow: the reason its action gives. */
  #faultReason: DropReason | null = null;

  constructor(eventCount: number, pkt: Packet, alerts: AlertWriter, log: Logger, ruleErrors: RuleErrors, dropOnError: () => boolean) {
    this.lists = Array.from({ length: eventCount }, () => []);
    this.#pkt = pkt;
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
    // The frame whose drop stops the listeners: a held frame going out, or the current one.
    const pkt = this.#releasing ?? this.#pkt;
    for (const l of list) {
      this.rule = l.name;
      try {
        const ret = l.fn(a, b, c, d);
        if (isThenable(ret)) this.watch(l.name, ret, a);
      } catch (err) {
        this.ruleError(l.name, err);
      }
      if (pkt.dropped) {
        if (pkt.reason === null) pkt.reason = l.reason;
        break;
      }
    }
    this.rule = '';
  }

  /** `packet.sendPacket` for a held frame going out (not the current one): it stops at that frame's drop. */
  emitSend(pkt: Packet): void {
    const outer = this.rule;
    const outerFrame = this.#releasing;
    this.#releasing = pkt;
    this.emit(packetEvents.sendPacket, pkt);
    this.rule = outer;
    this.#releasing = outerFrame;
  }

  /** A flow dissector's event, raised from its run: once the flow is dropped, later listeners skip it. */
  emitFlowEvent(ev: AnyEvent, args: readonly unknown[]): void {
    const list = this.lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const flow = args[0] as TcpFlow | undefined;
    // Read through a call: a listener may drop the flow between two reads.
    const stopped = (): boolean => flow?.dropped === true || (this.inPacket && this.#pkt.dropped);
    // A dropped or reset flow's later events (bytes its dissector had buffered) reach no rule.
    if (stopped()) return;
    const outer = this.rule;
    for (const l of list) {
      this.rule = l.name;
      try {
        l.fn(...args);
      } catch (err) {
        this.ruleError(l.name, err, flow);
      }
      if (stopped()) {
        if (this.inPacket && this.#pkt.dropped && this.#pkt.reason === null) this.#pkt.reason = l.reason;
        break;
      }
    }
    this.rule = outer;
  }

  /** Haka's group: init, then each rule with `continue` after it; `final` if none stopped it. */
  groupRunner(name: string, spec: { init?: unknown; continue?: unknown; final?: unknown }, rules: Listener[], finalReason: DropReason): Listener['fn'] {
    const init = spec.init as Listener['fn'] | undefined;
    const cont = (spec.continue as ((ret: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown) | undefined) ?? ((ret: unknown) => !ret);
    const final = spec.final as Listener['fn'] | undefined;
    return (a, b, c, d) => {
      const pkt = this.#releasing ?? this.#pkt;
      if (init) {
        this.rule = name;
        init(a, b, c, d);
        if (pkt.dropped) return;
      }
      for (const r of rules) {
        this.rule = r.name;
        let ret: unknown;
        try {
          ret = r.fn(a, b, c, d);
          if (isThenable(ret)) this.watch(r.name, ret, a);
        } catch (err) {
          this.ruleError(r.name, err);
        }
        if (pkt.dropped) {
          if (pkt.reason === null) pkt.reason = r.reason;
          return;
        }
        this.rule = name;
        if (!cont(ret, a, b, c, d)) return;
      }
      if (final) {
        this.rule = name;
        final(a, b, c, d);
        if (pkt.dropped && pkt.reason === null) pkt.reason = finalReason;
      }
    };
  }

  /** The rule running now: a listener of the current event, or a streamed rule across its awaits. */
  ruleName(): string {
    return this.rule !== '' ? this.rule : this.running;
  }

  /** The frame an alert names: the packet being judged, or the one whose bytes a streamed rule just read. */
  alertPacket(): number | undefined {
    if (this.#releasing !== null) return this.#releasing.id;
    if (this.inPacket) return this.#pkt.id;
    return this.running !== '' && this.runningFrame > 0 ? this.runningFrame : undefined;
  }

  /**
   * A rule threw (or rejected): its first errors logged and alerted, the rest counted
   * (rule-errors.ts); under ruleErrorPolicy `drop` the packet is dropped, or, between packets
   * (a streamed rule), its flow: fail closed.
   */
  ruleError(name: string, err: unknown, flow?: TcpFlow | UdpFlow): void {
    const { message, stack } = describeThrown(err);
    if (this.#ruleErrors.record(name, message)) {
      this.#log.error({ rule: name, err: { message, stack }, packet: this.#releasing?.id ?? (this.inPacket ? this.#pkt.id : undefined) }, `rule '${name}' threw: ${message}`);
      this.#alerts.raise(name, this.alertPacket(), { description: `rule error: ${message}` }, { error: message });
    }
    if (!this.#dropOnError()) return;
    const reason: DropReason = { kind: 'rule-error', rule: name, ...this.#where(name) };
    if (this.#releasing !== null) this.#releasing.dropFor(reason);
    else if (this.inPacket) this.#pkt.dropFor(reason);
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
    return Object.freeze({ kind: 'flow-action', action, ...(rule !== '' ? { rule, ...this.#where(rule) } : {}), frame: this.alertPacket() ?? 0 });
  };

  /** The flow an event was about (its first argument), for an async rule's late error. */
  static flowOf(subject: unknown): TcpFlow | UdpFlow | undefined {
    return subject instanceof TcpFlow || subject instanceof UdpFlow ? subject : undefined;
  }
}
