/**
 * Port scan detection: a source that opens connections to more than 10 different ports within
 * 5 seconds is a scanner. The connection that crosses the line raises an alert and is refused,
 * and so is every connection the source tries for the next 60 seconds.
 *
 * Time is the engine clock (`flow.startTime`): the capture's timestamps in replay, so a replay
 * judges the scan exactly as it happened, however fast palisade reads the file; wall time inline.
 * A connect scan and a SYN scan look the same here: each probe is a new connection's SYN.
 */
import { defineRules, tcpConnection } from 'palisade';

const WINDOW = 5; // seconds
const MAX_PORTS = 10; // distinct destination ports per source within WINDOW
const BLOCK = 60; // seconds a detected scanner stays blocked
// Sources remembered at once. A scan from spoofed addresses must not grow this table without
// bound: past it, the source seen longest ago is forgotten.
const MAX_SOURCES = 65_536;

interface Source {
  /** Destination port → last time this source opened a connection to it. */
  ports: Map<number, number>;
  blockedUntil: number;
}

export default defineRules(({ rule, alert, log }) => {
  // Per source address, not per flow: flowState would not see across a scanner's connections.
  const sources = new Map<string, Source>();

  const sourceOf = (address: string): Source => {
    let s = sources.get(address);
    if (s === undefined) {
      s = { ports: new Map(), blockedUntil: 0 };
      if (sources.size >= MAX_SOURCES) {
        const oldest = sources.keys().next().value;
        if (oldest !== undefined) sources.delete(oldest);
      }
    } else {
      // Map keeps insertion order: re-inserting makes it the most recently seen source.
      sources.delete(address);
    }
    sources.set(address, s);
    return s;
  };

  rule({
    name: 'port-scan',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      const now = flow.startTime;
      const source = sourceOf(flow.client.ip);
      if (now < source.blockedUntil) {
        log.debug({ scanner: flow.client.ip, port: flow.server.port }, 'connection from a blocked scanner refused');
        flow.drop();
        return;
      }
      for (const [port, seen] of source.ports) if (seen <= now - WINDOW) source.ports.delete(port);
      source.ports.set(flow.server.port, now);
      if (source.ports.size <= MAX_PORTS) return;

      alert({
        description: `port scan: ${source.ports.size} ports in ${WINDOW} s`,
        severity: 'medium',
        sources: [flow.client.ip],
        targets: [flow.server.ip],
        flow,
      });
      source.blockedUntil = now + BLOCK;
      source.ports.clear();
      // Refusing drops the SYN: the probe learns nothing about this port.
      flow.drop();
    },
  });
});
