/**
 * Port scan detection: a source that opens connections to more than 10 different ports within
 * 5 seconds is a scanner. The connection that crosses the line raises an alert and is refused,
 * and so is every connection the source tries for the next 60 seconds.
 *
 * Time is the engine clock (`flow.startTime`): the capture's timestamps in replay, so a replay
 * judges the scan exactly as it happened, however fast palisade reads the file; wall time inline.
 * A connect scan and a SYN scan look the same here: each probe is a new connection's SYN.
 */
import { defineRules } from 'palisade';
import { portScan } from 'palisade/rules';

export default defineRules((ctx) => {
  // rules/port-scan.ts: sources are remembered per address (at most maxSources of them, the one
  // seen longest ago forgotten first, so spoofed sources cannot grow the table without bound).
  portScan(ctx, { threshold: 10, windowS: 5, blockS: 60 });
});
