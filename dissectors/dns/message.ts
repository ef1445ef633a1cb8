/**
 * A DNS message (RFC 1035 §4.1) decoded whole from its bytes: the header, the questions, the
 * three sections of records, and the EDNS OPT record (RFC 6891) found among them.
 *
 * What comes back owns its values: strings, numbers, and copies where bytes are kept, with no
 * view into `bytes`, so that a rule may keep a message past the event that delivered it. Every
 * record is decoded as it is read, not lazily: a message holds a handful of records, and its
 * anomalies are then all known when parseDnsMessage returns, whichever fields a rule reads.
 *
 * A malformed message is never an exception. parseDnsMessage reads what is well-formed, stops at
 * the first question or record it cannot frame (the rest cannot be located), and lists what it
 * found in `anomalies` (anomalies.ts). Its work is bounded by the message's length: names
 * bound their pointer chains (names.ts), and nothing else loops.
 */
import { noteAnomaly, type DnsAnomaly } from './anomalies.ts';
import { DNS_HEADER_LENGTH, readHeader, type DnsHeader } from './header.ts';
import { newNameRead } from './names.ts';
import type { DnsOpt } from './edns.ts';
import { dnsOpcodes, dnsTypes } from './parameters.ts';
import type { RdataContext } from './rdata.ts';
import { CUT, readQuestion, readRecord, type DnsQuestion, type DnsRecord } from './record.ts';

export interface DnsMessage extends DnsHeader {
  questions: DnsQuestion[];
  /** The answer section. */
  answers: DnsRecord[];
  /** The authority section: NS delegations, the SOA of a negative answer. */
  authority: DnsRecord[];
  /** The additional section, OPT included. */
  additional: DnsRecord[];
  /** The OPT record's fields: the first OPT of the additional section, owned by the root and well-formed; null without EDNS. */
  edns: DnsOpt | null;
  /**
   * Parsing stopped before every question and record the header counts: the message ended
   * (with TC set, as its sender cut it, or not: 'count-mismatch', 'truncated-record'), or a
   * name could not be read. The arrays hold what came before.
   */
  partial: boolean;
  /** Bytes read: the header and every question and record read; `bytes.length - length` are trailing or unread. */
  length: number;
  /** What was wrong, each kind once (the first occurrence's detail); [] for a well-formed message. */
  anomalies: DnsAnomaly[];
}

/**
 * Decodes the DNS message `bytes` (one UDP payload, or one message of a TCP stream without its
 * length prefix). Null when it is shorter than a header: the anomaly 'truncated-message'.
 * `bytes` is only read during the call.
 */
export function parseDnsMessage(bytes: Buffer): DnsMessage | null {
  if (bytes.length < DNS_HEADER_LENGTH) return null;
  const header = readHeader(bytes);
  const anomalies: DnsAnomaly[] = [];
  const cx: RdataContext = { b: bytes, name: newNameRead(), anomalies };
  const m: DnsMessage = { ...header, questions: [], answers: [], authority: [], additional: [], edns: null, partial: false, length: DNS_HEADER_LENGTH, anomalies };
  const counts = header.counts;
  if (header.opcode === dnsOpcodes.QUERY && counts.questions > 1) {
    noteAnomaly(anomalies, 'multiple-questions', `QDCOUNT ${counts.questions}`);
  }

  let at = readSection(cx, m, DNS_HEADER_LENGTH, counts.questions, 'question', null);
  if (at >= 0) at = readSection(cx, m, at, counts.answers, 'answer', m.answers);
  if (at >= 0) at = readSection(cx, m, at, counts.authority, 'authority record', m.authority);
  if (at >= 0) at = readSection(cx, m, at, counts.additional, 'additional record', m.additional);
  if (at >= 0) {
    m.length = at;
    if (at < bytes.length) noteAnomaly(anomalies, 'trailing-bytes', `${bytes.length - at} bytes after the last record, at ${at}`);
  }
  findEdns(m);
  return m;
}

/**
 * Reads `count` questions (`list` null) or records from `at`: the offset after them, or -1 when
 * one could not be read (`m.partial` and `m.length` then say so, and the anomaly is noted).
 */
function readSection(cx: RdataContext, m: DnsMessage, at: number, count: number, what: string, list: DnsRecord[] | null): number {
  for (let i = 0; i < count; i++) {
    const next = list === null ? readQuestion(cx, at, m.questions) : readRecord(cx, at, list);
    if (next >= 0) {
      at = next;
      continue;
    }
    m.partial = true;
    m.length = at;
    // With TC set the sender says it cut the message (RFC 2181 §9): its end is no anomaly.
    if (next === CUT && !m.tc) {
      const where = `${what} ${i + 1} of ${count}`;
      if (at === cx.b.length) noteAnomaly(m.anomalies, 'count-mismatch', `${where}: the message ends at ${at}`);
      else noteAnomaly(m.anomalies, 'truncated-record', `${where}, at ${at}, runs past the end (${cx.b.length})`);
    }
    return -1;
  }
  return at;
}

/** Takes the message's OPT record into `edns` and the rcode (RFC 6891 §6.1.1, §6.1.3). */
function findEdns(m: DnsMessage): void {
  for (const list of [m.answers, m.authority]) {
    for (const r of list) if (r.type === dnsTypes.OPT) noteAnomaly(m.anomalies, 'bad-opt', `OPT record in the ${list === m.answers ? 'answer' : 'authority'} section`);
  }
  let seen = 0;
  for (const r of m.additional) {
    if (r.typeName !== 'OPT') continue;
    if (++seen > 1) noteAnomaly(m.anomalies, 'bad-opt', 'a second OPT record');
    else if (r.name !== '.') noteAnomaly(m.anomalies, 'bad-opt', `OPT record owned by ${r.name}, not the root`);
    else if (r.data !== null) {
      m.edns = r.data;
      m.rcode |= r.data.extendedRcode << 4;
    }
  }
}
