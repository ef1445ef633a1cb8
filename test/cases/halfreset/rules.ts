/** Half-resets the connection when the server sends 'secret': only the server gets a RST. */
import { defineRules, tcpConnection } from 'palisade';
import { recordEvents } from '../record-rules.ts';

export default defineRules((ctx) => {
  recordEvents(ctx);
  ctx.rule({
    name: 'halfreset-on-secret',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, dir) => {
      if (dir === 'down' && data.includes('secret')) flow.halfreset();
    },
  });
});
