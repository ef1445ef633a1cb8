/**
 * `palisade run <rules.ts> --queue N | --queues A-B [--bridge IFACE]`: the rules inline, on
 * packets the kernel queues through NFQUEUE, with a control socket for `palisade ctl`. This
 * reads the command line and vets the rule file (type-checked, loaded); core/inline/supervisor.ts
 * runs the rest: socket, bridge, workers, iptables, and their undoing.
 */
import { isFile } from '../io/is-file.ts';
import { resolve } from 'node:path';
import { parse } from './args.ts';
import { defaultConfig, loadConfigFile, type Config } from '../config.ts';
import { fileNotFound, usageError } from '../errors.ts';
import type { QueueRange } from '../inline/iptables.ts';
import { DEFAULT_SOCKET } from '../inline/control.ts';
import { supervise } from '../inline/supervisor.ts';
import { checkTypes, trialLoad } from '../inline/trial-load.ts';
import { vetOffThread } from '../inline/vet.ts';

export const runHelp = `Usage: palisade run <rules.ts> [--queue N | --queues A-B] [options]

Runs a rule file inline: the kernel queues packets to palisade (NFQUEUE), palisade judges each
one (accept or drop) and sends RSTs for flow.reset(). Needs root. See docs/inline.md.

Options:
  --queue N           the NFQUEUE queue to read (default 0), in one worker
  --queues A-B        queues A to B, one worker each (iptables --queue-balance A:B)
  --workers KIND      'thread' (default) or 'process' (one process per queue); a worker that
                      dies, hangs in a rule (rules.timeoutMs) or fills its heap
                      (rules.heapLimitMb) is replaced, its queue bypassing meanwhile
  --bridge IFACE      queue the bridged traffic of IFACE: palisade turns on br_netfilter's
                      bridge-nf-call-iptables and inserts an iptables FORWARD rule with
                      --queue-bypass, and removes it on exit. Without it, add your own rule.
  --fail-open         when palisade cannot judge a packet (a rule error, a malformed packet, a
                      full table, an internal error), let it through instead of dropping it;
                      a full queue lets packets through too (inline.failOpen, on by default)
  --pass-through      run every rule and alert, but accept every packet (monitor only)
  --config FILE       limits and policies (JSON; see docs/config.md)
  --alerts FILE       append alerts (JSON lines) to FILE instead of stdout
  --log FILE          append rule logs (JSON lines) to FILE instead of stderr
  --flows FILE        append one JSON line per finished connection to FILE
  --socket PATH       control socket for palisade ctl (default ${DEFAULT_SOCKET})
  --no-typecheck      load the rule file (and later reloads) without type-checking it
  -h, --help          show this help

Stop it with SIGTERM, SIGINT or 'palisade ctl stop': it removes its iptables rule, gives a
verdict to every queued packet, ends open connections (reason shutdown) and flushes alerts.
Exit status: 0 stopped cleanly, 1 set-up or rule file error, 2 bad usage.
`;

const MAX_QUEUES = 64;

/** Limits that fail closed by default and that --fail-open turns to accept. */
function failOpen(config: Config): Config {
  return {
    ...config,
    ruleErrorPolicy: 'accept',
    malformedPolicy: 'accept',
    inline: { ...config.inline, failOpen: true },
    tcp: {
      ...config.tcp,
      policies: { ...config.tcp.policies, 'reassembly-memcap': 'accept', 'flow-table-full': 'accept', 'hold-cap': 'accept' },
    },
  };
}

function parseQueue(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw usageError(`palisade run: ${flag} takes a queue number from 0 to 65535, not '${text}'`);
  return Number(text);
}

function parseQueues(queue: string | undefined, queues: string | undefined): QueueRange {
  if (queue !== undefined && queues !== undefined) throw usageError('palisade run: give --queue or --queues, not both');
  if (queues !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(queues);
    if (m === null) throw usageError(`palisade run: --queues takes a range A-B (e.g. 0-3), not '${queues}'`);
    const first = parseQueue(m[1] ?? '', '--queues');
    const last = parseQueue(m[2] ?? '', '--queues');
    if (last < first) throw usageError(`palisade run: --queues ${queues}: the range is empty (${last} < ${first})`);
    if (last - first + 1 > MAX_QUEUES) throw usageError(`palisade run: --queues ${queues}: at most ${MAX_QUEUES} queues`);
    return { first, last };
  }
  const n = parseQueue(queue ?? '0', '--queue');
  return { first: n, last: n };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse('run', argv, {
    queue: { type: 'string' },
    queues: { type: 'string' },
    workers: { type: 'string' },
    bridge: { type: 'string' },
    'fail-open': { type: 'boolean' },
    'pass-through': { type: 'boolean' },
    config: { type: 'string' },
    alerts: { type: 'string' },
    log: { type: 'string' },
    flows: { type: 'string' },
    socket: { type: 'string' },
    'no-typecheck': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(runHelp);
    return 0;
  }
  const [rulesArg, ...extra] = positionals;
  if (rulesArg === undefined) throw usageError('palisade run: needs <rules.ts>');
  if (extra.length > 0) throw usageError(`palisade run: unexpected argument '${extra[0] ?? ''}'`);
  const range = parseQueues(values.queue, values.queues);
  const kind = values.workers ?? 'thread';
  if (kind !== 'thread' && kind !== 'process') throw usageError(`palisade run: --workers takes 'thread' or 'process', not '${kind}'`);
  if (!isFile(rulesArg)) throw fileNotFound('rule file', rulesArg);
  if (values.bridge === '') throw usageError('palisade run: --bridge needs an interface name');
  const socketPath = resolve(values.socket ?? DEFAULT_SOCKET);
  const typecheck = !(values['no-typecheck'] ?? false);
  let config = values.config === undefined ? defaultConfig('inline') : loadConfigFile(values.config, 'inline');
  if (values['fail-open'] ?? false) config = failOpen(config);
  const rulesPath = resolve(rulesArg);
  // Nothing of a broken file goes inline. At start-up no packet waits yet: this thread vets it.
  if (typecheck) await checkTypes(rulesPath);
  await trialLoad(rulesPath);
  return supervise({
    rulesPath,
    range,
    kind,
    bridge: values.bridge,
    socketPath,
    config,
    failOpen: values['fail-open'] ?? false,
    passThrough: values['pass-through'] ?? false,
    alerts: values.alerts === undefined ? undefined : resolve(values.alerts),
    log: values.log === undefined ? undefined : resolve(values.log),
    flows: values.flows === undefined ? undefined : resolve(values.flows),
    // A reload's vet runs in a thread of its own: the control socket and the queues go on meanwhile.
    vet: (path: string) => vetOffThread(path, { typecheck, config }),
  });
}
