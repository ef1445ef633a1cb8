/**
 * The HTTP/1.x dissector (RFC 9112), on by use: when a rule listens to one of its events, every
 * TCP connection whose client's first bytes are a request line is parsed, on any port
 * (`http.onPort(8080)` still binds a port where detection would not look, as a connection that
 * starts with something else). Built on defineFlowDissector in push mode, as a rule file's own
 * dissector would be.
 */
import { defineFlowDissector, flowEvent } from '../../core/flow-dissector.ts';
import type { Direction, TcpFlow } from '../tcp-connection/flow.ts';
import type { HttpAnomalyKind } from './anomalies.ts';
import type { HttpRequest, HttpResponse, HttpTransaction } from './message.ts';
import { HttpParser } from './parser.ts';
import { HttpSession } from './session.ts';
import { looksLikeRequest } from './detect.ts';

export type { HttpRequest, HttpResponse, HttpTransaction, HttpFraming } from './message.ts';
export type { HttpHeaders, HttpHeader } from './headers.ts';
export type { HttpAnomalyKind } from './anomalies.ts';
export { httpAnomalies } from './anomalies.ts';
export { normalizePath } from './uri.ts';

export interface HttpAnomaly {
  readonly kind: HttpAnomalyKind;
  /** The direction whose bytes raised it. */
  readonly direction: Direction;
}

const events = {
  /** A request's head, whole: before any of it has reached the server (its packets wait for this event). */
  request: flowEvent<[flow: TcpFlow, request: HttpRequest]>(),
  /** A response's head, whole; `response.interim` for 1xx, the final response follows. */
  response: flowEvent<[flow: TcpFlow, response: HttpResponse]>(),
  /** Request body bytes as they come, decoded from chunked: a view valid only during the event (copy what you keep). */
  requestBody: flowEvent<[flow: TcpFlow, data: Buffer, request: HttpRequest]>(),
  /** Response body bytes as they come, decoded from chunked: a view valid only during the event (copy what you keep). */
  responseBody: flowEvent<[flow: TcpFlow, data: Buffer, response: HttpResponse]>(),
  /** A request and its final response have both ended (or the connection has, `complete: false`); none once palisade dropped or reset the flow. */
  transactionEnd: flowEvent<[flow: TcpFlow, transaction: HttpTransaction]>(),
  /** A named anomaly (anomalies.ts): counted as `http-<kind>`, with its policy `http.policies.<kind>` applied after this event. */
  anomaly: flowEvent<[flow: TcpFlow, anomaly: HttpAnomaly]>(),
};

export const http = defineFlowDissector({
  name: 'http',
  events,
  detect: looksLikeRequest,
  connection: () => new HttpSession(),
  parser: (flow, direction, emit, host, session) => new HttpParser(flow, direction, session, emit, host, host.config.http),
});
