/**
 * The bench's stream rule set: every connection tracked and both directions reassembled, with
 * a rule looking at every in-order chunk (a keyword search, as an IPS rule would do).
 */
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ rule }) => {
  rule({
    name: 'keyword',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction === 'up' && data.includes('/etc/passwd')) flow.reset();
    },
  });
});
