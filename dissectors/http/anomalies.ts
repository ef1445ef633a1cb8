/**
 * The anomalies of the HTTP/1.x dissector, declared once: each is counted in the stats
 * (`http-<kind>`), raised as an `http.events.anomaly` event, and governed by a policy in config
 * (`http.policies.<kind>`, whose default and text are these). Most are the shapes of request
 * smuggling (RFC 9112 §11.2): two parsers on the path that frame a message differently.
 * Defaults let the flow go on, as Suricata's app-layer events do: a rule, or the guard in
 * palisade/rules, decides; `drop-flow` and `reset-flow` refuse the connection outright.
 */
import type { DissectorPolicy } from '../../core/flow-dissector.ts';

export const httpAnomalies = {
  'cl-te': {
    policy: 'accept',
    doc: 'Content-Length and Transfer-Encoding in one message (RFC 9112 §6.3 item 3): Transfer-Encoding frames it, as the RFC says; a server that reads Content-Length would see another message.',
  },
  'duplicate-content-length': { policy: 'accept', doc: 'More than one Content-Length field or value (RFC 9112 §6.3 item 5). Differing values make the framing invalid.' },
  'invalid-content-length': { policy: 'accept', doc: 'A Content-Length that is not a decimal number of at most 15 digits: the framing is invalid and parsing ends.' },
  'invalid-transfer-encoding': {
    policy: 'accept',
    doc: "A request whose Transfer-Encoding's last coding is not chunked (RFC 9112 §6.3 item 4), or a coding listed twice: the framing is invalid and parsing ends.",
  },
  'invalid-chunk-size': { policy: 'accept', doc: 'A chunk size that is not hexadecimal, too large, or a chunk not followed by CRLF (RFC 9112 §7.1): parsing ends.' },
  'obs-fold': { policy: 'accept', doc: 'A header value continued on the next line (obsolete line folding, RFC 9112 §5.2): read as one value joined by a space.' },
  'bare-lf': { policy: 'accept', doc: 'A line of the header section or a chunk size ended by LF alone (RFC 9112 §2.2): read as a line end.' },
  'space-before-colon': { policy: 'accept', doc: 'Whitespace between a field name and its colon (RFC 9112 §5.1 says a server must reject it): the name is read without it.' },
  'invalid-header': { policy: 'accept', doc: 'A header line with no colon or an empty or invalid field name: skipped.' },
  'invalid-start-line': { policy: 'accept', doc: 'A request or status line that does not parse (method, target, HTTP/1.x version; or version, 3-digit status): parsing ends, the flow goes on as bytes.' },
  'start-line-too-long': { policy: 'accept', doc: 'A request or status line longer than http.maxStartLine: parsing ends.' },
  'header-too-large': { policy: 'accept', doc: 'A header section (or trailer section) larger than http.maxHeaderBytes: parsing ends.' },
  gap: { policy: 'accept', doc: 'The stream lost bytes (a gap, or the hold cap) inside a message: parsing ends.' },
  'unexpected-response': { policy: 'accept', doc: 'A response with no request waiting for it (a server that speaks first, or a picked-up connection).' },
  'edit-too-late': { policy: 'accept', doc: "A rule rewrote a head some of whose bytes had gone to the receiver already (a response recorded before its request was whole): the head goes as it came." },
} as const satisfies Record<string, { policy: DissectorPolicy; doc: string }>;

export type HttpAnomalyKind = keyof typeof httpAnomalies;
