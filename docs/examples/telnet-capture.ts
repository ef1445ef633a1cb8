// telnet-capture.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pcap, tcpSession } from 'palisade/testing';

/** A web request and its answer (frames 1-10), then a telnet login as root (frames 11-19). */
export function telnetCapture(): Buffer {
  const web = tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80' })
    .handshake()
    .send('up', 'GET / HTTP/1.1\r\nHost: intranet\r\n\r\n')
    .send('down', 'HTTP/1.1 204 No Content\r\n\r\n')
    .close();
  const telnet = tcpSession({ client: '192.168.10.10:40001', server: '192.168.20.80:23' })
    .handshake()
    .send('down', 'login: ')
    .send('up', 'root\r\n')
    .send('down', 'Password: ');
  return pcap([...web.frames(), ...telnet.frames()]);
}

// `npx tsx docs/examples/telnet-capture.ts` writes the case's capture.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('cases/telnet/input.pcap', import.meta.url), telnetCapture());
}
