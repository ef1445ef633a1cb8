/**
 * The DNS dissector, on by use: over UDP every datagram to or from port 53 is a message, over
 * TCP every connection to port 53 whose first bytes frame a query (RFC 7766). Queries and
 * responses are raised as dns.events.query and dns.events.response, a response with the query
 * it answers. A rule on a query runs before the query has left: over UDP its datagram is the
 * packet being judged, over TCP a query split across segments holds them until it is whole.
 * `flow.drop()` there drops the query (and the flow); over TCP `flow.reset()` resets it.
 *
 * The events are the TCP flow dissector's own (defineFlowDissector), raised for UDP flows too:
 * one set of events for DNS over either transport.
 */
import { defineFlowDissector, flowEvent, type DissectorPolicy, type FlowDissectorHost } from '../../core/flow-dissector.ts';
import type { StreamParser } from '../tcp-connection/stream-parser.ts';
import type { Direction, TcpFlow } from '../tcp-connection/flow.ts';
import type { UdpFlow } from '../udp-connection/flow.ts';
import type { DnsAnomaly, DnsAnomalyKind } from './anomalies.ts';
import type { DnsConfig } from './config.ts';
import { parseDnsMessage, type DnsMessage } from './message.ts';
import { DnsTcpReader, type DnsTcpHandlers } from './tcp-framing.ts';
import { DnsTransactions } from './transactions.ts';

/** A flow that carries DNS: a UDP flow (a datagram each message), or a TCP connection. */
export type DnsFlow = UdpFlow | TcpFlow;

export interface DnsAnomalyEvent extends DnsAnomaly {
  /** The direction whose message raised it. */
  readonly direction: Direction;
}

export const DNS_PORT = 53;

const events = {
  /** A query (QR clear), decoded: over UDP its datagram is the packet being judged. */
  query: flowEvent<[flow: DnsFlow, query: DnsMessage]>(),
  /** A response (QR set), with the query it answers (same id and question), or null when none was seen. */
  response: flowEvent<[flow: DnsFlow, response: DnsMessage, query: DnsMessage | null]>(),
  /** A named anomaly (anomalies.ts): counted as `dns-<kind>`, with its policy `dns.policies.<kind>` applied after this event. */
  anomaly: flowEvent<[flow: DnsFlow, anomaly: DnsAnomalyEvent]>(),
};

/** How the dissector's events are raised (its emit object). */
export interface DnsEmit {
  query(flow: DnsFlow, query: DnsMessage): void;
  response(flow: DnsFlow, response: DnsMessage, query: DnsMessage | null): void;
  anomaly(flow: DnsFlow, anomaly: DnsAnomalyEvent): void;
}

/** Where a message's anomalies go: counted and policed by the engine. */
export type DnsAnomalyHost = (flow: DnsFlow, kind: string, policy: DissectorPolicy, policyKey: string) => void;

/** One message of either transport: its anomalies, then its event. */
export function dnsMessage(flow: DnsFlow, bytes: Buffer, direction: Direction, tx: DnsTransactions, emit: DnsEmit, anomaly: DnsAnomalyHost, config: DnsConfig): void {
  const m = parseDnsMessage(bytes);
  if (m === null) {
    report(flow, 'truncated-message', `${bytes.length} bytes, fewer than a header`, direction, emit, anomaly, config);
    return;
  }
  flow.appProto ??= 'dns';
  for (const a of m.anomalies) {
    report(flow, a.kind, a.detail, direction, emit, anomaly, config);
    if (flow.dropped) return;
  }
  if (!m.qr) {
    tx.query(m);
    emit.query(flow, m);
  } else {
    emit.response(flow, m, tx.answer(m));
  }
}

function report(flow: DnsFlow, kind: DnsAnomalyKind, detail: string, direction: Direction, emit: DnsEmit, anomaly: DnsAnomalyHost, config: DnsConfig): void {
  emit.anomaly(flow, { kind, detail, direction });
  anomaly(flow, `dns-${kind}`, config.policies[kind], `dns.policies.${kind}`);
}

/** A DNS query over TCP by its first bytes: the length prefix, then a query header (QR clear, a standard opcode). */
function looksLikeDnsOverTcp(head: Buffer, flow: TcpFlow): boolean | undefined {
  if (flow.server.port !== DNS_PORT) return false;
  if (head.length < 5) return undefined;
  const length = head.readUInt16BE(0);
  const flags = head[4] as number;
  // QUERY, NOTIFY or UPDATE (RFC 1035 §4.1.1, RFC 1996, RFC 2136).
  const opcode = (flags >> 3) & 0x0f;
  return length >= 12 && (flags & 0x80) === 0 && (opcode === 0 || opcode === 4 || opcode === 5);
}

/** One direction of a DNS-over-TCP connection. */
class DnsTcpParser implements StreamParser, DnsTcpHandlers {
  readonly #reader = new DnsTcpReader(this);
  readonly #flow: TcpFlow;
  readonly #direction: Direction;
  readonly #tx: DnsTransactions;
  readonly #emit: DnsEmit;
  readonly #anomaly: DnsAnomalyHost;
  readonly #config: DnsConfig;

  constructor(flow: TcpFlow, direction: Direction, tx: DnsTransactions, emit: DnsEmit, host: FlowDissectorHost) {
    this.#flow = flow;
    this.#direction = direction;
    this.#tx = tx;
    this.#emit = emit;
    this.#anomaly = (f, kind, policy, key) => {
      host.anomaly(f as TcpFlow, kind, policy, key);
    };
    this.#config = host.config.dns;
  }

  get buffered(): number {
    return this.#reader.buffered;
  }

  data(chunk: Buffer): void {
    this.#reader.feed(chunk);
  }

  end(truncated: boolean): void {
    this.#reader.end(truncated);
  }

  message(bytes: Buffer): void {
    dnsMessage(this.#flow, bytes, this.#direction, this.#tx, this.#emit, this.#anomaly, this.#config);
  }

  anomaly(kind: DnsAnomalyKind, detail: string): void {
    report(this.#flow, kind, detail, this.#direction, this.#emit, this.#anomaly, this.#config);
  }
}

/** DNS over TCP; its events are every DNS event, UDP's included (`dns.events`). */
export const dnsOverTcp = defineFlowDissector({
  name: 'dns',
  events,
  detect: looksLikeDnsOverTcp,
  connection: () => new DnsTransactions(),
  parser: (flow, direction, emit, host, tx) => new DnsTcpParser(flow, direction, tx, emit as unknown as DnsEmit, host),
});

/** The DNS events, for rules: over UDP and TCP alike. */
export const dnsEvents = dnsOverTcp.events;

/** A UDP datagram to or from port 53, as the engine hands it over. */
export function dnsDatagram(flow: UdpFlow, payload: Buffer, up: boolean, emit: DnsEmit, anomaly: DnsAnomalyHost, config: DnsConfig): void {
  if (flow.server.port !== DNS_PORT && flow.client.port !== DNS_PORT) return;
  let tx = flow.protocolState as DnsTransactions | null;
  if (tx === null) flow.protocolState = tx = new DnsTransactions();
  dnsMessage(flow, payload, up ? 'up' : 'down', tx, emit, anomaly, config);
}

/** A datagram to or from port 53 that has a DNS header: the flow's protocol, when no rule reads DNS. */
export function markDnsFlow(flow: UdpFlow, payload: Buffer): void {
  if (flow.appProto !== null || payload.length < 12) return;
  if (flow.server.port === DNS_PORT || flow.client.port === DNS_PORT) flow.appProto = 'dns';
}
