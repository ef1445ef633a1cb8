/**
 * The bench's connection rule set: every connection tracked (handshake, state, timeouts, flow
 * records) but no stream reassembled, as a firewall that filters connections does. Every
 * connection of the generated capture goes to port 80 or 8080, so none is refused.
 */
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ rule }) => {
  rule({
    name: 'web-only',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      if (flow.dstport !== 80 && flow.dstport !== 8080) flow.drop();
    },
  });
});
