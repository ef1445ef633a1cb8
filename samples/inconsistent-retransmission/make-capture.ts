/**
 * Writes samples/inconsistent-retransmission/input.pcap with palisade's session builder: no TCP
 * stack sends a retransmission with different bytes, which is the point, so this capture is
 * built frame by frame rather than recorded.
 *
 *     npx tsx samples/inconsistent-retransmission/make-capture.ts
 *
 * Two HTTP connections from 192.168.10.10 to 192.168.20.80:80, frames 1 ms apart:
 *
 * - frames 1-11, port 40000: a request whose segment is lost and sent again with the same
 *   bytes (frame 5), as any TCP stack does; the server answers, both sides close.
 * - frames 12-22, port 40002: a request for /index.html, then, before the server acknowledges it,
 *   the "same" segment again (frame 16) asking for /admin/?x=1. A monitor that keeps the first
 *   copy sees one request; a server that keeps the second serves another (Ptacek and Newsham,
 *   "Insertion, Evasion, and Denial of Service", 1998).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pcap, tcpSession } from 'palisade/testing';

const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: shop.example\r\n\r\n`;
const response = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n';

const honest = tcpSession({ client: '192.168.10.10:40000', server: '192.168.20.80:80' })
  .handshake()
  .send('up', request('/index.html'), { ack: false })
  .resend('up')
  .ack('down')
  .send('down', response)
  .close();

// '/index.html' and '/admin/?x=1' have the same length: the second copy covers exactly the first.
const evasive = tcpSession({ client: '192.168.10.10:40002', server: '192.168.20.80:80', isn: { client: 3_000_000, server: 4_000_000 } })
  .handshake()
  .send('up', request('/index.html'), { ack: false })
  .resend('up', request('/admin/?x=1'), { at: 0 })
  .ack('down')
  .send('down', response)
  .close();

const out = fileURLToPath(new URL('input.pcap', import.meta.url));
writeFileSync(out, pcap([...honest.frames(), ...evasive.frames()]));
process.stdout.write(`wrote ${out}\n`);
