/**
 * The bench's streamed rule set: one streamed rule reading every stream of every connection line
 * by line (the keyword search of stream-rules.ts, as a line protocol rule would do it), so each
 * data packet is held until the rule has read it.
 */
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ rule }) => {
  rule({
    name: 'keyword-lines',
    on: tcpConnection.events.receiveData,
    options: { streamed: true },
    eval: async (flow, stream, direction) => {
      for await (const line of stream.lines()) {
        if (direction === 'up' && line.includes('/etc/passwd')) {
          flow.reset();
          return;
        }
      }
    },
  });
});
