/** Resets the connection when the client sends 'attack' (Haka's flow:reset()). */
import { defineRules, tcpConnection } from 'palisade';
import { recordEvents } from '../record-rules.ts';

export default defineRules((ctx) => {
  recordEvents(ctx);
  ctx.rule({
    name: 'reset-on-attack',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, dir) => {
      if (dir === 'up' && data.includes('attack')) flow.reset();
    },
  });
});
