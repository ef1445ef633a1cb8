/**
 * The bench's HTTP rule set: every connection's HTTP parsed (the capture's web streams are
 * HTTP/1.1), a rule on each request's normalised path, and every transaction counted: the
 * receiveData line's job done on the protocol instead of the bytes.
 */
import { defineRules, http } from 'palisade';

/** Transactions ended in the last pass. */
export const counted = { transactions: 0 };

export default defineRules(({ rule }) => {
  rule({
    name: 'no-passwd',
    on: http.events.request,
    eval: (flow, req) => {
      if (req.path.includes('/etc/passwd')) flow.reset();
    },
  });
  rule({
    name: 'count',
    on: http.events.transactionEnd,
    eval: () => {
      counted.transactions++;
    },
  });
});
