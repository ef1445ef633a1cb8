/**
 * What the two directions of one HTTP connection share: the transactions open, in request
 * order (responses come in that order, RFC 9112 §9.3.2), and whether the connection has left
 * HTTP (an upgrade, a CONNECT tunnel).
 */
import type { HttpRequest, HttpResponse, HttpTransaction } from './message.ts';

const NO_INTERIM: readonly HttpResponse[] = Object.freeze([]);

/** One request and its responses; handed to transactionEnd as it is. */
export class Transaction implements HttpTransaction {
  request: HttpRequest | null;
  response: HttpResponse | null = null;
  /** The 1xx responses, made on the first (most transactions have none). */
  interim: readonly HttpResponse[] = NO_INTERIM;
  complete = false;
  /** @internal */ requestDone = false;
  /** @internal */ responseDone = false;
  constructor(request: HttpRequest | null) {
    this.request = request;
  }

  /** @internal */
  addInterim(res: HttpResponse): void {
    this.interim = this.interim === NO_INTERIM ? [res] : [...this.interim, res];
  }
}

export class HttpSession {
  /** Open transactions, oldest first: each ends when both its messages have. */
  readonly open: Transaction[] = [];
  /**
   * HTTP has ended for both directions: a 101 or a 2xx to CONNECT (other bytes follow), or one
   * direction that could not be parsed (the other cannot be paired with it any more).
   */
  over = false;
  /** Parsers of this connection still running (one per direction that sent bytes). */
  parsers = 0;

  /** The oldest transaction without a final response. */
  awaitingResponse(): Transaction | null {
    for (const tx of this.open) if (tx.response === null) return tx;
    return null;
  }
}
