/**
 * The anomalies of the DNS message parser and of the DNS-over-TCP reader, declared once with what
 * each means. parseDnsMessage lists a message's in `message.anomalies`, each kind once with the
 * first occurrence's detail; a DnsTcpReader reports its own through its handlers. Names are
 * stable: they are meant for stats and rule conditions.
 */
export const dnsAnomalies = {
  'truncated-message': 'Fewer than the 12 bytes of a header (RFC 1035 §4.1.1): parseDnsMessage returns null.',
  'truncated-record': 'A question or record (its name, its fixed fields or its RDATA) runs past the end of the message: parsing stops there. Not raised when TC is set, whose sender says it cut the message (RFC 2181 §9); `partial` says so either way.',
  'count-mismatch': 'The message ends, on a record boundary, before all the questions and records its header counts (RFC 1035 §4.1.1). Not raised when TC is set.',
  'trailing-bytes': 'Bytes after the last record the header counts.',
  'label-too-long': 'A label length byte of 64 to 191 (RFC 1035 §2.3.4 caps labels at 63; the 0b01 and 0b10 prefixes are extended label types, none in use: RFC 6891 §5): the name stops there.',
  'name-too-long': 'A name over 255 octets on the wire, length bytes and root included (RFC 1035 §2.3.4).',
  'pointer-loop': 'A compression pointer to bytes its name has already read (itself, or an earlier pointer of the chain): a loop, stopped at once (RFC 9267 §2).',
  'pointer-forward': 'A compression pointer that does not point back, before every byte its name has read: RFC 1035 §4.1.4 points to a prior occurrence, and anything else can loop (RFC 9267 §2).',
  'pointer-out-of-range': 'A compression pointer past the end of the message or into its 12-byte header, or to a name that runs past the end (RFC 9267 §2).',
  'too-many-pointers': 'More than 127 compression pointers in one name: more than any encoder needs for 127 labels.',
  'bad-rdata': 'RDATA that does not follow its type\'s syntax (an A of other than 4 bytes, a name or string overrunning RDLENGTH, bytes left over, SVCB keys out of order…): the record is kept with `data` null.',
  'bad-opt': 'An OPT record (RFC 6891 §6.1.1) outside the additional section, with an owner other than the root, or a second one: only the first well-placed one is `edns`.',
  'multiple-questions': 'A QUERY with more than one question (RFC 9619: QDCOUNT is one).',
  'incomplete-tcp-message': 'A DNS-over-TCP stream ended, by a close or a cut, inside a length-prefixed message (RFC 1035 §4.2.2): its bytes are never delivered.',
} as const;

export type DnsAnomalyKind = keyof typeof dnsAnomalies;

/** One anomaly of a message: its kind and what was seen (offsets count from the message's first byte). */
export interface DnsAnomaly {
  kind: DnsAnomalyKind;
  detail: string;
}

/** @internal Adds an anomaly to a message's list unless its kind is there already. */
export function noteAnomaly(list: DnsAnomaly[], kind: DnsAnomalyKind, detail: string): void {
  for (const a of list) if (a.kind === kind) return;
  list.push({ kind, detail });
}
