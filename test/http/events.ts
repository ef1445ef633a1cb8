/** Replays frames or a capture with a rule on every HTTP event, and lists what came, in order. */
import { defineRules, http, type TcpFlow } from '../../index.ts';
import { replay, type ReplayResult } from '../../testing.ts';

export type Seen =
  | { ev: 'request'; flow: number; method: string; uri: string; path: string; version: string; framing: string; headers: [string, string][] }
  | { ev: 'response'; flow: number; status: number; interim: boolean; framing: string; for: string | null }
  | { ev: 'requestBody' | 'responseBody'; flow: number; data: string }
  | { ev: 'transactionEnd'; flow: number; uri: string | null; status: number | null; complete: boolean; interim: number }
  | { ev: 'anomaly'; flow: number; kind: string; direction: string };

export interface HttpRun {
  seen: Seen[];
  result: ReplayResult;
  /** Bodies joined per flow and direction. */
  bodies: Map<string, string>;
}

export async function runHttp(input: { packets?: Buffer[]; capture?: string }, config?: unknown, onRequest?: (flow: TcpFlow, host: string) => void): Promise<HttpRun> {
  const seen: Seen[] = [];
  const bodies = new Map<string, string>();
  const body = (key: string, d: Buffer): void => {
    bodies.set(key, (bodies.get(key) ?? '') + d.toString('latin1'));
  };
  const rules = defineRules(({ rule }) => {
    rule({
      name: 'request',
      on: http.events.request,
      eval: (flow, r) => {
        seen.push({ ev: 'request', flow: flow.id, method: r.method, uri: r.uri, path: r.path, version: r.version, framing: r.framing, headers: r.headers.toJSON() });
        onRequest?.(flow, r.host);
      },
    });
    rule({
      name: 'response',
      on: http.events.response,
      eval: (flow, r) => {
        seen.push({ ev: 'response', flow: flow.id, status: r.status, interim: r.interim, framing: r.framing, for: r.request?.uri ?? null });
      },
    });
    rule({
      name: 'request-body',
      on: http.events.requestBody,
      eval: (flow, d) => {
        seen.push({ ev: 'requestBody', flow: flow.id, data: d.toString('latin1') });
        body(`${flow.id} up`, d);
      },
    });
    rule({
      name: 'response-body',
      on: http.events.responseBody,
      eval: (flow, d) => {
        seen.push({ ev: 'responseBody', flow: flow.id, data: d.toString('latin1') });
        body(`${flow.id} down`, d);
      },
    });
    rule({
      name: 'transaction-end',
      on: http.events.transactionEnd,
      eval: (flow, t) => {
        seen.push({ ev: 'transactionEnd', flow: flow.id, uri: t.request?.uri ?? null, status: t.response?.status ?? null, complete: t.complete, interim: t.interim.length });
      },
    });
    rule({
      name: 'anomaly',
      on: http.events.anomaly,
      eval: (flow, a) => {
        seen.push({ ev: 'anomaly', flow: flow.id, kind: a.kind, direction: a.direction });
      },
    });
  });
  const result = await replay({ rules, ...input, ...(config === undefined ? {} : { config }) });
  return { seen, result, bodies };
}

export const only = <E extends Seen['ev']>(seen: Seen[], ev: E): Extract<Seen, { ev: E }>[] => seen.filter((s): s is Extract<Seen, { ev: E }> => s.ev === ev);
