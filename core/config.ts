/**
 * Limits and policies, with defaults. The schema below is the single source: `loadConfig`
 * validates against it, errors name the key and the allowed values, and docs/config.md lists
 * every key (a test keeps the two in step).
 */
import { configError, configTooLarge } from './errors.ts';
import { readBounded } from './io/read-bounded.ts';
import type { TcpConnectionConfig } from '../dissectors/tcp-connection/index.ts';
import { tcpAnomalies } from '../dissectors/tcp-connection/anomalies.ts';
import type { UdpConnectionConfig } from '../dissectors/udp-connection/index.ts';
import { httpAnomalies } from '../dissectors/http/anomalies.ts';
import type { HttpConfig } from '../dissectors/http/config.ts';
import { tlsAnomalies } from '../dissectors/tls/anomalies.ts';
import type { TlsConfig } from '../dissectors/tls/config.ts';
import { dnsAnomalies } from '../dissectors/dns/anomalies.ts';
import type { DnsConfig } from '../dissectors/dns/config.ts';

export interface Config {
  /** `auto` (Suricata's default) checks the first packets and stops when most fail, as offloaded captures do. */
  checksumValidation: 'auto' | 'always' | 'never';
  badChecksumPolicy: 'accept' | 'drop';
  /** Packets whose headers cannot be dissected. */
  malformedPolicy: 'accept' | 'drop';
  /** The verdict for a packet whose rule threw. */
  ruleErrorPolicy: 'accept' | 'drop';
  /** Bytes for everything the engine holds (connections, reassembly, held frames, fragments); past it, emergency mode. */
  memcap: number;
  fragments: { timeout: number; maxDatagrams: number; memcap: number };
  tcp: TcpConnectionConfig;
  udp: UdpConnectionConfig;
  http: HttpConfig;
  tls: TlsConfig;
  dns: DnsConfig;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Bounds on what rules may cost: time per invocation, heap for the engine. */
  rules: { timeoutMs: number; heapLimitMb: number };
  /** `palisade run` only: the kernel side of each queue. */
  inline: { queueLength: number; failOpen: boolean; gso: boolean };
}

type Leaf =
  | { key: string; kind: 'enum'; values: readonly string[]; default: string; doc: string }
  | { key: string; kind: 'number'; min: number; max: number; integer: boolean; default: number; inlineDefault?: number; doc: string }
  | { key: string; kind: 'boolean'; default: boolean; doc: string };

/** Every key, dotted for nested objects. */
export const configSchema: readonly Leaf[] = [
  {
    key: 'checksumValidation',
    kind: 'enum',
    values: ['auto', 'always', 'never'],
    default: 'auto',
    doc: 'Verify IPv4/TCP/UDP/ICMP checksums. `auto` verifies the first 1000 transport packets and turns verification off if more than 10% are bad (checksum offload on the capturing host).',
  },
  {
    key: 'badChecksumPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'accept',
    doc: 'What happens to a packet with a bad checksum while verification is on. It is always counted as an anomaly; rules still see it when accepted.',
  },
  {
    key: 'malformedPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'drop',
    doc: 'What happens to a frame whose link, IP or transport header cannot be dissected (counted as an anomaly either way). Fail-closed by default, as Haka.',
  },
  {
    key: 'ruleErrorPolicy',
    kind: 'enum',
    values: ['accept', 'drop'],
    default: 'drop',
    doc: 'The verdict for a packet whose rule threw. `drop` is fail-closed, as Haka.',
  },
  {
    key: 'memcap',
    kind: 'number',
    min: 1024 * 1024,
    max: 2 ** 50,
    integer: true,
    default: 1024 * 1024 * 1024,
    doc: 'Bytes for everything the engine holds: 1.5 KiB for each TCP and UDP flow (what one with data both ways takes), out-of-order bytes buffered (tcp.reassembly.memcap) and the rings that keep delivered bytes until they are acknowledged, each at its whole size (sized by need: 64 bytes for a stream with 9 bytes in flight) plus 400 bytes for its allocation, the frames held for streamed rules (tcp.hold.memcap) and the IP fragments held (fragments.memcap). When a new connection would pass it, the engine enters emergency mode (anomaly memcap-emergency): tcp.emergencyTimeouts replace tcp.timeouts, and the oldest half-open, then closing, connections are forgotten (endReason memcap) to make room; with only established ones left, the new connection gets the flow-table-full policy. Emergency mode ends below three quarters of memcap. The default bounds any flood to about 1 GiB of state with the default caps: a million connections that each hold 9 unacknowledged bytes take palisade replay to 1.0 GB of RSS at its peak, the connections past about 537,000 refused (anomaly tcp-flow-table-full).',
  },
  {
    key: 'fragments.timeout',
    kind: 'number',
    min: 1,
    max: 600,
    integer: false,
    default: 30,
    doc: 'Seconds an incomplete IP datagram waits for its fragments (Linux ipfrag_time); its fragments are then dropped.',
  },
  {
    key: 'fragments.maxDatagrams',
    kind: 'number',
    min: 1,
    max: 1_000_000,
    integer: true,
    default: 4096,
    doc: 'Datagrams reassembled at once; fragments past it are dropped (anomaly fragment-memcap).',
  },
  {
    key: 'fragments.memcap',
    kind: 'number',
    min: 65_536,
    max: 4 * 1024 ** 3,
    integer: true,
    default: 32 * 1024 * 1024,
    doc: 'Bytes held for IP fragments at once: their data and the frame each one keeps until its datagram completes (a small fragment in a large frame costs the frame); fragments past it are dropped (anomaly fragment-memcap).',
  },
  {
    key: 'tcp.maxFlows',
    kind: 'number',
    min: 16,
    max: 100_000_000,
    integer: true,
    default: 1_000_000,
    doc: 'Connections tracked at once. When full, the oldest half-open connection makes room (a SYN flood cannot lock others out); if there is none, anomaly flow-table-full.',
  },
  {
    key: 'tcp.maxEmbryonic',
    kind: 'number',
    min: 16,
    max: 100_000_000,
    integer: true,
    default: 100_000,
    doc: 'Half-open connections (handshake not complete) tracked at once; past it the oldest one is forgotten (endReason memcap). Bounds what a SYN flood holds, about 1.2 KB a connection, whatever tcp.maxFlows allows.',
  },
  {
    key: 'tcp.timeouts.embryonic',
    kind: 'number',
    min: 1,
    max: 86_400,
    integer: false,
    default: 30,
    doc: 'Seconds a connection still in its handshake may stay idle.',
  },
  {
    key: 'tcp.timeouts.established',
    kind: 'number',
    min: 1,
    max: 604_800,
    integer: false,
    default: 600,
    doc: 'Seconds an established connection may stay idle (endReason timeout).',
  },
  {
    key: 'tcp.timeouts.closing',
    kind: 'number',
    min: 1,
    max: 86_400,
    integer: false,
    default: 60,
    doc: 'Seconds a closing, closed, dropped or reset connection stays in the table, so that its late packets are recognised (and dropped, for a dropped flow).',
  },
  {
    key: 'tcp.emergencyTimeouts.embryonic',
    kind: 'number',
    min: 1,
    max: 86_400,
    integer: false,
    default: 5,
    doc: 'tcp.timeouts.embryonic while the engine is past its memcap (emergency mode).',
  },
  {
    key: 'tcp.emergencyTimeouts.established',
    kind: 'number',
    min: 1,
    max: 604_800,
    integer: false,
    default: 60,
    doc: 'tcp.timeouts.established in emergency mode: idle connections, and the reassembly they hold, go sooner.',
  },
  {
    key: 'tcp.emergencyTimeouts.closing',
    kind: 'number',
    min: 1,
    max: 86_400,
    integer: false,
    default: 5,
    doc: 'tcp.timeouts.closing in emergency mode.',
  },
  {
    key: 'tcp.midstream',
    kind: 'enum',
    values: ['accept', 'drop', 'ignore'],
    default: 'accept',
    doc: 'A TCP packet of no known connection that is not a SYN: `accept` picks the connection up (flow.midstream), `drop` drops it with the alert "no connection found for tcp packet" (Haka), `ignore` passes it untracked.',
  },
  {
    key: 'tcp.reassembly.maxBytes',
    kind: 'number',
    min: 4096,
    max: 1024 ** 3,
    integer: true,
    default: 4 * 1024 * 1024,
    doc: 'Bytes held per direction of a connection: out-of-order segments (each counted at its bytes plus 160 for what holding it costs, so that tiny segments cannot hold more than the cap says) and delivered bytes kept until acknowledged, to check retransmissions.',
  },
  {
    key: 'tcp.reassembly.maxSegments',
    kind: 'number',
    min: 1,
    max: 1_000_000,
    integer: true,
    default: 1024,
    doc: 'Out-of-order segments held per direction.',
  },
  {
    key: 'tcp.reassembly.memcap',
    kind: 'number',
    min: 65_536,
    max: 64 * 1024 ** 3,
    integer: true,
    default: 512 * 1024 * 1024,
    doc: 'Bytes held by all streams together, counted as tcp.reassembly.maxBytes counts them; past it, anomaly reassembly-memcap.',
  },
  {
    key: 'tcp.hold.maxBytes',
    kind: 'number',
    min: 4096,
    max: 1024 ** 3,
    integer: true,
    default: 1024 * 1024,
    doc: 'Bytes of frames held per direction of a connection while streamed rules or flow dissectors have not read them (each frame counted at its length plus 256 for its record and copy); past it, anomaly hold-cap.',
  },
  {
    key: 'tcp.hold.memcap',
    kind: 'number',
    min: 65_536,
    max: 64 * 1024 ** 3,
    integer: true,
    default: 256 * 1024 * 1024,
    doc: 'Bytes of frames held by all connections together (each frame counted at its length plus 256 for its record and copy); past it, anomaly hold-cap.',
  },
  ...Object.entries(tcpAnomalies).flatMap(([kind, entry]): Leaf[] =>
    entry.policy === null
      ? []
      : [
          {
            key: `tcp.policies.${kind}`,
            kind: 'enum',
            values: 'normalize' in entry ? ['normalize', 'accept', 'drop-packet', 'drop-flow'] : ['accept', 'drop-packet', 'drop-flow'],
            default: entry.policy,
            doc: `Policy for the anomaly ${kind}: ${entry.doc}`,
          },
        ],
  ),
  {
    key: 'udp.maxFlows',
    kind: 'number',
    min: 16,
    max: 100_000_000,
    integer: true,
    default: 1_000_000,
    doc: 'UDP flows tracked at once (while a rule listens to udpConnection events); when full, the least recently active ends with endReason memcap.',
  },
  {
    key: 'udp.timeout',
    kind: 'number',
    min: 1,
    max: 86_400,
    integer: false,
    default: 60,
    doc: "Seconds a UDP flow may stay idle before it ends (Zeek's udp_inactivity_timeout).",
  },
  {
    key: 'http.maxStartLine',
    kind: 'number',
    min: 64,
    max: 1024 * 1024,
    integer: true,
    default: 8192,
    doc: 'Bytes of an HTTP request or status line (Apache\'s LimitRequestLine is 8190); past it, anomaly http-start-line-too-long and parsing of the connection ends.',
  },
  {
    key: 'http.maxHeaderBytes',
    kind: 'number',
    min: 256,
    max: 16 * 1024 * 1024,
    integer: true,
    default: 65536,
    doc: 'Bytes of an HTTP header section, start line included, or of a trailer section. The packets that carry an incomplete header section are held until it is complete, so that a rule can refuse the request before any of it reaches the server; past it, anomaly http-header-too-large and parsing of the connection ends.',
  },
  ...Object.entries(httpAnomalies).map(
    ([kind, entry]): Leaf => ({
      key: `http.policies.${kind}`,
      kind: 'enum',
      values: ['accept', 'drop-flow', 'reset-flow'],
      default: entry.policy,
      doc: `Policy for the anomaly http-${kind}: ${entry.doc}`,
    }),
  ),
  {
    key: 'tls.maxHandshakeBytes',
    kind: 'number',
    min: 1024,
    max: 16 * 1024 * 1024,
    integer: true,
    default: 65536,
    doc: 'Bytes held for one TLS handshake message the dissector reads whole (a ClientHello, a ServerHello, a TLS 1.2 Certificate), record headers included. The packets that carry an incomplete hello are held until it is complete, so that a rule can refuse it before any of it reaches the server; past it, anomaly tls-handshake-too-large and reading of the connection ends.',
  },
  ...Object.entries(tlsAnomalies).map(
    ([kind, doc]): Leaf => ({
      key: `tls.policies.${kind}`,
      kind: 'enum',
      values: ['accept', 'drop-flow', 'reset-flow'],
      default: 'accept',
      doc: `Policy for the anomaly tls-${kind}: ${doc}`,
    }),
  ),
  ...Object.entries(dnsAnomalies).map(
    ([kind, doc]): Leaf => ({
      key: `dns.policies.${kind}`,
      kind: 'enum',
      values: ['accept', 'drop-flow', 'reset-flow'],
      default: 'accept',
      doc: `Policy for the anomaly dns-${kind} (over UDP \`reset-flow\` drops the flow: a datagram flow has nothing to reset): ${doc}`,
    }),
  ),
  {
    key: 'logLevel',
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    doc: 'Level of the `log` logger handed to rule files.',
  },
  {
    key: 'rules.timeoutMs',
    kind: 'number',
    min: 0,
    max: 3_600_000,
    integer: true,
    default: 1000,
    inlineDefault: 200,
    doc: 'Milliseconds a rule may run without the engine moving on (one call, or one resumed run of a streamed rule); past it the rule is stopped by a watchdog thread and counted (a rule error and a timeout). Replay then ends with PAL_ERR_RULE_TIMEOUT (exit 3), keeping every output written so far: the engine was cut mid-packet, so no later verdict could be trusted. Inline (default 200 ms), the stuck worker is replaced and its queue bypasses meanwhile (docs/inline.md). 0 turns the time limit off.',
  },
  {
    key: 'rules.heapLimitMb',
    kind: 'number',
    min: 64,
    max: 65_536,
    integer: true,
    default: 2048,
    doc: 'MiB of JavaScript heap the engine and its rules may use (flow state a rule keeps included), checked between packets after a full collection; past it replay ends with PAL_ERR_HEAP_LIMIT (exit 3), keeping every output written so far, instead of a V8 abort; inline, it is the heap limit of each worker, and a worker that reaches it is replaced. Capped at 80% of the process\'s V8 limit (node --max-old-space-size); one call allocating without bound is stopped at 85% of it, with the same code.',
  },
  {
    key: 'inline.queueLength',
    kind: 'number',
    min: 16,
    max: 1_000_000,
    integer: true,
    default: 4096,
    doc: '`palisade run`: packets each NFQUEUE queue holds while they wait for a verdict (NFQA_CFG_QUEUE_MAXLEN; the kernel default is 1024). Past it the kernel accepts (inline.failOpen) or drops new packets. With GSO a queued packet may be 64 KiB.',
  },
  {
    key: 'inline.failOpen',
    kind: 'boolean',
    default: true,
    doc: '`palisade run`: when a queue is full (palisade behind, or stopped), the kernel lets new packets through unjudged (NFQA_CFG_F_FAIL_OPEN) instead of dropping them. `ctl stats` counts them. `false` drops them: fail-closed.',
  },
  {
    key: 'inline.gso',
    kind: 'boolean',
    default: true,
    doc: '`palisade run`: GSO/GRO super-packets (up to 64 KiB) are queued whole (NFQA_CFG_F_GSO) instead of being segmented by the kernel first; their transport checksums, not computed yet, are not verified.',
  },
];

/** Where the config is used: `palisade run` has defaults of its own for some keys (inlineDefault). */
export type ConfigMode = 'replay' | 'inline';

export function defaultConfig(mode: ConfigMode = 'replay'): Config {
  return fromLeaves(new Map(), mode);
}

function fromLeaves(values: Map<string, unknown>, mode: ConfigMode): Config {
  const out: Record<string, unknown> = {};
  for (const leaf of configSchema) {
    const parts = leaf.key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    const fallback = mode === 'inline' && leaf.kind === 'number' && leaf.inlineDefault !== undefined ? leaf.inlineDefault : leaf.default;
    node[parts[parts.length - 1] as string] = values.has(leaf.key) ? values.get(leaf.key) : fallback;
  }
  return out as unknown as Config;
}

/** Validates a parsed JSON value (or a partial config in library use); `source` names it in errors. */
export function validateConfig(input: unknown, source = 'config', mode: ConfigMode = 'replay'): Config {
  const values = new Map<string, unknown>();
  walk(input, '', source, values);
  return fromLeaves(values, mode);
}

function walk(node: unknown, prefix: string, source: string, values: Map<string, unknown>): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw configError(source, prefix || '(top level)', 'must be an object');
  }
  for (const [name, value] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const leaf = configSchema.find((l) => l.key === key);
    if (leaf) {
      checkLeaf(leaf, value, source);
      values.set(key, value);
      continue;
    }
    if (configSchema.some((l) => l.key.startsWith(`${key}.`))) {
      walk(value, key, source, values);
      continue;
    }
    const known = [...new Set(configSchema.map((l) => (prefix ? l.key : (l.key.split('.')[0] ?? ''))))]
      .filter((k) => !prefix || k.startsWith(`${prefix}.`))
      .join(', ');
    throw configError(source, key, `is not a known key (known: ${known})`);
  }
}

function checkLeaf(leaf: Leaf, value: unknown, source: string): void {
  if (leaf.kind === 'boolean') {
    if (typeof value !== 'boolean') throw configError(source, leaf.key, `is ${JSON.stringify(value)}; expected true or false`);
    return;
  }
  if (leaf.kind === 'enum') {
    if (typeof value !== 'string' || !leaf.values.includes(value)) {
      throw configError(source, leaf.key, `is ${JSON.stringify(value)}; allowed values: ${leaf.values.join(', ')}`);
    }
    return;
  }
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify would print as null.
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw configError(source, leaf.key, `is not a finite number (it reads as ${value}); expected a number from ${leaf.min} to ${leaf.max}`);
  }
  if (typeof value !== 'number' || value < leaf.min || value > leaf.max) {
    throw configError(source, leaf.key, `is ${JSON.stringify(value)}; expected a number from ${leaf.min} to ${leaf.max}`);
  }
  if (leaf.integer && !Number.isInteger(value)) {
    throw configError(source, leaf.key, `is ${value}; expected an integer`);
  }
}

/** Far more than every key written out; a bound, so that no path can make palisade read without end. */
const CONFIG_MAX_BYTES = 1024 * 1024;

export function loadConfigFile(path: string, mode: ConfigMode = 'replay'): Config {
  const { bytes, size } = readBounded(path, 'config file', CONFIG_MAX_BYTES);
  if (bytes.length > CONFIG_MAX_BYTES) throw configTooLarge(path, size, CONFIG_MAX_BYTES);
  // A byte order mark, as some Windows editors save UTF-8, is not JSON: it goes.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw configError(path, '(top level)', `is not valid JSON: ${(err as Error).message}`);
  }
  return validateConfig(parsed, path, mode);
}
