/**
 * Upload quota: a connection whose client sends more than 16 KiB raises one alert, the moment it
 * passes the quota; when the connection ends, the alert is updated with the total sent.
 *
 * The count is kept per flow with flowState and fed by receiveData, which hands each byte of the
 * stream over once: retransmitted or overlapping segments do not count twice, so a lossy link
 * does not push an honest client over its quota. (`flow.stats.up.bytes` counts payload bytes as
 * seen on the wire, retransmissions included.)
 */
import { defineRules, flowState, tcpConnection, type AlertHandle } from 'palisade';

const QUOTA = 16 * 1024;

const usage = flowState(() => ({ sent: 0, alert: null as AlertHandle | null }));

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'upload-quota',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction !== 'up') return;
      const u = usage(flow);
      u.sent += data.length;
      // Once per flow: the update at the end carries the total, not one alert per segment.
      if (u.sent > QUOTA && u.alert === null) {
        u.alert = alert({
          description: `upload over quota: ${u.sent} bytes sent, quota ${QUOTA}`,
          severity: 'medium',
          sources: [flow.client.ip],
          targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
          flow,
          start: flow.startTime,
        });
      }
    },
  });

  rule({
    name: 'upload-total',
    on: tcpConnection.events.endConnection,
    // The state is still there in endConnection, and freed right after it.
    eval: (flow) => {
      const u = usage(flow);
      u.alert?.update({ description: `upload over quota: ${u.sent} bytes sent in all, quota ${QUOTA}`, end: flow.lastTime });
    },
  });
});
