/**
 * Upload quota: a connection whose client sends more than 16 KiB raises one alert, the moment it
 * passes the quota; when the connection ends, the alert is updated with the total sent.
 *
 * The count is kept per flow with flowState and fed by receiveData, which hands each byte of the
 * stream over once: retransmitted or overlapping segments do not count twice, so a lossy link
 * does not push an honest client over its quota. (`flow.stats.up.bytes` counts payload bytes as
 * seen on the wire, retransmissions included.)
 */
import { defineRules } from 'palisade';
import { flowQuota } from 'palisade/rules';

export default defineRules((ctx) => {
  // rules/flow-quota.ts: the count is kept per flow with flowState; the alert at the end of the
  // connection is updated with the total (by the rule 'upload-quota-total').
  flowQuota(ctx, { name: 'upload-quota', bytes: 16 * 1024, direction: 'up' });
});
