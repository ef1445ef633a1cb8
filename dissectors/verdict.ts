/**
 * A frame's verdict and, for a drop, its reason: declared once, from the dissectors through the
 * engine to the API. On the packet path a verdict is a number (the trackers' receive() return
 * one, the engine's walk returns one per frame); the API names them (`Verdict`); netfilter's
 * numbers are core/io/nfqueue/verdicts.ts's alone.
 */
export const ACCEPT = 0;
export const DROP = 1;
/** Held: an IP fragment waiting for the rest, or a segment waiting for streamed rules. */
export const PENDING = 2;

/** The API's names of the verdicts (`engine.push()`, traces). */
export type Verdict = 'accept' | 'drop' | 'pending';

/**
 * Why a frame was dropped (design §11):
 * - `rule`: a rule dropped the packet (`rule`, `file`, `line` say which);
 * - `group-final`: a rule group's `final` did (`rule` is the group);
 * - `flow-action`: its flow was dropped or reset (`action`) by `rule`, on frame `frame`;
 * - `policy`: a configured policy on an anomaly (`policy`, `anomaly`);
 * - `malformed`: a header failed a check (`anomaly` names it) under `malformedPolicy: drop`;
 * - `fragment`: IP fragment handling (`anomaly`: an overlap, a datagram incomplete past its timeout);
 * - `memcap`: the engine at its memcap refused a new connection;
 * - `hold-cap`: frames held for streamed rules passed their cap;
 * - `rule-error`: a rule threw under `ruleErrorPolicy: drop`;
 * - `watchdog`: a rule was stopped by the watchdog (`rules.timeoutMs`) or the heap limit;
 * - `shutdown`: palisade stopped (the end of input, a shutdown) with the frame still held: an IP
 *   fragment whose datagram never completed (`anomaly`).
 */
export type DropKind = 'rule' | 'group-final' | 'flow-action' | 'policy' | 'malformed' | 'fragment' | 'memcap' | 'hold-cap' | 'rule-error' | 'watchdog' | 'shutdown';

export type FlowAction = 'drop' | 'reset' | 'halfreset';

export interface DropReason {
  readonly kind: DropKind;
  /** The rule (or group) that dropped it, or whose fault or action did. */
  readonly rule?: string;
  /** Where the rule was declared. */
  readonly file?: string;
  readonly line?: number;
  /** The configuration key of the policy that dropped it (`tcp.policies.hold-cap`, `malformedPolicy`…). */
  readonly policy?: string;
  /** The anomaly the policy applied to, as counted in the stats (`tcp-invalid-flags`…). */
  readonly anomaly?: string;
  /** For `flow-action`: what was done to the flow. */
  readonly action?: FlowAction;
  /** For `flow-action`: the frame the action was taken on (0: between packets, no frame). */
  readonly frame?: number;
}

/** Every drop kind, in the order summaries list them. */
export const DROP_KINDS: readonly DropKind[] = ['rule', 'group-final', 'flow-action', 'policy', 'malformed', 'fragment', 'memcap', 'hold-cap', 'rule-error', 'watchdog', 'shutdown'];

/** One short line for a reason: `rule block-telnet (rules.ts:12)`, `policy tcp.policies.invalid-flags (tcp-invalid-flags)`. */
export function describeReason(r: DropReason): string {
  let s: string = r.kind;
  if (r.action !== undefined) s += ` ${r.action}`;
  if (r.rule !== undefined) s += ` by ${r.rule}`;
  if (r.file !== undefined) s += ` (${r.file}${r.line !== undefined ? `:${r.line}` : ''})`;
  if (r.frame !== undefined && r.frame > 0) s += ` on frame ${r.frame}`;
  if (r.policy !== undefined) s += ` ${r.policy}`;
  if (r.anomaly !== undefined) s += ` (${r.anomaly})`;
  return s;
}

const cache = new Map<string, DropReason>();

/** A policy's reason, made once per policy and anomaly: the packet path allocates nothing for it. */
export function policyReason(kind: 'policy' | 'malformed' | 'fragment' | 'memcap' | 'hold-cap', policy: string, anomaly?: string): DropReason {
  const key = `${kind}\0${policy}\0${anomaly ?? ''}`;
  let r = cache.get(key);
  if (r === undefined) {
    r = Object.freeze(anomaly === undefined ? { kind, policy } : { kind, policy, anomaly });
    cache.set(key, r);
  }
  return r;
}

/** Frames still held when palisade stops. */
export const SHUTDOWN_REASON: DropReason = Object.freeze({ kind: 'shutdown' });

/** A drop whose path named no reason (a bug if seen): counted under its own policy name, never thrown. */
export const UNNAMED_REASON: DropReason = policyReason('policy', 'unnamed');
