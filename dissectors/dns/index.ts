/**
 * DNS (RFC 1035 and after): the message parser, DNS over TCP framing, and the dissector that
 * raises dns.events over UDP and TCP.
 */
export { parseDnsMessage, type DnsMessage } from './message.ts';
export type { DnsQuestion, DnsRecord, DnsRecordOf } from './record.ts';
export type { DnsMx, DnsSoa, DnsSrv, DnsCaa } from './rdata.ts';
export type { DnsSvcb } from './svcb.ts';
export type { DnsOpt } from './edns.ts';
export { dnsAnomalies, type DnsAnomaly, type DnsAnomalyKind } from './anomalies.ts';
export { sameName, inZone } from './name-compare.ts';
export { DnsTcpReader } from './tcp-framing.ts';
export { dnsEvents, dnsOverTcp, dnsDatagram, markDnsFlow, type DnsFlow, type DnsAnomalyEvent, type DnsEmit } from './dissector.ts';
