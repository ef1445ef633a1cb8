/**
 * The anomalies of the TLS handshake reader, declared once with what each means. A TlsReader
 * reports each through `TlsHandlers.anomaly(kind, detail)`; the detail says what was seen. Kinds
 * marked "ends" also end the reader (`done`): after them the stream is not read further.
 * Names are stable: they are meant for stats and rule conditions.
 */
export const tlsAnomalies = {
  'not-tls': 'Ends. The first bytes are no TLS record: a content type other than 20-24, or a version not 3.x (RFC 8446 §5.1).',
  'sslv2-hello': 'Ends. An SSLv2-compatible ClientHello (RFC 5246 Appendix E.2): a two-byte header with the high bit set; not parsed.',
  'malformed-record': 'Ends. A later record header that is impossible (type, version, a handshake record empty or over 2^14 bytes), or another record type interleaved inside a handshake message (RFC 8446 §5.1).',
  'unexpected-record': 'Ends. A record that has no place here: application data or ChangeCipherSpec before any hello, or a heartbeat in clear (RFC 6520 §3).',
  'unexpected-message': 'Ends. A handshake message out of place: the first message of a direction is not its hello, a hello in the wrong direction, or a second HelloRetryRequest (RFC 8446 §4.1.4).',
  'malformed-hello': 'Ends. A ClientHello or ServerHello whose fields overrun the message or leave bytes after its extensions (RFC 8446 §4.1.2, §4.1.3).',
  'malformed-extension': 'An extension whose body does not follow its own syntax (or is empty where the syntax needs a value): its field is left empty, the rest of the hello is read.',
  'duplicate-extension': 'The same extension type twice in one hello (RFC 8446 §4.2 forbids it): peers differ on which one counts; the fields take the first.',
  'bad-server-name': 'The SNI is no plain host name (RFC 6066 §3): empty, more than one host_name, bytes outside printable ASCII, or a trailing dot. serverName is the first host_name as sent.',
  'handshake-too-large': 'Ends. A handshake message that is read whole (hello, Certificate) longer than maxHandshakeBytes, or more bytes held for one than that.',
  'truncated-hello': 'The stream ended, by a gap or a close, with a hello incomplete: the reader never saw all of it.',
  'malformed-certificate': 'Ends. A Certificate message whose certificate list overruns it or leaves bytes over (RFC 5246 §7.4.2).',
  'bad-certificate': 'A certificate in a Certificate message that is no DER SEQUENCE spanning its bytes: it is kept, raw, and its fields read null.',
} as const;

export type TlsAnomalyKind = keyof typeof tlsAnomalies;

/** An anomaly found in a hello that did not stop its parse; the reader reports it before the hello. */
export interface TlsAnomaly {
  kind: TlsAnomalyKind;
  detail: string;
}
