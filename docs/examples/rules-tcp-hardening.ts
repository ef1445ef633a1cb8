// rules-tcp-hardening.ts
import { defineRules } from 'palisade';
import { tcpHardening } from 'palisade/rules';

export default defineRules((ctx) => {
  // Alert on every anomaly, drop the connections that try an evasion; a lossy capture point
  // makes gaps: not worth an alert. An inconsistent retransmission is reset rather than dropped.
  tcpHardening(ctx, {
    mode: 'block',
    actions: { gap: 'ignore', 'overlap-different-data': 'reset' },
  });
});
