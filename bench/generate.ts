/**
 * Writes the benchmark capture: about a million Ethernet/IPv4/TCP packets of tens of thousands
 * of HTTP-like connections, interleaved in time as on a busy link, the same bytes on every run.
 *
 *   npx tsx bench/generate.ts [out.pcap] [--packets N] [--seed S] [--force]
 *
 * The traffic is what a bridge in front of a server farm sees (capture point next to the
 * servers): clients 192.168.10.0/24 (80%) and 10.20.0.0/16 open connections to 30 servers
 * 192.168.20.10-39 on port 80 (90%) or 8080. Each connection: 3-way handshake with MSS/SACK/WS
 * options, 1-4 request/response exchanges (requests of a few hundred bytes, responses of
 * 100 B-30 KB in slow-start flights of up to 1460-byte segments, the client ACKing every second
 * segment), then a FIN close from either side or, for about 4%, an RST. About 1% of response
 * segments are swapped with the next one and about 1% of data segments are retransmitted
 * exactly (same sequence numbers and bytes; the receiver answers with a duplicate ACK). A few
 * connections start their sequence numbers just below 2^32 so that they wrap.
 *
 * Packets stream to disk in timestamp order: each open connection holds its planned packets and
 * a priority queue on the next packet's time picks which connection emits next, so memory is
 * proportional to the open connections, never to the file. A sidecar `<out>.json` records the
 * parameters; a later run with the same ones keeps the file (`--force` rewrites it).
 */

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../core/io/pcap-writer.ts';
import { checksumOf, ipv4PseudoSum, onesSum, writeIpv4HeaderChecksum } from '../dissectors/checksum.ts';
import { Prng } from './prng.ts';

/** Bump when the traffic model changes, so that an old capture is regenerated. */
const GENERATOR_VERSION = 1;
export const DEFAULT_PACKETS = 1_000_000;
export const DEFAULT_SEED = 0x5a11ade;
export const DEFAULT_OUT = fileURLToPath(new URL('out/bench.pcap', import.meta.url));

/** Capture start: 2023-11-14T22:13:20Z. */
const EPOCH_SECS = 1_700_000_000;
/** New connections per second of capture time; with ~25 packets each, ~20k packets/s. */
const ARRIVALS_PER_SEC = 800;
const MSS = 1460;
/** Time between back-to-back segments on the wire (1514 bytes at 1 Gb/s), µs. */
const SEGMENT_GAP = 12;
const INITIAL_CWND = 10;
const SWAP_RATE = 0.01;
const RETRANSMIT_RATE = 0.01;
const CLIENT_RST_RATE = 0.03;
const SERVER_RST_RATE = 0.01;
const WRAPPING_ISN_RATE = 0.005;

const ETH = 14;
const IP = 20;
const TCP_HDR = 20;
/** SYN and SYN/ACK options: MSS 1460, NOP NOP SACK-permitted, NOP window scale 7 (12 bytes). */
const SYN_OPTIONS = Uint8Array.of(2, 4, MSS >> 8, MSS & 0xff, 1, 1, 4, 2, 1, 3, 3, 7);

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const GATEWAY_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);

/** One planned packet of a connection. Times are integer µs since the capture start. */
class Planned {
  constructor(
    readonly t: number,
    readonly up: boolean,
    readonly flags: number,
    readonly seq: number,
    readonly ack: number,
    readonly len: number,
    /** The message the payload is cut from: its header bytes, then `salt`-shifted filler. */
    readonly msg: Uint8Array | null,
    readonly msgOff: number,
    readonly salt: number,
  ) {}
}

class Connection {
  readonly plan: Planned[] = [];
  next = 0;
  ipIdUp: number;
  ipIdDown: number;

  constructor(
    readonly id: number,
    readonly client: number,
    readonly server: number,
    readonly cport: number,
    readonly sport: number,
    readonly serverMac: Uint8Array,
    readonly ttlUp: number,
    rng: Prng,
  ) {
    this.ipIdUp = rng.int(0, 0xffff);
    this.ipIdDown = rng.int(0, 0xffff);
  }

  get nextTime(): number {
    return (this.plan[this.next] as Planned).t;
  }
}

/** A binary min-heap of connections on (time of next packet, id): ties break the same way every run. */
class ConnectionQueue {
  private readonly heap: Connection[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Connection | undefined {
    return this.heap[0];
  }

  push(c: Connection): void {
    const h = this.heap;
    let i = h.length;
    h.push(c);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Connection;
      if (!before(c, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = c;
  }

  /** Re-sorts the top after its next packet time grew, or removes it when it has none left. */
  updateTop(): void {
    const h = this.heap;
    const top = h[0] as Connection;
    if (top.next >= top.plan.length) {
      const last = h.pop() as Connection;
      if (h.length === 0) return;
      h[0] = last;
    }
    const c = h[0] as Connection;
    const n = h.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && before(h[r] as Connection, h[l] as Connection)) m = r;
      const child = h[m] as Connection;
      if (!before(child, c)) break;
      h[i] = child;
      i = m;
    }
    h[i] = c;
  }
}

function before(a: Connection, b: Connection): boolean {
  const ta = a.nextTime;
  const tb = b.nextTime;
  return ta < tb || (ta === tb && a.id < b.id);
}

export interface GenerateOptions {
  packets?: number;
  seed?: number;
}

export interface GenerateResult {
  packets: number;
  connections: number;
  /** Size of the pcap file. */
  bytes: number;
  /** TCP payload bytes, both directions. */
  payloadBytes: number;
  /** Packets carrying payload (retransmitted copies included). */
  dataSegments: number;
  /** Capture time from first to last packet, seconds. */
  captureSeconds: number;
  maxOpenConnections: number;
  retransmissions: number;
  swaps: number;
  resets: number;
  wrappingConnections: number;
}

/** The traffic model: plans whole connections from one PRNG stream. */
class TrafficModel {
  private readonly rng: Prng;
  /** Filler for bodies and padding: HTML-ish words, cut at a per-message offset. */
  private readonly filler: Uint8Array;
  private readonly nextPort = new Map<number, number>();
  private readonly serverMacs: Uint8Array[] = [];
  private nextId = 0;
  retransmissions = 0;
  swaps = 0;
  resets = 0;
  wrapping = 0;

  constructor(seed: number) {
    this.rng = new Prng(seed);
    this.filler = makeFiller(this.rng);
    for (let i = 0; i < 30; i++) this.serverMacs.push(Uint8Array.of(0x02, 0, 0, 0, 0x14, 10 + i));
  }

  /** Time until the next connection opens (Poisson arrivals), µs. */
  interArrival(): number {
    return Math.round((-Math.log(1 - this.rng.float()) / ARRIVALS_PER_SEC) * 1e6);
  }

  fill(frame: Uint8Array, off: number, p: Planned): void {
    const msg = p.msg as Uint8Array;
    let i = 0;
    if (p.msgOff < msg.length) {
      i = Math.min(p.len, msg.length - p.msgOff);
      frame.set(msg.subarray(p.msgOff, p.msgOff + i), off);
    }
    const f = this.filler;
    let k = (p.salt + p.msgOff + i - msg.length) % f.length;
    while (i < p.len) {
      const n = Math.min(p.len - i, f.length - k);
      frame.set(f.subarray(k, k + n), off + i);
      i += n;
      k = 0;
    }
  }

  connection(t0: number): Connection {
    const rng = this.rng;
    const clientInLan = rng.chance(0.8);
    const client = clientInLan
      ? ip(192, 168, 10, rng.int(2, 254))
      : ip(10, 20, rng.int(0, 255), rng.int(1, 254));
    const serverIndex = rng.int(0, this.serverMacs.length - 1);
    const server = ip(192, 168, 20, 10 + serverIndex);
    const sport = rng.chance(0.9) ? 80 : 8080;
    // Ephemeral ports go up per client (as Linux's do), so no 4-tuple is ever reused.
    const cport = this.nextPort.get(client) ?? rng.int(32768, 60999);
    this.nextPort.set(client, cport >= 60999 ? 32768 : cport + 1);
    const c = new Connection(
      this.nextId++,
      client,
      server,
      cport,
      sport,
      this.serverMacs[serverIndex] as Uint8Array,
      rng.int(50, 63),
      rng,
    );
    this.plan(c, t0, serverIndex);
    return c;
  }

  private plan(c: Connection, t0: number, serverIndex: number): void {
    const rng = this.rng;
    const plan = c.plan;
    const rtt = Math.round(rng.logUniform(300, 80_000));
    /** Server's turnaround for packets it answers at once, µs. */
    const turn = (): number => rng.int(15, 80);
    const wraps = rng.chance(WRAPPING_ISN_RATE);
    if (wraps) this.wrapping++;
    const cIsn = wraps ? (0x1_0000_0000 - rng.int(1, 20_000)) >>> 0 : rng.u32();
    const sIsn = wraps ? (0x1_0000_0000 - rng.int(1, 60_000)) >>> 0 : rng.u32();
    const add = (t: number, up: boolean, flags: number, seq: number, ack: number): void => {
      plan.push(new Planned(t, up, flags, seq >>> 0, ack >>> 0, 0, null, 0, 0));
    };

    add(t0, true, SYN, cIsn, 0);
    add(t0 + turn(), false, SYN | ACK, sIsn, cIsn + 1);
    let t = t0 + rtt;
    add(t, true, ACK, cIsn + 1, sIsn + 1);
    let cNxt = cIsn + 1;
    let sNxt = sIsn + 1;

    const exchanges = pickExchanges(rng.float());
    const host = `192.168.20.${10 + serverIndex}`;
    for (let e = 0; e < exchanges; e++) {
      t += e === 0 ? rng.int(5, 60) : Math.round(rng.logUniform(5_000, 10_000_000));
      const entries: Planned[] = [];

      const request = makeRequest(rng, host, rng.int(180, 900));
      const req = new Planned(t, true, PSH | ACK, cNxt >>> 0, sNxt >>> 0, request.length, request, 0, 0);
      entries.push(req);
      if (rng.chance(RETRANSMIT_RATE)) {
        // A spurious retransmission (the server's ACK was late): same bytes; the server repeats its ACK.
        const again = t + rtt + rng.int(100, 2000);
        entries.push(new Planned(again, true, PSH | ACK, req.seq, req.ack, req.len, request, 0, 0));
        entries.push(new Planned(again + turn(), false, ACK, sNxt >>> 0, (cNxt + request.length) >>> 0, 0, null, 0, 0));
        this.retransmissions++;
      }
      cNxt += request.length;

      const think = Math.round(rng.logUniform(50, 50_000));
      if (think > 2000) entries.push(new Planned(t + turn(), false, ACK, sNxt >>> 0, cNxt >>> 0, 0, null, 0, 0));
      const body = Math.round(rng.logUniform(100, 30_000));
      const response = makeResponseHeader(rng, body);
      const total = response.length + body;
      const salt = rng.int(0, this.filler.length - 1);

      // Slow start: flights of cwnd back-to-back segments, the next one an RTT later.
      const segs: { t: number; rel: number; len: number; flight: number }[] = [];
      let flightStart = t + Math.max(think, 100);
      let cwnd = INITIAL_CWND;
      let flight = 0;
      for (let rel = 0; rel < total; flight++) {
        let last = flightStart;
        for (let k = 0; k < cwnd && rel < total; k++) {
          const len = Math.min(MSS, total - rel);
          last = flightStart + k * SEGMENT_GAP;
          segs.push({ t: last, rel, len, flight });
          rel += len;
        }
        flightStart = Math.max(flightStart + rtt, last + SEGMENT_GAP) + rng.int(10, 60);
        cwnd *= 2;
      }
      // Reordering on the path: a segment overtakes its neighbour of the same flight.
      for (let i = 0; i + 1 < segs.length; i++) {
        const a = segs[i] as (typeof segs)[number];
        const b = segs[i + 1] as (typeof segs)[number];
        if (a.flight === b.flight && rng.chance(SWAP_RATE)) {
          [a.rel, b.rel, a.len, b.len] = [b.rel, a.rel, b.len, a.len];
          this.swaps++;
          i++;
        }
      }
      const data: { t: number; rel: number; len: number }[] = [];
      for (const s of segs) {
        data.push(s);
        if (rng.chance(RETRANSMIT_RATE)) {
          data.push({ t: s.t + rtt + rng.int(100, 2000), rel: s.rel, len: s.len });
          this.retransmissions++;
        }
      }
      data.sort((a, b) => a.t - b.t);
      const respAck = cNxt >>> 0;
      for (const s of data) {
        const flags = s.rel + s.len === total ? PSH | ACK : ACK;
        entries.push(new Planned(s.t, false, flags, (sNxt + s.rel) >>> 0, respAck, s.len, response, s.rel, salt));
      }
      // The client's ACKs as they pass the capture point one RTT later: every second in-order
      // segment, the last one, and at once (duplicate ACK) for data out of order or seen twice.
      let rcv = 0;
      let inOrder = 0;
      const held: { rel: number; end: number }[] = [];
      for (const s of data) {
        let now = false;
        if (s.rel === rcv) {
          rcv = s.rel + s.len;
          inOrder++;
          for (let j = 0; j < held.length; ) {
            const h = held[j] as (typeof held)[number];
            if (h.rel <= rcv) {
              rcv = Math.max(rcv, h.end);
              held.splice(j, 1);
              now = true;
              j = 0;
            } else j++;
          }
          now ||= inOrder % 2 === 0 || rcv === total;
        } else {
          if (s.rel > rcv) held.push({ rel: s.rel, end: s.rel + s.len });
          now = true;
        }
        if (now) entries.push(new Planned(s.t + rtt, true, ACK, cNxt >>> 0, (sNxt + rcv) >>> 0, 0, null, 0, 0));
      }
      sNxt += total;

      entries.sort((a, b) => a.t - b.t); // stable: equal times keep their causal order
      plan.push(...entries);
      t = (entries[entries.length - 1] as Planned).t;
    }

    const close = rng.float();
    if (close < CLIENT_RST_RATE) {
      add(t + rng.int(100, 50_000), true, RST | ACK, cNxt, sNxt);
      this.resets++;
    } else if (close < CLIENT_RST_RATE + SERVER_RST_RATE) {
      add(t + rng.int(100, 50_000), false, RST | ACK, sNxt, cNxt);
      this.resets++;
    } else if (rng.chance(0.5)) {
      // The client closes an idle keep-alive connection.
      t += Math.round(rng.logUniform(1_000, 15_000_000));
      add(t, true, FIN | ACK, cNxt, sNxt);
      t += turn();
      add(t, false, FIN | ACK, sNxt, cNxt + 1);
      add(t + rtt, true, ACK, cNxt + 1, sNxt + 1);
    } else {
      // The server closes (Connection: close, or its keep-alive timer).
      t += rng.int(20, 200);
      add(t, false, FIN | ACK, sNxt, cNxt);
      t += rtt;
      add(t, true, FIN | ACK, cNxt, sNxt + 1);
      add(t + turn(), false, ACK, sNxt + 1, cNxt + 1);
    }
  }
}

/** 1-4 exchanges per connection, 40/30/20/10%. */
function pickExchanges(u: number): number {
  return u < 0.4 ? 1 : u < 0.7 ? 2 : u < 0.9 ? 3 : 4;
}

function ip(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const WORDS = ['<div', 'class="item">', '<a', 'href="/', 'products/', 'id=', '</a>', '<p>', 'the', 'quick',
  'palisade', 'stream', 'order', 'value', 'data', 'login', 'user', '</p>', '</div>', '<span>', 'price', '&amp;'];

function makeFiller(rng: Prng): Uint8Array {
  let s = '';
  while (s.length < 65536) s += `${WORDS[rng.int(0, WORDS.length - 1)] as string}${rng.chance(0.1) ? '\n' : ' '}`;
  return Buffer.from(s.slice(0, 65536), 'latin1');
}

const PATHS = ['/', '/index.html', '/api/v1/items', '/static/app.js', '/static/style.css', '/search', '/img/logo.png'];

function makeRequest(rng: Prng, host: string, size: number): Buffer {
  const path = `${PATHS[rng.int(0, PATHS.length - 1)] as string}?q=${rng.u32().toString(16)}`;
  const head =
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) palisade-bench/1\r\n` +
    `Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: identity\r\nCookie: session=`;
  const tail = '\r\n\r\n';
  const pad = Math.max(8, size - head.length - tail.length);
  let cookie = '';
  while (cookie.length < pad) cookie += rng.u32().toString(16).padStart(8, '0');
  return Buffer.from(head + cookie.slice(0, pad) + tail, 'latin1');
}

function makeResponseHeader(rng: Prng, body: number): Buffer {
  const type = rng.chance(0.7) ? 'text/html; charset=utf-8' : 'application/json';
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: ${type}\r\nContent-Length: ${body}\r\n` +
      `Cache-Control: max-age=${rng.int(0, 3600)}\r\nConnection: keep-alive\r\n\r\n`,
    'latin1',
  );
}

/** Writes one planned packet into `frame` and returns its length. */
function buildFrame(frame: Buffer, c: Connection, p: Planned, model: TrafficModel): number {
  const syn = (p.flags & SYN) !== 0;
  const tcpLen = TCP_HDR + (syn ? SYN_OPTIONS.length : 0) + p.len;
  const ipOff = ETH;
  const tcpOff = ETH + IP;

  frame.set(p.up ? c.serverMac : GATEWAY_MAC, 0);
  frame.set(p.up ? GATEWAY_MAC : c.serverMac, 6);
  frame[12] = 0x08;
  frame[13] = 0x00;

  frame[ipOff] = 0x45;
  frame[ipOff + 1] = 0;
  frame.writeUInt16BE(IP + tcpLen, ipOff + 2);
  frame.writeUInt16BE(p.up ? c.ipIdUp : c.ipIdDown, ipOff + 4);
  if (p.up) c.ipIdUp = (c.ipIdUp + 1) & 0xffff;
  else c.ipIdDown = (c.ipIdDown + 1) & 0xffff;
  frame.writeUInt16BE(0x4000, ipOff + 6); // DF
  frame[ipOff + 8] = p.up ? c.ttlUp : 64;
  frame[ipOff + 9] = 6;
  frame.writeUInt32BE(p.up ? c.client : c.server, ipOff + 12);
  frame.writeUInt32BE(p.up ? c.server : c.client, ipOff + 16);
  writeIpv4HeaderChecksum(frame, ipOff);

  frame.writeUInt16BE(p.up ? c.cport : c.sport, tcpOff);
  frame.writeUInt16BE(p.up ? c.sport : c.cport, tcpOff + 2);
  frame.writeUInt32BE(p.seq, tcpOff + 4);
  frame.writeUInt32BE(p.ack, tcpOff + 8);
  const hdrLen = tcpLen - p.len;
  frame[tcpOff + 12] = (hdrLen / 4) << 4;
  frame[tcpOff + 13] = p.flags;
  // SYNs carry the unscaled window; later ones are scaled by 2^7 (64 KiB).
  frame.writeUInt16BE(syn ? (p.up ? 64240 : 65160) : p.up ? 502 : 509, tcpOff + 14);
  frame.writeUInt32BE(0, tcpOff + 16); // checksum, urgent pointer
  if (syn) frame.set(SYN_OPTIONS, tcpOff + TCP_HDR);
  if (p.len > 0) model.fill(frame, tcpOff + hdrLen, p);
  const sum = checksumOf(ipv4PseudoSum(frame, ipOff, 6, tcpLen) + onesSum(frame, tcpOff, tcpOff + tcpLen));
  frame.writeUInt16BE(sum, tcpOff + 16);
  return ETH + IP + tcpLen;
}

/** Writes the capture to `path` (through a temporary file, renamed when complete). */
export function generateCapture(path: string, options: GenerateOptions = {}): GenerateResult {
  const target = options.packets ?? DEFAULT_PACKETS;
  const model = new TrafficModel(options.seed ?? DEFAULT_SEED);
  const queue = new ConnectionQueue();
  const frame = Buffer.alloc(ETH + IP + TCP_HDR + 40 + MSS);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const writer = new PcapWriter(tmp, { linkType: 1, nanosecond: false });

  let planned = 0;
  let connections = 0;
  let packets = 0;
  let bytes = 24;
  let payloadBytes = 0;
  let dataSegments = 0;
  let lastTime = 0;
  let maxOpen = 0;
  let arrival = 0;
  try {
    for (;;) {
      const top = queue.peek();
      if (planned < target && (top === undefined || arrival <= top.nextTime)) {
        const c = model.connection(arrival);
        planned += c.plan.length;
        connections++;
        queue.push(c);
        if (queue.size > maxOpen) maxOpen = queue.size;
        arrival += model.interArrival();
        continue;
      }
      if (top === undefined) break;
      const p = top.plan[top.next++] as Planned;
      const len = buildFrame(frame, top, p, model);
      writer.write(frame.subarray(0, len), EPOCH_SECS + Math.floor(p.t / 1e6), (p.t % 1e6) * 1000);
      packets++;
      bytes += 16 + len;
      payloadBytes += p.len;
      if (p.len > 0) dataSegments++;
      lastTime = p.t;
      queue.updateTop();
    }
    writer.close();
  } catch (err) {
    writer.close();
    throw err;
  }
  renameSync(tmp, path);
  return {
    packets,
    connections,
    bytes,
    payloadBytes,
    dataSegments,
    captureSeconds: lastTime / 1e6,
    maxOpenConnections: maxOpen,
    retransmissions: model.retransmissions,
    swaps: model.swaps,
    resets: model.resets,
    wrappingConnections: model.wrapping,
  };
}

interface Sidecar {
  generator: string;
  version: number;
  packets: number;
  seed: number;
  result: GenerateResult;
}

/**
 * Returns the capture at `path`, generating it unless a sidecar says it was made with the same
 * parameters and the file still has the recorded size. For `npm run bench`.
 */
export function ensureCapture(
  path: string = DEFAULT_OUT,
  options: GenerateOptions & { force?: boolean } = {},
): { path: string; result: GenerateResult; generated: boolean; seconds: number } {
  const packets = options.packets ?? DEFAULT_PACKETS;
  const seed = options.seed ?? DEFAULT_SEED;
  const sidecarPath = `${path}.json`;
  if (options.force !== true && existsSync(path) && existsSync(sidecarPath)) {
    try {
      const s = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Sidecar;
      if (
        s.generator === 'palisade-bench' &&
        s.version === GENERATOR_VERSION &&
        s.packets === packets &&
        s.seed === seed &&
        statSync(path).size === s.result.bytes
      ) {
        return { path, result: s.result, generated: false, seconds: 0 };
      }
    } catch {
      // An unreadable sidecar means: regenerate.
    }
  }
  const start = performance.now();
  const result = generateCapture(path, { packets, seed });
  const seconds = (performance.now() - start) / 1000;
  const sidecar: Sidecar = { generator: 'palisade-bench', version: GENERATOR_VERSION, packets, seed, result };
  writeFileSync(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  return { path, result, generated: true, seconds };
}

function parseArgs(argv: string[]): { out: string; packets: number; seed: number; force: boolean } {
  let out = DEFAULT_OUT;
  let packets = DEFAULT_PACKETS;
  let seed = DEFAULT_SEED;
  let force = false;
  const count = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) {
      throw new Error(`${flag} needs a non-negative integer, got ${v ?? 'nothing'}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--packets') packets = count(a, argv[++i]);
    else if (a === '--seed') seed = count(a, argv[++i]);
    else if (a === '--force') force = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}; usage: generate.ts [out.pcap] [--packets N] [--seed S] [--force]`);
    else out = resolve(a);
  }
  if (packets < 1) throw new Error('--packets must be at least 1');
  return { out, packets, seed, force };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { out, ...options } = parseArgs(process.argv.slice(2));
    const { result: r, generated, seconds } = ensureCapture(out, options);
    const mb = (r.bytes / 1e6).toFixed(1);
    process.stdout.write(
      generated
        ? `wrote ${out} in ${seconds.toFixed(1)} s: ${r.packets} packets, ${r.connections} connections, ${mb} MB\n` +
            `  ${r.captureSeconds.toFixed(1)} s of traffic, up to ${r.maxOpenConnections} connections open, ` +
            `${r.retransmissions} retransmissions, ${r.swaps} swapped segments, ${r.resets} RST closes, ` +
            `${r.wrappingConnections} connections wrapping sequence numbers\n`
        : `${out} is up to date (${r.packets} packets, ${r.connections} connections, ${mb} MB); --force rewrites it\n`,
    );
  } catch (err) {
    process.stderr.write(`generate.ts: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
