// A minimal SMTP server (RFC 5321) for the sample captures, run with plain `node` inside a
// network namespace by make-captures.sh:
//
//   node smtp-server.js HOST PORT[,PORT…] OUTDIR
//
// It speaks just enough SMTP for curl: a greeting, EHLO (a multi-line reply), MAIL, RCPT, DATA
// with dot-unstuffing, VRFY and EXPN (answered, as an unhardened server would), RSET, NOOP, QUIT.
// Each message it accepts is written to OUTDIR/message-N.eml as its application received it, so
// that the capture scripts can check the session really carried the mail.
//
// (A .js file, ESM through package.json "type": "module": eslint.config.js ignores **/*.js.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

const [host, ports, outdir] = process.argv.slice(2);
let messages = 0;

function session(sock) {
  sock.setNoDelay(true);
  sock.on('error', () => {});
  const reply = (text) => sock.write(`${text}\r\n`);
  let pending = '';
  let data = null; // the message's lines while in the DATA phase
  reply('220 mail.example.net ESMTP palisade sample');

  const command = (line) => {
    const verb = line.split(' ', 1)[0].toUpperCase();
    const arg = line.slice(verb.length + 1);
    switch (verb) {
      case 'EHLO':
        reply(`250-mail.example.net greets ${arg}\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP`);
        break;
      case 'HELO':
        reply('250 mail.example.net');
        break;
      case 'MAIL':
        reply('250 2.1.0 Ok');
        break;
      case 'RCPT':
        reply('250 2.1.5 Ok');
        break;
      case 'DATA':
        data = [];
        reply('354 End data with <CR><LF>.<CR><LF>');
        break;
      case 'VRFY':
        reply(`252 2.0.0 ${arg}`);
        break;
      case 'EXPN':
        reply('250-2.1.5 Alice Liddell <alice@example.net>\r\n250-2.1.5 Bob Marley <bob@example.net>\r\n250 2.1.5 Carol Danvers <carol@example.net>');
        break;
      case 'RSET':
      case 'NOOP':
        reply('250 2.0.0 Ok');
        break;
      case 'QUIT':
        reply('221 2.0.0 Bye');
        sock.end();
        break;
      default:
        reply('502 5.5.2 Error: command not recognized');
    }
  };

  sock.on('data', (chunk) => {
    pending += chunk.toString('latin1');
    for (let at = pending.indexOf('\r\n'); at >= 0; at = pending.indexOf('\r\n')) {
      const line = pending.slice(0, at);
      pending = pending.slice(at + 2);
      if (data === null) {
        command(line);
      } else if (line === '.') {
        // RFC 5321 §4.1.1.4: <CRLF>.<CRLF> ends the mail data.
        writeFileSync(join(outdir, `message-${++messages}.eml`), data.map((l) => `${l}\r\n`).join(''), 'latin1');
        data = null;
        reply(`250 2.0.0 Ok: queued as ${messages}`);
      } else {
        // RFC 5321 §4.5.2: a line that starts with a period lost one it did not have.
        data.push(line.startsWith('.') ? line.slice(1) : line);
      }
    }
  });
}

for (const port of ports.split(',')) net.createServer(session).listen(Number(port), host);
