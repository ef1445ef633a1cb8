/**
 * alert(): one JSON line per alert (and per update), after Haka's alert fields, through pino.
 */
import type { Logger } from 'pino';
import { Ipv4Addr, Ipv6Addr } from './addresses.ts';
import type { Timestamp } from '../dissectors/packet.ts';
import type { DropReason } from '../dissectors/verdict.ts';

export type AlertLevel = 'low' | 'medium' | 'high';
export type AlertAddressValue = string | Ipv4Addr | Ipv6Addr;
/** An address, or an address with the service on it (`{ address: '10.0.0.1', service: 'tcp/80' }`). */
export type AlertAddress = AlertAddressValue | { address: AlertAddressValue; service?: string | number };

export interface AlertFlow {
  readonly id: number | string;
  readonly client: { readonly ip: string; readonly port: number };
  readonly server: { readonly ip: string; readonly port: number };
  readonly communityId?: string;
  /** The protocol a dissector recognised in it: `app_proto` in the record, as eve's. */
  readonly appProto?: string | null;
}

export interface AlertInput {
  description?: string;
  severity?: AlertLevel;
  confidence?: AlertLevel | number;
  completion?: 'failed' | 'successful';
  method?: { description: string; ref?: string | string[] };
  sources?: readonly AlertAddress[];
  targets?: readonly AlertAddress[];
  flow?: AlertFlow;
  start?: Timestamp | number;
  end?: Timestamp | number;
}

export interface AlertHandle {
  readonly id: number;
  /** Re-emits the alert with the same id and the changed fields, as Haka's `alert.update`. */
  update: (changes: AlertInput) => void;
}

/**
 * What was done to the alert's packet or flow by the end of the turn that raised it: `blocked`
 * (its frame dropped, or its rule dropped or reset a flow; `reason` says how), `held` (its frame
 * waits for streamed rules), or `allowed`.
 */
export type AlertAction = 'allowed' | 'blocked' | 'held';

/** The JSON line, as written. */
export interface AlertRecord {
  type: 'alert';
  id: number;
  update?: true;
  rule: string;
  packet?: number;
  action: AlertAction;
  /** Why, when `blocked`. */
  reason?: DropReason;
  severity?: AlertLevel;
  confidence?: AlertLevel | number;
  completion?: 'failed' | 'successful';
  description?: string;
  method?: { description: string; ref?: string | string[] };
  sources?: { address: string; service?: string }[];
  targets?: { address: string; service?: string }[];
  flow?: { id: number | string; client: { ip: string; port: number }; server: { ip: string; port: number }; communityId?: string };
  /** The flow's protocol (`http`, `tls`, `dns`…), when a dissector recognised it (eve's `app_proto`). */
  app_proto?: string;
  start?: number;
  end?: number;
  [extra: string]: unknown;
}

function address(a: AlertAddress): { address: string; service?: string } {
  if (typeof a === 'string' || a instanceof Ipv4Addr || a instanceof Ipv6Addr) return { address: a.toString() };
  return a.service === undefined
    ? { address: a.address.toString() }
    : { address: a.address.toString(), service: String(a.service) };
}

const seconds = (t: Timestamp | number): number => (typeof t === 'number' ? t : t.seconds);

/** Turns what a rule passed into the record's fields (fields not given are left out). */
export function alertFields(input: AlertInput): Partial<AlertRecord> {
  const out: Partial<AlertRecord> = {};
  if (input.severity !== undefined) out.severity = input.severity;
  if (input.confidence !== undefined) out.confidence = input.confidence;
  if (input.completion !== undefined) out.completion = input.completion;
  if (input.description !== undefined) out.description = input.description;
  if (input.method !== undefined) out.method = input.method;
  if (input.sources !== undefined) out.sources = input.sources.map(address);
  if (input.targets !== undefined) out.targets = input.targets.map(address);
  if (input.flow !== undefined) {
    const f = input.flow;
    out.flow = {
      id: f.id,
      client: { ip: f.client.ip, port: f.client.port },
      server: { ip: f.server.ip, port: f.server.port },
      ...(f.communityId === undefined ? {} : { communityId: f.communityId }),
    };
    if (typeof f.appProto === 'string') out.app_proto = f.appProto;
  }
  if (input.start !== undefined) out.start = seconds(input.start);
  if (input.end !== undefined) out.end = seconds(input.end);
  return out;
}

/**
 * Writes alert records; the engine supplies the running rule and frame. While the engine runs,
 * records wait for the end of the engine's turn (release()), when what was done to their packet
 * or flow is known: their `action`. A streamed rule runs between turns: its alerts go with the
 * turn that carries out what it did. Once the engine is closed (stopDeferring()), a late alert
 * (a rule's timer) is written at once.
 */
export class AlertWriter {
  #next = 1;
  readonly #logger: Logger;
  readonly #onAlert: ((record: AlertRecord) => void) | undefined;
  #deferring = true;
  readonly #deferred: AlertRecord[] = [];

  constructor(logger: Logger, onAlert?: (record: AlertRecord) => void) {
    this.#logger = logger;
    this.#onAlert = onAlert;
  }

  raise(rule: string, packet: number | undefined, input: AlertInput, extra?: Record<string, unknown>): AlertHandle {
    // The fields first: a rule's bad input throws here, and an alert never written takes no id.
    const fields = alertFields(input);
    const id = this.#next++;
    const base: AlertRecord = { type: 'alert', id, rule, ...(packet ? { packet } : {}), action: 'allowed', ...fields, ...extra };
    this.#write(base);
    let current = base;
    return {
      id,
      update: (changes: AlertInput) => {
        current = { ...current, ...alertFields(changes), update: true };
        this.#write(current);
      },
    };
  }

  #write(record: AlertRecord): void {
    if (this.#deferring) {
      this.#deferred.push(record);
      return;
    }
    this.#logger.info(record);
    this.#onAlert?.(record);
  }

  /** A turn ended: each waiting record is written with its action (`decide`), in the order raised. */
  release(decide: (record: AlertRecord) => { action: AlertAction; reason?: DropReason }): void {
    const records = this.#deferred;
    if (records.length === 0) return;
    const deferring = this.#deferring;
    this.#deferring = false;
    for (const record of records) {
      const { action, reason } = decide(record);
      record.action = action;
      if (reason !== undefined) record.reason = reason;
      this.#write(record);
    }
    records.length = 0;
    this.#deferring = deferring;
  }

  /** The engine closed: from now on a record is written as it is raised (`allowed`: nothing more is judged). */
  stopDeferring(): void {
    this.#deferring = false;
  }
}
