/**
 * The TLS handshake parser: TlsReader reads one direction of a TCP stream and reports the
 * hellos and certificates in clear; the parse functions and fingerprints are usable alone.
 */
export { TlsReader, DEFAULT_MAX_HANDSHAKE_BYTES, type TlsHandlers, type TlsReaderLimits } from './reader.ts';
export { parseClientHello, type ClientHello } from './client-hello.ts';
export { parseServerHello, type ServerHello } from './server-hello.ts';
export { parseCertificate, TlsCertificate, type TlsCertificateChain } from './certificate.ts';
export { tlsAnomalies, type TlsAnomaly, type TlsAnomalyKind } from './anomalies.ts';
export type { TlsExtension } from './extensions.ts';
export { ja3, ja3s } from './ja3.ts';
export { ja4 } from './ja4.ts';
export { isGrease } from './grease.ts';
export { cipherSuiteName, extensionName, versionName } from './names.ts';
export { tls, type TlsAnomalyEvent } from './dissector.ts';
