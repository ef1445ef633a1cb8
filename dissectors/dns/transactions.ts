/**
 * Queries waiting for their answer on one flow, matched as a resolver matches them (RFC 5452
 * §4.3): the transaction id, and the question. Bounded: a flood of unanswered queries forgets the
 * oldest ones, and their late answers come with no query.
 */
import type { DnsMessage } from './message.ts';
import { sameName } from './name-compare.ts';

const MAX_PENDING = 64;

export class DnsTransactions {
  readonly #pending: DnsMessage[] = [];

  query(m: DnsMessage): void {
    const p = this.#pending;
    if (p.length >= MAX_PENDING) p.shift();
    p.push(m);
  }

  /** The query `response` answers, taken out of the pending ones; null when none matches. */
  answer(response: DnsMessage): DnsMessage | null {
    const p = this.#pending;
    const q = response.questions[0];
    for (let i = 0; i < p.length; i++) {
      const m = p[i] as DnsMessage;
      if (m.id !== response.id) continue;
      const mq = m.questions[0];
      // A response without its question (some servers' errors) still matches by id.
      if (q !== undefined && mq !== undefined && (mq.type !== q.type || mq.class !== q.class || !sameName(mq.name, q.name))) continue;
      p.splice(i, 1);
      return m;
    }
    return null;
  }
}
