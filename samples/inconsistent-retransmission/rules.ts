/**
 * Inconsistent retransmission: a client that sends the same stream bytes twice with different
 * content is evading inspection, and its connection is dropped.
 *
 * TCP stacks resend lost bytes as they were; only a crafted stream resends a range with other
 * bytes. Hosts disagree on which copy wins (Ptacek and Newsham, 1998), so a monitor and a server
 * can read two different requests from one connection. palisade keeps the first copy and raises
 * the anomaly `overlap-different-data`; its default policy drops only the differing segment.
 * This rule goes further: such a connection is hostile, so it raises an alert and drops the flow.
 */
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ rule, alert, log }) => {
  // Listening to receiveData is what turns reassembly on: without a stream to compare them
  // with, retransmissions are not checked and overlap-different-data is never raised. This rule
  // also records what the rules read, the copy that reaches the server: the first one.
  rule({
    name: 'request-line',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction, offset) => {
      // Each stream byte is delivered once: offset 0 comes once per connection.
      if (direction !== 'up' || offset !== 0) return;
      const line = data.toString('latin1').split('\r\n', 1)[0] ?? '';
      log.info({ client: flow.client, line }, 'request line');
    },
  });

  rule({
    name: 'inconsistent-retransmission',
    on: tcpConnection.events.anomaly,
    eval: (flow, anomaly) => {
      if (anomaly.kind !== 'overlap-different-data') return;
      const [sender, receiver] = anomaly.direction === 'up' ? [flow.client, flow.server] : [flow.server, flow.client];
      alert({
        description: 'retransmitted TCP data differs from the first copy',
        severity: 'high',
        method: { description: 'TCP segment overlap evasion (Ptacek and Newsham, 1998)' },
        sources: [sender.ip],
        targets: [{ address: receiver.ip, service: `tcp/${flow.server.port}` }],
        flow,
      });
      flow.drop();
    },
  });
});
