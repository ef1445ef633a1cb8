/** Refuses every connection by dropping its SYN, with an alert each time. */
import { defineRules, tcpConnection } from 'palisade';
import { recordEvents } from '../record-rules.ts';

export default defineRules((ctx) => {
  recordEvents(ctx);
  ctx.rule({
    name: 'refuse-every-syn',
    on: tcpConnection.events.newConnection,
    eval: (flow, tcp) => {
      ctx.alert({ description: 'connection refused', flow });
      tcp.drop();
    },
  });
});
