// streams-line-guard.ts
import { defineRules, tcpConnection } from 'palisade';

// SMTP commands that tell which mailboxes exist (RFC 5321 §3.5): refused on the way in.
const enumeration = /^(VRFY|EXPN)\b/i;

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'line-guard',
    on: tcpConnection.events.receiveData,
    options: { streamed: true },
    // One run per connection and direction, from its first byte to its end.
    eval: async (flow, stream, direction) => {
      // Returning stops this rule's holding for the direction: return early from what it skips.
      if (direction !== 'up' || flow.server.port !== 25) return;
      for await (const line of stream.lines()) {
        // The packets carrying `line` are held until the loop asks for the next one.
        if (enumeration.test(line)) {
          alert({ description: `refused: ${line}`, severity: 'medium' });
          flow.reset();
          return;
        }
      }
    },
  });
});
