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
import { defineRules } from 'palisade';
import { keywordReset } from 'palisade/rules';

export default defineRules((ctx) => {
  // rules/keyword-reset.ts: the start of the client's current line is kept per flow (64 bytes,
  // so a client cannot make palisade buffer without bound) and matched as bytes arrive.
  keywordReset(ctx, {
    name: 'ftp-forbidden-command',
    ports: 21,
    ignoreOtherPorts: true, // no other rule reads data here: palisade reassembles only FTP
    description: 'forbidden FTP command',
    keywords: [
      { pattern: /^\s*SITE\s+EXEC/i, description: 'FTP SITE EXEC: runs a program on the server', ref: 'CVE-1999-0080' },
      { pattern: /^\s*SITE\s+CP(?:FR|TO)/i, description: 'FTP SITE CPFR/CPTO: ProFTPD mod_copy copies any file', ref: 'CVE-2015-3306' },
    ],
  });
});
