/**
 * palisade's public API: what a rule file imports. Event descriptors are grouped by dissector,
 * as in Haka (`ipv4.events.receivePacket`).
 */
import { engineEvents, icmpEvents, ipv4Events, ipv6Events, packetEvents, tcpEvents, udpEvents } from './core/events.ts';
import { ipv4Addr, ipv4Network, ipv6Addr, ipv6Network } from './core/addresses.ts';
import { createIcmp, createIpv4, createIpv6, createTcp, createUdp } from './dissectors/create.ts';
import { tcpConnectionEvents } from './dissectors/tcp-connection/index.ts';
import { udpConnectionEvents } from './dissectors/udp-connection/index.ts';
import { dnsEvents, inZone, sameName } from './dissectors/dns/index.ts';

export { defineRules, flowState } from './core/rules.ts';
export type { RuleContext, RuleSet, RuleSpec, RuleGroup, RuleGroupSpec, GroupRuleSpec, RuleFunction, StreamedRuleSpec } from './core/rules.ts';
export { defineFlowDissector, flowEvent } from './core/flow-dissector.ts';
export type { FlowDissector, FlowDissectorSpec, StreamedFlowDissectorSpec, PushFlowDissectorSpec, FlowDissectorHost, DissectorPolicy, FlowDissectorEvents, FlowDissectorEmit, FlowEventSpec } from './core/flow-dissector.ts';
export type { StreamParser } from './dissectors/tcp-connection/index.ts';
export type { TcpStream } from './dissectors/tcp-connection/index.ts';
export type { EventDescriptor, ArgsOf, AnyEvent } from './core/events.ts';
export type { AlertInput, AlertHandle, AlertRecord, AlertAction, AlertLevel, AlertAddress, AlertFlow } from './core/alert.ts';
export { createEngine, Engine } from './core/engine.ts';
export type { EngineOptions, EngineOutput, Verdict, DropReason, DropKind, TraceOptions, FrameTrace, TraceStep } from './core/engine.ts';
export type { Config } from './core/config.ts';
export { PalisadeError } from './core/errors.ts';
export type { ErrorCode } from './core/errors.ts';
export type { Packet, Timestamp } from './dissectors/packet.ts';
export type { Ipv4Packet } from './dissectors/ipv4.ts';
export type { Ipv6Packet } from './dissectors/ipv6.ts';
export type { TcpPacket } from './dissectors/tcp.ts';
export type { UdpPacket } from './dissectors/udp.ts';
export type { IcmpPacket } from './dissectors/icmp.ts';
export type { AddressInput, IpFields, Ipv4CreateSpec, TcpCreateSpec, UdpCreateSpec, IcmpCreateSpec } from './dissectors/create.ts';
export type { Ipv4Addr, Ipv4Network, Ipv6Addr, Ipv6Network } from './core/addresses.ts';
export type { TcpFlow, Direction, EndReason, FlowState, Endpoint, DirectionStats, TcpAnomaly, TcpAnomalyKind } from './dissectors/tcp-connection/index.ts';
export type { FlowRecord } from './dissectors/flow/record.ts';
export type { AppProto } from './dissectors/flow/types.ts';
export type { UdpFlow, UdpEndReason } from './dissectors/udp-connection/index.ts';

/** Global engine events. */
export const engine = { events: engineEvents } as const;
/** The raw frame, before any dissection. */
export const packet = { events: packetEvents } as const;
export const ipv4 = { events: ipv4Events, addr: ipv4Addr, network: ipv4Network, create: createIpv4 } as const;
export const ipv6 = { events: ipv6Events, addr: ipv6Addr, network: ipv6Network, create: createIpv6 } as const;
export const tcp = { events: tcpEvents, create: createTcp } as const;
export const udp = { events: udpEvents, create: createUdp } as const;
export const icmp = { events: icmpEvents, create: createIcmp } as const;
/** Connection tracking and stream reassembly over TCP (Haka's tcp_connection). */
export const tcpConnection = { events: tcpConnectionEvents } as const;
/** UDP flows: datagrams of one 4-tuple, both directions, until an idle timeout. */
export const udpConnection = { events: udpConnectionEvents } as const;
/** HTTP/1.x (RFC 9112): requests, responses, bodies and transactions of every connection that speaks it, on any port. */
export { http } from './dissectors/http/index.ts';
export type { HttpRequest, HttpResponse, HttpTransaction, HttpFraming, HttpHeaders, HttpHeader, HttpAnomaly, HttpAnomalyKind } from './dissectors/http/index.ts';
/** TLS (RFC 8446, 5246): the hellos and TLS 1.2 certificates of every connection that speaks it, on any port, with JA3 and JA4. */
export { tls } from './dissectors/tls/index.ts';
export type { ClientHello, ServerHello, TlsCertificate, TlsCertificateChain, TlsExtension, TlsAnomalyEvent, TlsAnomalyKind } from './dissectors/tls/index.ts';
/** DNS (RFC 1035) over UDP and TCP: every query and response, decoded, a response with the query it answers. */
export const dns = { events: dnsEvents, sameName, inZone } as const;
export type { DnsMessage, DnsQuestion, DnsRecord, DnsMx, DnsSoa, DnsSrv, DnsCaa, DnsSvcb, DnsOpt, DnsFlow, DnsAnomalyEvent, DnsAnomalyKind } from './dissectors/dns/index.ts';
