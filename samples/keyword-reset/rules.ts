/**
 * FTP command filter: a client that sends a forbidden FTP command has its connection reset
 * before the server sees the whole command.
 *
 * FTP commands are lines, and TCP does not keep writes together: a client (or an evasion tool)
 * can send "SITE EX" in one segment and "EC /bin/sh" in the next. Matching each segment on its
 * own misses that, so the rule keeps the start of the client's current command line per flow and
 * matches on it as bytes arrive. The server acts on a line only at its end, and the segment that
 * completes the match is dropped, so it never holds a forbidden command line.
 */
import { defineRules, flowState, tcpConnection } from 'palisade';

const FTP = 21;

const forbidden = [
  { pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC: runs a program on the server', ref: 'CVE-1999-0080' },
  { pattern: /^\s*SITE\s+CP(?:FR|TO)/i, description: 'FTP SITE CPFR/CPTO: ProFTPD mod_copy copies any file', ref: 'CVE-2015-3306' },
];

// Enough of a line to recognise every command above; the rest of a long line is not kept, so a
// client cannot make palisade buffer without bound by never sending a newline.
const LINE_START = 64;

/** The start of the command line the client is sending, and whether it was already matched. */
const line = flowState(() => ({ start: '', matched: false }));

export default defineRules(({ rule, alert }) => {
  rule({
    name: 'ftp-only',
    on: tcpConnection.events.newConnection,
    // Reassembly costs memory and time: keep it for the FTP control connections this file reads.
    eval: (flow) => {
      if (flow.server.port !== FTP) flow.ignoreData();
    },
  });

  rule({
    name: 'ftp-forbidden-command',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction) => {
      if (direction !== 'up') return;
      const current = line(flow);
      const text = data.toString('latin1');
      for (let from = 0; from <= text.length; ) {
        const newline = text.indexOf('\n', from);
        const end = newline < 0 ? text.length : newline;
        if (!current.matched) {
          const room = LINE_START - current.start.length;
          if (room > 0) current.start += text.slice(from, Math.min(end, from + room));
          const hit = forbidden.find((f) => f.pattern.test(current.start));
          // One alert per command line, however many segments it takes.
          if (hit) {
            current.matched = true;
            alert({
              description: `forbidden FTP command: ${current.start.trim()}`,
              severity: 'high',
              method: { description: hit.description, ref: hit.ref },
              sources: [flow.client.ip],
              targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
              flow,
            });
            flow.reset();
          }
        }
        if (newline < 0) break;
        current.start = '';
        current.matched = false;
        from = newline + 1;
      }
    },
  });
});
