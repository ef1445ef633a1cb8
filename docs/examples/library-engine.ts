// library-engine.ts
import { createEngine, defineRules, tcpConnection, type AlertRecord, type Verdict } from 'palisade';

/** A telnet guard: alert on a login prompt, and reset the connection. */
const rules = defineRules(({ rule, alert }) => {
  rule({
    name: 'no-telnet',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction === 'down' && data.includes('login:')) {
        alert({ description: 'telnet login prompt', flow });
        flow.reset();
      }
    },
  });
});

export interface Inspected {
  verdicts: Verdict[];
  alerts: AlertRecord[];
  /** Alert JSON lines, as `palisade replay` prints them. */
  lines: string[];
  /** RSTs palisade crafted (each a whole Ethernet frame). */
  injected: Buffer[];
}

/** Ethernet frames from any source (a socket, your own capture reader) through the rules. */
export function inspect(frames: readonly Buffer[]): Inspected {
  const out: Inspected = { verdicts: [], alerts: [], lines: [], injected: [] };
  const engine = createEngine({
    rules,
    alerts: { write: (line: string) => out.lines.push(line.trimEnd()) },
    onAlert: (record) => out.alerts.push(record),
    output: {
      forward: () => undefined, // send the frame on; `bytes` is valid during the call only
      inject: (bytes) => out.injected.push(bytes),
    },
  });
  frames.forEach((frame, i) => {
    // The timestamp is the engine's clock (timeouts, alert times): the frame's arrival time.
    out.verdicts.push(engine.push(frame, { secs: 1_700_000_000 + i, nsecs: 0 }, 1 /* LINKTYPE_ETHERNET */));
  });
  engine.close(); // ends open connections (endConnection, flow records) and flushes the outputs
  return out;
}
