/**
 * Hostile traffic for `npm run bench -- --floods` and the flood tests: each flood is a template
 * frame built by palisade/testing, copied and patched per packet (addresses, ports, sequence
 * numbers, IP ids) so that a million packets cost little to make. Checksums are not patched:
 * replay them with checksumValidation 'never'.
 */
import { ethernet, ipv4Packet, ipv6Packet, tcpSegment, tcpSession } from '../testing.ts';
import { Prng } from './prng.ts';

export type FloodName = 'syn' | 'unacked' | 'out-of-order' | 'overlap' | 'fragments-tiny' | 'fragments-padded' | 'ipv6-ext-chain';
export const floodNames: readonly FloodName[] = ['syn', 'unacked', 'out-of-order', 'overlap', 'fragments-tiny', 'fragments-padded', 'ipv6-ext-chain'];

export const floodDoc: Record<FloodName, string> = {
  syn: 'SYNs from random IPv4 sources and ports (no handshake completes)',
  unacked: 'connections of four frames each: a handshake, then 9 bytes the server never acknowledges',
  'out-of-order': '1,000 connections, each sending 100-byte segments past a hole that never fills',
  overlap: '1,000 connections in order, each segment sent again three times shifted up to 50 bytes, with other bytes',
  'fragments-tiny': 'first fragments (8 data bytes) of distinct datagrams that never complete',
  'fragments-padded': 'the same fragments, each in a 1,514-byte frame (padding past the IP length)',
  'ipv6-ext-chain': 'IPv6 SYNs behind a chain of 30 destination-options headers',
};

/** Ethernet offsets. */
const IP = 14;
const CONNECTIONS = 1000;

/** Calls `emit` with each frame of the flood, `count` frames in all. */
export function flood(name: FloodName, count: number, emit: (frame: Buffer) => void): void {
  const rng = new Prng(0xf100d);
  switch (name) {
    case 'syn': {
      const t = ethernet(tcpSegment({ src: '10.0.0.1', dst: '192.0.2.80', srcport: 1024, dstport: 80, flags: 'S', seq: 1 }));
      for (let i = 0; i < count; i++) {
        const f = Buffer.from(t);
        f.writeUInt32BE(rng.u32(), IP + 12);
        f.writeUInt16BE(1024 + (rng.u32() % 64000), IP + 20);
        emit(f);
      }
      return;
    }
    case 'unacked': {
      unacked(count, emit);
      return;
    }
    case 'out-of-order':
    case 'overlap': {
      // Each connection: its handshake, then a data segment re-stamped with later sequence numbers.
      const conns = Array.from({ length: CONNECTIONS }, (_, c) => {
        const s = tcpSession({ client: `10.1.${c >> 8}.${c & 255}:40000`, server: '192.0.2.80:80' }).handshake();
        const shake = s.frames();
        s.segment('up', { offset: 1000, data: Buffer.alloc(100, 0x61) });
        const data = s.frames().at(-1) as Buffer;
        return { shake, data, seq: data.readUInt32BE(IP + 24) - 1000 };
      });
      let sent = 0;
      for (const c of conns) for (const f of c.shake) if (sent++ < count) emit(f);
      const perSegment = name === 'overlap' ? 4 : 1;
      for (let k = 1; sent < count; k++) {
        for (const c of conns) {
          for (let r = 0; r < perSegment && sent < count; r++, sent++) {
            const f = Buffer.from(c.data);
            // out-of-order: offset k*100, past a hole at 0..99; overlap: in order from 0, each
            // segment then sent again shifted by up to 50 bytes either way, with other bytes.
            const offset = name === 'overlap' ? Math.max(0, 100 * (k - 1) + (r === 0 ? 0 : rng.int(-50, 50))) : 100 * k;
            f.writeUInt32BE((c.seq + offset) >>> 0, IP + 24);
            if (r > 0) f.fill(0x61 + r, f.length - 100);
            emit(f);
          }
          if (sent >= count) return;
        }
      }
      return;
    }
    case 'fragments-tiny':
    case 'fragments-padded': {
      const first = ethernet(ipv4Packet({ src: '10.2.0.1', dst: '192.0.2.80', proto: 17, id: 1, mf: true, fragOffset: 0, payload: Buffer.alloc(8, 0x41) }));
      const t = name === 'fragments-padded' ? Buffer.concat([first, Buffer.alloc(1514 - first.length)]) : first;
      for (let i = 0; i < count; i++) {
        const f = Buffer.from(t);
        f.writeUInt16BE(i & 0xffff, IP + 4);
        f.writeUInt32BE(0x0a020000 + (i >>> 16), IP + 12);
        emit(f);
      }
      return;
    }
    case 'ipv6-ext-chain': {
      const syn = tcpSegment({ src: '2001:db8::1', dst: '2001:db8::80', srcport: 1024, dstport: 80, flags: 'S', seq: 1 }).subarray(40);
      // 30 destination-options headers of 8 bytes (a PadN option each), the last one naming TCP.
      const chain = Buffer.alloc(30 * 8);
      for (let h = 0; h < 30; h++) {
        chain[h * 8] = h === 29 ? 6 : 60;
        chain[h * 8 + 2] = 1;
        chain[h * 8 + 3] = 4;
      }
      const t = ethernet(ipv6Packet({ src: '2001:db8::1', dst: '2001:db8::80', nextHeader: 60, payload: Buffer.concat([chain, syn]) }));
      for (let i = 0; i < count; i++) {
        const f = Buffer.from(t);
        f.writeUInt32BE(rng.u32(), IP + 8 + 12);
        emit(f);
      }
      return;
    }
  }
}

/**
 * Connections that open and send 9 bytes the server never acknowledges, four frames each, every
 * one from its own client address and port: each holds a flow and retained stream bytes until
 * it times out, as on a link where clients and servers complete handshakes and then stall.
 */
export function unacked(count: number, emit: (frame: Buffer) => void): void {
  const s = tcpSession({ client: '10.0.0.1:1024', server: '192.0.2.80:80' }).handshake().send('up', 'USER xy\r\n', { ack: false });
  const t = s.frames();
  for (let i = 0; i < count; i++) {
    const c = i >>> 2;
    const f = Buffer.from(t[i & 3] as Buffer);
    // The client's address and port, from c: 2^16 ports on each of 2^16 addresses.
    const src = (i & 3) === 1 ? IP + 16 : IP + 12;
    const port = (i & 3) === 1 ? IP + 22 : IP + 20;
    f.writeUInt32BE((0x0a000000 + (c >>> 14)) >>> 0, src);
    f.writeUInt16BE(1024 + (c & 0x3fff), port);
    emit(f);
  }
}
