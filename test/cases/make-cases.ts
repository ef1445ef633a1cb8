/**
 * Writes test/cases/<name>/input.pcap for every replay case, deterministically, from the
 * session builder (testing/session.ts) and, for fragments, the packet builder
 * (testing/packets.ts). Each case's rules.ts, expect.json and trace.json are written by hand;
 * this script only makes the captures, so a capture can always be rebuilt and reviewed:
 *
 *     npx tsx test/cases/make-cases.ts
 *
 * Frame numbers in expect.json count from 1 in the order the frames are listed here.
 * Default endpoints: client 192.168.10.10:40000 (ISN 1000000), server 192.168.20.80:80 (ISN
 * 2000000); stream offset 0 is the first byte after the SYN.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodePcap } from '../../core/io/pcap-writer.ts';
import { LINKTYPE_ETHERNET } from '../../core/link-types.ts';
import { ethernet, ipv4 } from '../../testing/packets.ts';
import { writeIpv4HeaderChecksum } from '../../dissectors/checksum.ts';
import { tcpSession, type SessionDirection, type TcpSession } from '../../testing/session.ts';

/** Capture time of the first frame; the next ones follow 1 ms apart (as TcpSession.pcap()). */
const START = 1_700_000_000;

interface CaptureRecord {
  data: Buffer;
  /** Length on the wire, when the capture holds less (snaplen). */
  origLen?: number;
}

/** A pcap (Ethernet, ns timestamps) of frames 1 ms apart, as TcpSession.pcap() writes them. */
function pcapOf(records: readonly (Buffer | CaptureRecord)[]): Buffer {
  return encodePcap(
    records.map((r, i) => {
      const rec = Buffer.isBuffer(r) ? { data: r } : r;
      return { ...rec, secs: START + Math.floor(i / 1000), nsecs: (i % 1000) * 1_000_000 };
    }),
    { linkType: LINKTYPE_ETHERNET },
  );
}

/**
 * A data segment at a stream offset. Bytes past what the side had sent count as sent from then
 * on (TcpSession.resend's rule), so the ACKs and FINs built after it follow on.
 */
function put(s: TcpSession, dir: SessionDirection, offset: number, data: string): TcpSession {
  return s.resend(dir, data, { at: offset });
}

/**
 * The frame (Ethernet, untagged) with an IP length claiming `extra` bytes it does not hold: a
 * lie, since the capture records it whole (its record's wire length is its length). The IPv4
 * header checksum is made right again, so that only the length is wrong.
 */
function lyingLength(frame: Buffer, extra: number): Buffer {
  const f = Buffer.from(frame);
  const ip = 14;
  if ((f[ip] as number) >> 4 === 4) {
    f.writeUInt16BE(f.readUInt16BE(ip + 2) + extra, ip + 2);
    writeIpv4HeaderChecksum(f, ip);
  } else {
    f.writeUInt16BE(f.readUInt16BE(ip + 4) + extra, ip + 4);
  }
  return f;
}

/**
 * A good request in two lines; between them a segment at the second line's sequence number
 * carrying poison bytes, its IP length claiming 40 bytes more than its frame holds (frame 5).
 * Then the real second line (frame 6) at the same sequence number.
 */
function bogusLength(options: Parameters<typeof tcpSession>[0] = {}): Buffer {
  const s = tcpSession(options).handshake().send('up', 'GET /a\r\n', { ack: false });
  put(s, 'up', 8, 'POISON!\n');
  const poison = s.frames().length - 1;
  put(s, 'up', 8, 'GET /b\r\n');
  s.ack('down').send('down', 'OK\r\n').close();
  const frames = s.frames();
  frames[poison] = lyingLength(frames[poison] as Buffer, 40);
  return pcapOf(frames);
}

/** Each case's capture, by directory name. */
export const cases: Readonly<Record<string, () => Buffer>> = {
  // Four segments of the request arrive last first.
  'out-of-order': () => {
    const s = tcpSession().handshake().send('up', 'abcdefghijkl', { segments: 4, ack: false });
    s.reorder(3, 6).reorder(4, 5);
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // A retransmission before the ACK (compared with the retained copy), then a spurious one after
  // it (the bytes were acknowledged and released): each byte is delivered once.
  'exact-retransmission': () =>
    tcpSession()
      .handshake()
      .send('up', 'hello world', { ack: false })
      .resend('up')
      .ack('down')
      .resend('up')
      .send('down', 'ok')
      .close()
      .pcap(),

  // Frame 5 resends the unacknowledged request with other bytes.
  'inconsistent-retransmission': () =>
    tcpSession()
      .handshake()
      .send('up', 'USER alice\r\n', { ack: false })
      .resend('up', 'USER mallo\r\n', { at: 0 })
      .ack('down')
      .send('down', '+OK\r\n')
      .close()
      .pcap(),

  // Segments whose end overlaps the start of buffered out-of-order data. Frame 4: [8,12);
  // frame 5: [6,10), equal bytes; frame 6: [4,7), 'X' where [6,8) holds 'g'; frame 7: [0,7) in
  // order, its last byte equal to the buffered 'g'; frame 8: [12,16).
  'partial-overlap-left': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 8, 'IJKL');
    put(s, 'up', 6, 'ghIJ');
    put(s, 'up', 4, 'efX');
    put(s, 'up', 0, 'abcdefg');
    put(s, 'up', 12, 'mnop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // Segments whose start overlaps the end of earlier data. Buffered: frame 4 [4,8), frame 5
  // [6,10) equal, frame 6 [9,12) with 'Z' where 'j' is. Frame 7 [0,4) delivers [0,10).
  // Delivered: frame 8 [9,13) equal, frame 9 [12,16) with 'M' where 'm' is, frame 10 [13,16).
  'partial-overlap-right': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 4, 'EFGH');
    put(s, 'up', 6, 'GHij');
    put(s, 'up', 9, 'Zkl');
    put(s, 'up', 0, 'abcd');
    put(s, 'up', 9, 'jklm');
    put(s, 'up', 12, 'Mnop');
    put(s, 'up', 13, 'nop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // The conflict cases below run with tcp.policies.overlap-different-data 'accept' (their
  // expect.json's config): a segment overlapping earlier bytes with other ones gives the stream
  // its bytes nobody saw before, first wins per byte, and nothing of the stream is lost.

  // Left: [8,12) 'IJKL' buffered; frame 5 [0,10) ends over it with 'XY' where 'IJ' is, and
  // brings [0,8), which never comes again. Then [12,16).
  'conflict-left-keeps-new-bytes': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 8, 'IJKL');
    put(s, 'up', 0, 'abcdefghXY');
    put(s, 'up', 12, 'mnop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // Right: [0,4) delivered; frame 5 [2,8) starts over it with 'C' where 'c' is and brings
  // [4,8). Frame 6 [10,12) is buffered; frame 7 [8,12) ends over it with 'K' where 'k' is and
  // brings [8,10). Then [12,16).
  'conflict-right-keeps-new-bytes': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 0, 'abcd');
    put(s, 'up', 2, 'Cdefgh');
    put(s, 'up', 10, 'kl');
    put(s, 'up', 8, 'ijKl');
    put(s, 'up', 12, 'mnop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // Three buffered segments [2,4) [6,8) [10,12); frame 7 [1,13) covers them with one other byte
  // in each ('C', 'G', 'K') and brings the holes [1,2) [4,6) [8,10) [12,13). Then [0,1), [13,16).
  'conflict-covering-several-keeps-holes': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 2, 'cd');
    put(s, 'up', 6, 'gh');
    put(s, 'up', 10, 'kl');
    put(s, 'up', 1, 'bCdefGhijKlm');
    put(s, 'up', 0, 'a');
    put(s, 'up', 13, 'nop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // A tap recorded the server's reply (frame 4, acknowledging the request) before the request
  // (frame 5): the request is waited for, not reported as a gap, and delivered.
  'reply-recorded-before-request': () => {
    const s = tcpSession().handshake().send('up', 'GET /a HTTP/1.0\r\n\r\n', { ack: false }).send('down', 'HTTP/1.0 200 OK\r\n\r\nhello', { ack: false });
    s.reorder(3, 4);
    return s.send('up', 'GET /b HTTP/1.0\r\n\r\n').close().pcap();
  },

  // The other direction: the client's ACK of the reply (frame 6) recorded before the reply
  // (frame 7).
  'ack-recorded-before-reply': () => {
    const s = tcpSession().handshake().send('up', 'GET /a HTTP/1.0\r\n\r\n').send('down', 'HTTP/1.0 200 OK\r\n\r\nhello');
    const n = s.frames().length;
    s.reorder(n - 2, n - 1);
    return s.send('up', 'GET /b HTTP/1.0\r\n\r\n').close().pcap();
  },

  // The request's first segment [0,4) is not in the capture at all; the server acknowledges [0,8)
  // (frame 5). Its bytes are waited for until the client goes on past them (frame 6): a gap then,
  // and the buffered [4,8) is delivered before [8,12).
  'acked-unseen-never-comes': () => {
    const frames = tcpSession().handshake().send('up', 'abcdefgh', { segments: 2, ack: false }).ack('down').send('up', 'ijkl').close().frames();
    frames.splice(3, 1);
    return pcapOf(frames);
  },

  // The client's only data segment [0,4) is not in the capture; the server acknowledges it
  // (frame 4), then both close. Nothing comes past it: the gap is reported as the connection
  // ends, before endConnection.
  'acked-unseen-at-close': () => {
    const frames = tcpSession().handshake().send('up', 'abcd').close().frames();
    frames.splice(3, 1);
    return pcapOf(frames);
  },

  // Three out-of-order segments [2,4) [6,8) [10,12), then one [1,13) covering all three with
  // equal bytes, then the first byte; last, a retransmission covering every delivered segment.
  'overlap-covering-several': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 2, 'cd');
    put(s, 'up', 6, 'gh');
    put(s, 'up', 10, 'kl');
    put(s, 'up', 1, 'bcdefghijklm');
    put(s, 'up', 0, 'a');
    put(s, 'up', 13, 'nop');
    put(s, 'up', 0, 'abcdefghijklmnop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // Segments entirely inside earlier data. Buffered [4,12): frame 5 [6,10) equal, frame 6 [7,9)
  // different. Frame 7 delivers [0,12). Delivered: frame 8 [2,4) equal, frame 9 [8,10) different.
  'overlap-inside': () => {
    const s = tcpSession().handshake();
    put(s, 'up', 4, 'efghijkl');
    put(s, 'up', 6, 'ghij');
    put(s, 'up', 7, 'HI');
    put(s, 'up', 0, 'abcd');
    put(s, 'up', 2, 'cd');
    put(s, 'up', 8, 'IJ');
    put(s, 'up', 12, 'mnop');
    return s.ack('down').send('down', 'OK').close().pcap();
  },

  // Client ISN 2^32 - 4096: 6000 bytes in five segments (frames 4 to 8); the sequence numbers
  // wrap at stream offset 4095, inside the third segment [2920,4380). The fourth [4380,5840),
  // all past the wrap, arrives before it; then a retransmission straddling the wrap (frame 9).
  // The server's ISN is 2^32 - 1: its first data byte has sequence number 0.
  'sequence-wraparound': () => {
    const s = tcpSession({ isn: { client: 0xfffff000, server: 0xffffffff } }).handshake().send('up', wraparoundText(), { ack: false });
    s.reorder(5, 6);
    return s.resend('up', undefined, { at: 4000 }).ack('down').send('down', 'ok').close().pcap();
  },

  // SYN, the same SYN again, SYN/ACK, the same SYN/ACK again, then the connection.
  'syn-retransmit': () => {
    const f = tcpSession().handshake().send('up', 'hello').send('down', 'hi').close().frames();
    const [syn, synAck] = f as [Buffer, Buffer];
    return pcapOf([syn, syn, synAck, synAck, ...f.slice(2)]);
  },

  // The server resets (frame 6); the client's data after it (frame 7) is late.
  'data-after-rst': () =>
    tcpSession().handshake().send('up', 'hello').rst('down').segment('up', { offset: 5, data: 'late data' }).pcap(),

  // The client's FIN (frame 6) takes sequence number offset 5; frame 8 carries data from there on.
  'fin-then-late-data': () =>
    tcpSession()
      .handshake()
      .send('up', 'hello')
      .fin('up')
      .segment('up', { offset: 5, data: 'late data' })
      .send('down', 'bye')
      .close()
      .pcap(),

  // Two connections on one 4-tuple: the second SYN (with a lower ISN) after the first closed.
  'port-reuse': () => {
    const first = tcpSession({ isn: { client: 5_000_000, server: 7_000_000 } }).handshake().send('up', 'one').send('down', '1').close();
    const second = tcpSession({ isn: { client: 1000, server: 3000 } }).handshake().send('up', 'two').send('down', '2').close();
    return pcapOf([...first.frames(), ...second.frames()]);
  },

  // The capture starts with the server's response (no handshake); the client's first packet
  // is a pure ACK, its data comes after.
  midstream: () => {
    const f = tcpSession()
      .handshake()
      .send('up', 'GET / HTTP/1.0\r\n\r\n')
      .send('down', 'HTTP/1.0 200 OK\r\n\r\n')
      .send('up', 'bye\r\n')
      .close()
      .frames();
    return pcapOf(f.slice(5));
  },

  // TCP Fast Open: the SYN carries 'hello' (stream offset 0), the SYN/ACK acknowledges it.
  'data-on-syn': () =>
    tcpSession()
      .segment('up', { offset: -1, data: 'hello', flags: 'S', ack: 0 })
      .segment('down', { offset: -1, flags: 'SA', ack: 1_000_006 })
      .segment('up', { offset: 5, flags: 'A', ack: 2_000_001 })
      .segment('up', { offset: 5, data: ' world', ack: 2_000_001 })
      .segment('down', { offset: 0, flags: 'A', ack: 1_000_012 })
      .segment('down', { offset: 0, data: 'ok', ack: 1_000_012 })
      .segment('up', { offset: 11, flags: 'A', ack: 2_000_003 })
      .segment('up', { offset: 11, flags: 'FA', ack: 2_000_003 })
      .segment('down', { offset: 2, flags: 'FA', ack: 1_000_013 })
      .segment('up', { offset: 12, flags: 'A', ack: 2_000_004 })
      .pcap(),

  // Both FINs are sent before either side has seen the other's: neither acknowledges the
  // other's FIN (frames 8 and 9); the ACKs of the FINs follow (frames 10 and 11).
  'simultaneous-close': () =>
    tcpSession()
      .handshake()
      .send('up', 'bye?')
      .send('down', 'bye!')
      .segment('up', { offset: 4, flags: 'FA', ack: 2_000_005 })
      .segment('down', { offset: 4, flags: 'FA', ack: 1_000_005 })
      .segment('up', { offset: 5, flags: 'A', ack: 2_000_006 })
      .segment('down', { offset: 5, flags: 'A', ack: 1_000_006 })
      .pcap(),

  // The server closes its window after 'abc'. The client probes: a zero-length segment at
  // snd.una - 1 (as Linux does), then one new byte 'd' past the window (RFC 9293 §3.8.6.1), which
  // the server discards (its ACK stays at 'abc'). The window opens; 'defg' follows.
  'zero-window': () =>
    tcpSession()
      .handshake()
      .send('up', 'abc', { ack: false })
      .segment('down', { offset: 0, flags: 'A', window: 0 })
      .segment('up', { offset: 2, flags: 'A' })
      .segment('down', { offset: 0, flags: 'A', window: 0 })
      .segment('up', { offset: 3, data: 'd' })
      .segment('down', { offset: 0, flags: 'A', window: 0 })
      .segment('down', { offset: 0, flags: 'A' })
      .resend('up', 'defg', { at: 3 })
      .ack('down')
      .send('down', 'ok')
      .close()
      .pcap(),

  // IPv6 both ways; the request in two segments, the second first.
  ipv6: () => {
    const s = tcpSession({ client: '[fd00:10::10]:40000', server: '[fd00:20::80]:80' })
      .handshake()
      .send('up', 'GET / HTTP/1.1\r\nHost: v6\r\n\r\n', { segments: 2, ack: false });
    s.reorder(3, 4);
    return s.ack('down').send('down', 'HTTP/1.1 204 No Content\r\n\r\n').close().pcap();
  },

  // Every frame carries an 802.1Q tag (VLAN 100).
  vlan: () =>
    tcpSession({ vlan: [100] })
      .handshake()
      .send('up', 'GET / HTTP/1.1\r\n\r\n')
      .send('down', 'HTTP/1.1 200 OK\r\n\r\n')
      .close()
      .pcap(),

  // The request segment (TCP header + 43 bytes) as three IPv4 fragments, sent third, first,
  // second (frames 4, 5, 6). The first is 8 bytes: ports and sequence number, not the flags
  // (RFC 1858's tiny fragment).
  'ipv4-fragments-carrying-tcp': () => {
    const f = tcpSession()
      .handshake()
      .send('up', 'GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n')
      .send('down', 'HTTP/1.1 200 OK\r\n\r\n')
      .close()
      .frames();
    const ip = (f[3] as Buffer).subarray(14);
    const segment = ip.subarray(((ip[0] ?? 0) & 0x0f) * 4);
    const dotted = (at: number): string => [...ip.subarray(at, at + 4)].join('.');
    const fragment = (from: number, to: number): Buffer =>
      ethernet(ipv4({ src: dotted(12), dst: dotted(16), proto: 6, id: 0x4242, fragOffset: from, mf: to < segment.length, payload: segment.subarray(from, to) }));
    const end = segment.length;
    return pcapOf([...f.slice(0, 3), fragment(32, end), fragment(0, 8), fragment(8, 32), ...f.slice(4)]);
  },

  // Captured with a snaplen of 80 bytes (tcpdump -s 80): frame 8 carries 100 bytes of data
  // on the wire, the capture 26 of them (14 + 20 + 20 bytes of headers before).
  'snaplen-truncation': () => {
    const snaplen = 80;
    const f = tcpSession()
      .handshake()
      .send('up', 'USER alice\r\n')
      .send('down', '+OK\r\n')
      .send('up', `PASS ${'x'.repeat(95)}`)
      .send('down', '+OK\r\n')
      .send('up', 'QUIT\r\n')
      .close()
      .frames();
    const pcap = pcapOf(f.map((data) => ({ data: data.subarray(0, snaplen), origLen: data.length })));
    // The file header's snaplen (offset 16), as tcpdump writes it.
    pcap.writeUInt32LE(snaplen, 16);
    return pcap;
  },

  // An IPv4 total length past the end of a frame recorded whole: malformed, never a cut. Its
  // poison bytes must not reach the stream, nor turn the real segment into an overlap.
  'ipv4-bogus-length': () => bogusLength(),

  // The same with an IPv6 payload length.
  'ipv6-bogus-length': () => bogusLength({ client: '[fd00:10::10]:40000', server: '[fd00:20::80]:80' }),

  // rules.ts resets the flow on 'attack' (frame 8): RSTs to the client, then to the server.
  reset: () =>
    tcpSession().handshake().send('up', 'hello').send('down', 'ok').send('up', 'attack now').close().pcap(),

  // rules.ts half-resets the flow on the server's 'secret' (frame 6): one RST, to the server.
  halfreset: () =>
    tcpSession().handshake().send('up', 'GET /secret').send('down', 'secret stuff').send('up', 'more').close().pcap(),

  // rules.ts drops every SYN: the client's SYN and two retransmissions, never answered.
  'drop-syn-refuses': () => {
    const syn = tcpSession().handshake().frames()[0] as Buffer;
    return pcapOf([syn, syn, syn]);
  },

  // A RST whose sequence number is outside the receiver's window (frame 6, a blind reset
  // attempt, RFC 5961 §3) does not end the connection; the data goes on.
  'rst-out-of-window': () =>
    tcpSession()
      .handshake()
      .send('up', 'hello')
      .segment('down', { offset: 1_000_000, flags: 'R', ack: 0 })
      .send('down', 'still here')
      .close()
      .pcap(),

  // A RST inside the client's window but not at the sequence number it expects (frame 6, 100
  // bytes ahead): an RFC 5961 §3.2 stack answers with a challenge ACK (frame 7) and keeps the
  // connection, so the data and the close go on.
  'rst-in-window-not-exact': () =>
    tcpSession()
      .handshake()
      .send('up', 'hello')
      .segment('down', { offset: 100, flags: 'R', ack: 0 })
      .ack('up')
      .send('down', 'still here')
      .send('up', 'more')
      .close()
      .pcap(),

  // The client's FIN (frame 5) overtakes its last data segment [3,6) (frame 6): that data ends
  // at the FIN, it is not data after it.
  'fin-out-of-order': () => {
    const s = tcpSession().handshake().send('up', 'abcdef', { segments: 2, ack: false }).fin('up', { ack: false });
    s.reorder(4, 5);
    return s.ack('down').send('down', 'bye').close().pcap();
  },

  // rules.ts resets the flow on 'attack' (frame 6) on VLAN 100: the crafted RSTs carry the tag.
  'vlan-reset': () => tcpSession({ vlan: [100] }).handshake().send('up', 'hello').send('up', 'attack now').close().pcap(),
};

/** The sequence-wraparound request: 600 numbered lines of 10 bytes. */
export function wraparoundText(): string {
  return Array.from({ length: 600 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`).join('');
}

/** Writes every case's input.pcap. */
export function writeCases(root: string = fileURLToPath(new URL('.', import.meta.url))): string[] {
  const written: string[] = [];
  for (const [name, build] of Object.entries(cases)) {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'input.pcap'), build());
    written.push(name);
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const names = writeCases();
  process.stdout.write(`wrote ${names.length} captures: ${names.join(', ')}\n`);
}
