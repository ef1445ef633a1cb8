// telnet-guard.ts
import { defineRules, flowState, tcpConnection } from 'palisade';

// Telnet carries passwords in clear text: nobody logs in as root over it.
const typed = flowState(() => ({ line: '' }));

export default defineRules(({ rule, alert, log }) => {
  rule({
    name: 'no-root-telnet',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (flow.server.port !== 23 || direction !== 'up') return;
      // The user name may come a few bytes at a time: judge the line typed so far.
      const user = typed(flow);
      user.line += data.toString('latin1');
      if (/^root\r?\n/.test(user.line)) {
        log.warn({ client: flow.client.ip }, 'root login over telnet');
        alert({
          description: 'root login over telnet',
          severity: 'high',
          sources: [flow.client.ip],
          targets: [{ address: flow.server.ip, service: 'tcp/23' }],
        });
        flow.reset();
      }
    },
  });
});
