/**
 * Every user-facing error, declared once with a stable code. A message carries the offending
 * values and says what to do. Malformed packets are not errors: they are counted anomalies.
 */

import { printable } from './printable.ts';

export type ErrorCode =
  | 'PAL_ERR_USAGE'
  | 'PAL_ERR_FILE_NOT_FOUND'
  | 'PAL_ERR_CONFIG'
  | 'PAL_ERR_RULE_LOAD'
  | 'PAL_ERR_RULE_INVALID'
  | 'PAL_ERR_REWRITE'
  | 'PAL_ERR_TYPECHECK'
  | 'PAL_ERR_CAPTURE_FORMAT'
  | 'PAL_ERR_LINKTYPE_UNSUPPORTED'
  | 'PAL_ERR_PCAP_TRUNCATED'
  | 'PAL_ERR_PCAP_CORRUPT'
  | 'PAL_ERR_OUTPUT'
  | 'PAL_ERR_CASE'
  | 'PAL_ERR_NO_CASES'
  | 'PAL_ERR_NFQUEUE'
  | 'PAL_ERR_BRIDGE'
  | 'PAL_ERR_IPTABLES'
  | 'PAL_ERR_INJECT'
  | 'PAL_ERR_CTL_SOCKET'
  | 'PAL_ERR_CTL'
  | 'PAL_ERR_RELOAD'
  | 'PAL_ERR_TRACE_BUSY'
  | 'PAL_ERR_RULE_TIMEOUT'
  | 'PAL_ERR_HEAP_LIMIT'
  | 'PAL_ERR_RULE_ERRORS'
  | 'PAL_ERR_RULE_EXIT'
  | 'PAL_ERR_INTERRUPTED'
  | 'PAL_ERR_INTERNAL';

/** Exit status for each code: 2 for what the user typed wrong, 1 for everything else. */
const exitCodes: Record<ErrorCode, number> = {
  PAL_ERR_USAGE: 2,
  PAL_ERR_FILE_NOT_FOUND: 2,
  PAL_ERR_CONFIG: 2,
  PAL_ERR_RULE_LOAD: 1,
  PAL_ERR_RULE_INVALID: 1,
  PAL_ERR_REWRITE: 1,
  PAL_ERR_TYPECHECK: 1,
  PAL_ERR_CAPTURE_FORMAT: 1,
  PAL_ERR_LINKTYPE_UNSUPPORTED: 1,
  PAL_ERR_PCAP_TRUNCATED: 1,
  PAL_ERR_PCAP_CORRUPT: 1,
  PAL_ERR_OUTPUT: 1,
  PAL_ERR_CASE: 2,
  PAL_ERR_NO_CASES: 2,
  PAL_ERR_NFQUEUE: 1,
  PAL_ERR_BRIDGE: 1,
  PAL_ERR_IPTABLES: 1,
  PAL_ERR_INJECT: 1,
  PAL_ERR_CTL_SOCKET: 1,
  PAL_ERR_CTL: 1,
  PAL_ERR_RELOAD: 1,
  PAL_ERR_TRACE_BUSY: 1,
  PAL_ERR_RULE_TIMEOUT: 3,
  PAL_ERR_HEAP_LIMIT: 3,
  PAL_ERR_RULE_ERRORS: 1,
  PAL_ERR_RULE_EXIT: 1,
  // 128 + SIGINT, as a shell reports it; SIGTERM's 143 is set by the command that saw it.
  PAL_ERR_INTERRUPTED: 130,
  // A bug in palisade itself (a worker died of something not a PalisadeError): report it.
  PAL_ERR_INTERNAL: 1,
};

export class PalisadeError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PalisadeError';
    this.code = code;
    this.exitCode = exitCodes[code];
  }

  /** One line for a terminal: `CODE: message`. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export const usageError = (message: string): PalisadeError =>
  new PalisadeError('PAL_ERR_USAGE', `${message} (see --help)`);

export const fileNotFound = (what: string, path: string): PalisadeError =>
  new PalisadeError('PAL_ERR_FILE_NOT_FOUND', `${what} '${path}' does not exist or cannot be read`);

export const configError = (file: string, key: string, problem: string): PalisadeError =>
  new PalisadeError('PAL_ERR_CONFIG', `${file}: key '${key}' ${problem}`);

/** A path that must name a regular file (read to its end) but names a device, a FIFO, a directory. */
export const notRegularFile = (what: string, path: string, kind: string): PalisadeError =>
  new PalisadeError('PAL_ERR_FILE_NOT_FOUND', `${what} '${path}' is ${kind}, not a regular file; give the path of a file`);

export const configTooLarge = (file: string, size: number, bound: number): PalisadeError =>
  new PalisadeError('PAL_ERR_CONFIG', `${file}: is ${size} bytes, more than a config file may hold (${bound} bytes); a config is a small JSON object of limits and policies`);

export const ruleLoadError = (file: string, detail: string, cause?: unknown): PalisadeError =>
  new PalisadeError('PAL_ERR_RULE_LOAD', `${file}: ${detail}`, { cause });

export const ruleInvalid = (where: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_RULE_INVALID', `${where}: ${detail}`);

/** A rule wrote a packet what it cannot take: a value out of the field's range, a datagram reassembled from fragments. */
export const rewriteError = (where: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_REWRITE', `${where}: ${detail}`);

export const typecheckError = (file: string, count: number): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_TYPECHECK',
    `${file}: ${count} type error${count === 1 ? '' : 's'}; fix them, or pass --no-typecheck to run anyway`,
  );

export const captureFormatError = (file: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_CAPTURE_FORMAT', `${file}: ${detail}`);

export const linkTypeUnsupported = (file: string, linkType: number, where: string): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_LINKTYPE_UNSUPPORTED',
    `${file}: link type ${linkType} (${where}) is not supported; palisade reads Ethernet (1), raw IP (101, 228, 229), Linux SLL (113), SLL2 (276) and BSD loopback (0, 108)`,
  );

/** A record that the file promises but does not hold in full. */
export const captureTruncated = (
  file: string,
  record: number,
  offset: number,
  needed: number,
  left: number,
): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_PCAP_TRUNCATED',
    `${file}: record ${record} at byte ${offset} is cut short (needs ${needed} bytes, ${left} left); the ${record - 1} packets before it were processed`,
  );

export const captureCorrupt = (file: string, record: number, offset: number, detail: string): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_PCAP_CORRUPT',
    `${file}: record ${record} at byte ${offset} is corrupt (${detail}); the ${record - 1} packets before it were processed`,
  );

export const outputError = (file: string, detail: string, cause?: unknown): PalisadeError =>
  new PalisadeError('PAL_ERR_OUTPUT', `${file}: ${detail}`, { cause });

/** SIGINT or SIGTERM during a replay: it stopped reading at `frame` and flushed every output. */
export const interrupted = (signal: string, frame: number): PalisadeError =>
  new PalisadeError('PAL_ERR_INTERRUPTED', `${signal}: the replay stopped after frame ${frame}; its outputs hold everything up to it (again to stop at once, losing what is buffered)`);

/** A rule called process.exit() during a replay: the replay ended there instead, its outputs whole. */
export const ruleExit = (rule: string, frame: number, code: string): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_RULE_EXIT',
    `${rule === '' ? 'a rule file (outside any rule: a timer or a promise)' : `rule '${printable(rule)}'`} called process.exit(${printable(code)}) on frame ${frame}; the replay stopped there and its outputs hold everything up to it. A rule must not end the process: use engine.events.exiting for work at the end`,
  );

/** A replay whose rules threw: its verdicts followed ruleErrorPolicy, not the rules' intent. */
export const ruleErrors = (byRule: ReadonlyMap<string, number>): PalisadeError => {
  const total = [...byRule.values()].reduce((a, b) => a + b, 0);
  const rules = [...byRule].sort((a, b) => b[1] - a[1]).map(([rule, n]) => `'${printable(rule)}' ${n}`);
  return new PalisadeError(
    'PAL_ERR_RULE_ERRORS',
    `rules threw ${total} time${total === 1 ? '' : 's'} (${rules.slice(0, 5).join(', ')}${rules.length > 5 ? ', …' : ''}); the log has their first errors with the stack; pass --allow-rule-errors if they are expected`,
  );
};

/** A rule stopped by the watchdog; `frame` is the packet it was judging, if any. */
export const ruleTimeout = (rule: string, frame: number | undefined, stuckMs: number, timeoutMs: number): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_RULE_TIMEOUT',
    `rule '${printable(rule || '(unknown)')}' ran for ${Math.round(stuckMs)} ms${frame === undefined ? '' : ` on frame ${frame}`} without returning and was stopped (rules.timeoutMs is ${timeoutMs}); the replay ends here, and its outputs hold everything decided before it. Fix the rule (a loop that never ends?) or raise rules.timeoutMs`,
  );

export const heapLimit = (usedMb: number, limitMb: number, frame: number): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_HEAP_LIMIT',
    `the engine's heap holds ${usedMb} MiB after a full collection, past rules.heapLimitMb (${limitMb} MiB), at frame ${frame}; the replay ends here, and its outputs hold everything decided before it. A rule keeping state without bound (flowState, a Map)? Or raise rules.heapLimitMb`,
  );

export const heapNearV8Limit = (rule: string, frame: number | undefined, usedMb: number, v8LimitMb: number): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_HEAP_LIMIT',
    `rule '${printable(rule || '(unknown)')}' was stopped${frame === undefined ? '' : ` on frame ${frame}`} with ${usedMb} MiB of heap in use, near V8's own limit (${v8LimitMb} MiB), which would abort the process; the replay ends here, and its outputs hold everything decided before it. A rule allocating without bound in one call? Or start node with a larger --max-old-space-size`,
  );

/** A `palisade test` case whose expect.json (or what it points to) is not a valid case. */
export const caseError = (file: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_CASE', `${file}: ${detail}`);

export const noCases = (dirs: readonly string[]): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_NO_CASES',
    `no test case under ${dirs.map((d) => `'${d}'`).join(', ')}; a case is a directory holding an expect.json (see docs/testing.md)`,
  );

/** The queue could not be bound (`palisade run --queue`). */
export const nfqueueError = (queue: number, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_NFQUEUE', `NFQUEUE ${queue}: ${detail}`);

/** `--bridge`: the bridge, br_netfilter or its sysctls are not as palisade needs them. */
export const bridgeError = (bridge: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_BRIDGE', `bridge '${bridge}': ${detail}`);

export const iptablesError = (command: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_IPTABLES', `'${command}' failed: ${detail}`);

/** The raw sockets that send flow.reset()'s RSTs could not be opened. */
export const injectError = (detail: string): PalisadeError => new PalisadeError('PAL_ERR_INJECT', detail);

/** The control socket of `palisade run` could not be created. */
export const ctlSocketError = (path: string, detail: string): PalisadeError =>
  new PalisadeError('PAL_ERR_CTL_SOCKET', `control socket '${path}': ${detail}`);

/** `palisade ctl`: no palisade answered, or the command failed there. */
export const ctlError = (detail: string): PalisadeError => new PalisadeError('PAL_ERR_CTL', detail);

/** A `ctl reload` refused: the running rules, flow table and counters stay as they were. */
export const reloadError = (file: string, detail: string): PalisadeError => new PalisadeError('PAL_ERR_RELOAD', `${file}: ${detail}`);

/** `ctl trace` on a queue that is tracing for another `ctl trace` already: one at a time per queue. */
export const traceBusy = (queues: readonly number[]): PalisadeError =>
  new PalisadeError(
    'PAL_ERR_TRACE_BUSY',
    `queue${queues.length === 1 ? '' : 's'} ${queues.join(', ')} ${queues.length === 1 ? 'is' : 'are'} tracing for another palisade ctl trace already (one trace at a time per queue); wait for it to end or stop it (Ctrl-C), or pass --queue for another queue`,
  );
