/**
 * The TLS dissector, on by use: every TCP connection whose client's first bytes are a
 * ClientHello record, on any port, has its handshake read (TlsReader) until it is encrypted. A
 * rule on tls.events.clientHello runs before any byte of the hello has reached the server (its
 * packets wait for it), so `flow.reset()` there refuses a server name before the server sees it.
 */
import { defineFlowDissector, flowEvent, type FlowDissectorHost } from '../../core/flow-dissector.ts';
import type { StreamParser } from '../tcp-connection/stream-parser.ts';
import type { Direction, TcpFlow } from '../tcp-connection/flow.ts';
import type { TlsAnomalyKind } from './anomalies.ts';
import type { TlsCertificateChain } from './certificate.ts';
import type { ClientHello } from './client-hello.ts';
import type { ServerHello } from './server-hello.ts';
import type { TlsConfig } from './config.ts';
import { TlsReader, type TlsHandlers } from './reader.ts';
import { looksLikeTls } from './detect.ts';

export interface TlsAnomalyEvent {
  readonly kind: TlsAnomalyKind;
  /** The direction whose bytes raised it. */
  readonly direction: Direction;
  /** What was seen. */
  readonly detail: string;
}

const events = {
  /** The client's hello, whole: before any of it has reached the server. */
  clientHello: flowEvent<[flow: TcpFlow, hello: ClientHello]>(),
  /** The server's hello (a HelloRetryRequest is one, `hello.helloRetryRequest`). */
  serverHello: flowEvent<[flow: TcpFlow, hello: ServerHello]>(),
  /** A TLS 1.2 certificate chain in clear: the server's (`down`), or the client's in mutual TLS (`up`). TLS 1.3 encrypts it. */
  certificate: flowEvent<[flow: TcpFlow, chain: TlsCertificateChain, direction: Direction]>(),
  /** A named anomaly (anomalies.ts): counted as `tls-<kind>`, with its policy `tls.policies.<kind>` applied after this event. */
  anomaly: flowEvent<[flow: TcpFlow, anomaly: TlsAnomalyEvent]>(),
};

interface TlsEmit {
  clientHello(flow: TcpFlow, hello: ClientHello): void;
  serverHello(flow: TcpFlow, hello: ServerHello): void;
  certificate(flow: TcpFlow, chain: TlsCertificateChain, direction: Direction): void;
  anomaly(flow: TcpFlow, anomaly: TlsAnomalyEvent): void;
}

/** One direction: the reader, its reports raised as events on the flow. */
class TlsParser implements StreamParser, TlsHandlers {
  readonly #reader: TlsReader;
  readonly #flow: TcpFlow;
  readonly #direction: Direction;
  readonly #emit: TlsEmit;
  readonly #host: FlowDissectorHost;
  readonly #config: TlsConfig;

  constructor(flow: TcpFlow, direction: Direction, emit: TlsEmit, host: FlowDissectorHost, config: TlsConfig) {
    this.#flow = flow;
    this.#direction = direction;
    this.#emit = emit;
    this.#host = host;
    this.#config = config;
    this.#reader = new TlsReader(direction === 'up', this, { maxHandshakeBytes: config.maxHandshakeBytes });
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

  clientHello(hello: ClientHello): void {
    this.#flow.appProto ??= 'tls';
    this.#emit.clientHello(this.#flow, hello);
  }

  serverHello(hello: ServerHello): void {
    this.#emit.serverHello(this.#flow, hello);
  }

  certificate(chain: TlsCertificateChain): void {
    this.#emit.certificate(this.#flow, chain, this.#direction);
  }

  anomaly(kind: TlsAnomalyKind, detail: string): void {
    const flow = this.#flow;
    this.#emit.anomaly(flow, { kind, direction: this.#direction, detail });
    this.#host.anomaly(flow, `tls-${kind}`, this.#config.policies[kind], `tls.policies.${kind}`);
  }
}

export const tls = defineFlowDissector({
  name: 'tls',
  events,
  detect: looksLikeTls,
  parser: (flow, direction, emit, host) => new TlsParser(flow, direction, emit, host, host.config.tls),
});
