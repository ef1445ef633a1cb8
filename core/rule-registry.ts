/**
 * The rule registry: runs a rule set's setup with the context rule files write against
 * (`rule`, `ruleGroup`, `alert`, `log`, `flowState`), checks each rule as it is declared (coded
 * errors naming the rule file's line), and files it in the dispatch lists.
 */
import type { Logger } from 'pino';
import { ruleInvalid, ruleLoadError, PalisadeError } from './errors.ts';
import { isEventDescriptor, type AnyEvent } from './events.ts';
import { printable } from './printable.ts';
import { callerLocation, flowState, runSetup, type FlowStores, type RuleContext, type RuleFunction, type RuleSet, type RuleSpec, type StreamedRuleSpec } from './rules.ts';
import type { AlertHandle, AlertInput, AlertWriter } from './alert.ts';
import { ruleReason, type Dispatch, type Listener } from './dispatch.ts';
import { tcpConnectionEvents } from '../dissectors/tcp-connection/index.ts';

/** Installs one rule set into `dispatch`; returns its flowState stores. */
export function installRules(set: RuleSet, dispatch: Dispatch, alerts: AlertWriter, log: Logger): FlowStores {
  const ctx = context(set, dispatch, alerts, log);
  try {
    return runSetup(set, ctx);
  } catch (err) {
    if (err instanceof PalisadeError) throw err;
    throw ruleLoadError(set.source, `its defineRules() setup threw: ${(err as Error).message}`, err);
  }
}

const isFn = (f: unknown): f is (...args: unknown[]) => unknown => typeof f === 'function';

/** A rule or group spec's event and name, or a coded error saying what is wrong with it. */
function check(where: string, kind: string, spec: unknown): { on: AnyEvent; name: string } {
  if (typeof spec !== 'object' || spec === null) throw ruleInvalid(where, `${kind}() needs an object`);
  const s = spec as { on?: unknown; name?: unknown };
  const name = typeof s.name === 'string' && s.name !== '' ? s.name : where;
  if (!isEventDescriptor(s.on)) {
    throw ruleInvalid(where, `${kind} '${printable(name)}': 'on' is ${s.on === undefined ? 'missing' : 'not a palisade event'}; use an event such as tcp.events.receivePacket`);
  }
  return { on: s.on, name };
}

function context(set: RuleSet, dispatch: Dispatch, alerts: AlertWriter, log: Logger): RuleContext {
  const rule = (spec: StreamedRuleSpec | RuleSpec<AnyEvent>): void => {
    const loc = callerLocation();
    const where = loc.text;
    const { on, name } = check(where, 'rule', spec);
    if (!isFn(spec.eval)) throw ruleInvalid(where, `rule '${printable(name)}' has no eval function; add eval: (...) => { … }`);
    if (spec.options?.streamed === true) {
      if (on !== tcpConnectionEvents.receiveData) {
        throw ruleInvalid(where, `rule '${printable(name)}': options.streamed needs on: tcpConnection.events.receiveData, not ${on.name}`);
      }
      dispatch.streamed.push({ name, fn: spec.eval as StreamedRuleSpec['eval'] });
      dispatch.noteRule(ruleReason('rule', name, loc));
      return;
    }
    dispatch.add(on, { name, fn: spec.eval, reason: ruleReason('rule', name, loc) });
  };
  return {
    rule: rule as RuleFunction,
    ruleGroup: (spec) => {
      const loc = callerLocation();
      const where = loc.text;
      const { on, name } = check(where, 'ruleGroup', spec);
      for (const key of ['init', 'continue', 'final'] as const) {
        if (spec[key] !== undefined && !isFn(spec[key])) throw ruleInvalid(where, `ruleGroup '${printable(name)}': ${key} must be a function`);
      }
      const rules: Listener[] = [];
      dispatch.add(on, { name, fn: dispatch.groupRunner(name, spec, rules, ruleReason('group-final', name, loc)), reason: ruleReason('rule', name, loc) });
      return {
        name,
        rule: (r) => {
          const atLoc = callerLocation();
          const at = atLoc.text;
          if (typeof r !== 'object' || !isFn(r.eval)) {
            throw ruleInvalid(at, `rule in group '${printable(name)}' has no eval function; add eval: (...) => { … }`);
          }
          const ruleName = typeof r.name === 'string' && r.name !== '' ? r.name : at;
          const listener = { name: ruleName, fn: r.eval, reason: ruleReason('rule', ruleName, atLoc) };
          rules.push(listener);
          dispatch.noteRule(listener.reason);
        },
      };
    },
    alert: (input: AlertInput): AlertHandle => alerts.raise(dispatch.ruleName(), dispatch.alertPacket(), input),
    log: log.child({ rules: set.source }),
    flowState,
  };
}
