/**
 * Conversations for tests, frame by frame: a TCP session (handshake, data, retransmissions,
 * overlaps, reordering, FIN, RST) or a UDP exchange, as Ethernet frames with exact sequence
 * numbers and checksums, or as pcap bytes.
 *
 * ```ts
 * const pcap = tcpSession().handshake().send('up', 'GET / HTTP/1.1\r\n\r\n').send('down', 'HTTP/1.1 200 OK\r\n\r\n').close().pcap();
 * ```
 *
 * Stream offsets count data bytes of one direction from 0 (the byte after the SYN). Strings
 * are taken byte for byte (latin1), as in testing/packets.ts.
 */

import { encodePcap } from '../core/io/pcap-writer.ts';
import { LINKTYPE_ETHERNET } from '../core/link-types.ts';
import { ethernet, tcp, udp } from './packets.ts';
import { fragment } from './fragments.ts';

/** `up` is client→server, `down` server→client. */
export type SessionDirection = 'up' | 'down';

export interface TcpSessionOptions {
  /** `'192.168.10.10:40000'` or `'[fd00::10]:40000'`; both ends IPv4 or both IPv6. Default 192.168.10.10:40000. */
  client?: string;
  /** Default 192.168.20.80:80. */
  server?: string;
  /** Initial sequence numbers; default 1000000 (client) and 2000000 (server). */
  isn?: { client?: number; server?: number };
  /** MSS option of the SYN and SYN/ACK, and the largest segment send() builds. Default 1460 (IPv4), 1440 (IPv6). */
  mss?: number;
  /** 802.1Q tags on every frame, outermost first. */
  vlan?: number[];
  /** The window every segment advertises (no scaling). Default 65535. */
  window?: number;
}

export interface SendOptions {
  /** Split the data into this many segments of nearly equal size. Default: segments of one MSS, the last one shorter. */
  segments?: number;
  /** The receiver acknowledges the data with one pure ACK after the last segment. Default true. */
  ack?: boolean;
  /** Flags of every segment. Default 'A', and 'PA' on the last one. */
  flags?: string;
  /** Send each segment as IP fragments carrying at most this many bytes (a multiple of 8). */
  fragment?: number;
}

export interface ResendOptions {
  /** Stream offset of the resent bytes. Default: the last segment sent that way. */
  at?: number;
  /** Default 'PA'. */
  flags?: string;
  /** The receiver acknowledges afterwards. Default false. */
  ack?: boolean;
}

export interface SegmentOptions {
  /** Stream offset of `data[0]`. */
  offset: number;
  data?: string | Uint8Array;
  /** Default 'PA' with data, 'A' without. */
  flags?: string;
  /** The acknowledgment number; default what the sender has received (when the flags have A). */
  ack?: number;
  window?: number;
  /** Send the segment as IP fragments carrying at most this many bytes (a multiple of 8). */
  fragment?: number;
}

export interface PcapOptions {
  /** Time of the first frame, in seconds. Default 1700000000. The next ones follow 1 ms apart. */
  start?: number;
}

interface Endpoint {
  ip: string;
  port: number;
  v6: boolean;
}

const CLIENT_MAC = '02:00:00:00:00:01';
const SERVER_MAC = '02:00:00:00:00:02';
const DEFAULT_START = 1_700_000_000;

const bytesOf = (p: string | Uint8Array): Buffer => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p));

function parseEndpoint(text: string, role: string): Endpoint {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(`${role} '${text}' is not 'a.b.c.d:port' or '[v6 address]:port' (port 0..65535)`);
  }
  const ip = m[1] as string;
  return { ip, port, v6: ip.includes(':') };
}

function endpoints(client: string, server: string): [Endpoint, Endpoint] {
  const c = parseEndpoint(client, 'client');
  const s = parseEndpoint(server, 'server');
  if (c.v6 !== s.v6) throw new TypeError(`client ${client} and server ${server} must both be IPv4 or both IPv6`);
  return [c, s];
}

/** Frames in the order they were built, with reordering and pcap output. */
abstract class Conversation {
  protected readonly list: Buffer[] = [];
  protected readonly vlans: number[];

  protected constructor(vlans: number[] | undefined) {
    this.vlans = vlans ?? [];
  }

  /** Frames built so far. */
  get length(): number {
    return this.list.length;
  }

  /** Swaps two frames already built (indexes in the frame list, from 0). */
  reorder(i: number, j: number): this {
    const a = this.list[i];
    const b = this.list[j];
    if (a === undefined || b === undefined) {
      throw new RangeError(`reorder(${i}, ${j}): there are ${this.list.length} frames (indexes 0..${this.list.length - 1})`);
    }
    this.list[i] = b;
    this.list[j] = a;
    return this;
  }

  /** The Ethernet frames, in order (a new array; the frames themselves are not copied). */
  frames(): Buffer[] {
    return [...this.list];
  }

  /** A pcap file (Ethernet, nanosecond timestamps) holding the frames 1 ms apart. */
  pcap(options: PcapOptions = {}): Buffer {
    return pcap(this.list, options);
  }

  /** One IP packet as a frame, or as several when `fragmentSize` asks for IP fragments. */
  protected frame(ip: Buffer, up: boolean, fragmentSize?: number): void {
    const spec = { src: up ? CLIENT_MAC : SERVER_MAC, dst: up ? SERVER_MAC : CLIENT_MAC, vlans: this.vlans };
    if (fragmentSize === undefined) this.list.push(ethernet(ip, spec));
    else for (const f of fragment(ip, fragmentSize)) this.list.push(ethernet(f, spec));
  }
}

/**
 * A pcap file (Ethernet, nanosecond timestamps) holding `frames` 1 ms apart: several
 * conversations in one capture, e.g. `pcap([...a.frames(), ...b.frames()])`.
 */
export function pcap(frames: readonly Uint8Array[], options: PcapOptions = {}): Buffer {
  const start = options.start ?? DEFAULT_START;
  return encodePcap(
    frames.map((data, i) => ({ data, secs: start + Math.floor(i / 1000), nsecs: (i % 1000) * 1_000_000 })),
    { linkType: LINKTYPE_ETHERNET },
  );
}

/** One side of a TCP session: what it has sent. */
interface TcpSide {
  readonly end: Endpoint;
  readonly isn: number;
  /** snd.nxt: the sequence number of its next new byte (or FIN). */
  nxt: number;
  finSent: boolean;
  /** IPv4 identification of its next packet. */
  ipId: number;
  /** Everything send() sent, in stream order, so a resend can repeat it. */
  readonly stream: Buffer[];
  /** The last segment of new data: its stream offset and bytes. */
  last: { offset: number; data: Buffer } | null;
}

/** Builds a TCP session frame by frame; every method returns the builder. */
export class TcpSession extends Conversation {
  readonly #client: TcpSide;
  readonly #server: TcpSide;
  readonly #mss: number;
  readonly #window: number;

  constructor(options: TcpSessionOptions = {}) {
    super(options.vlan);
    const [c, s] = endpoints(options.client ?? '192.168.10.10:40000', options.server ?? '192.168.20.80:80');
    const side = (end: Endpoint, isn: number): TcpSide => ({
      end,
      isn: isn >>> 0,
      nxt: (isn + 1) >>> 0,
      finSent: false,
      ipId: 1,
      stream: [],
      last: null,
    });
    this.#client = side(c, options.isn?.client ?? 1_000_000);
    this.#server = side(s, options.isn?.server ?? 2_000_000);
    this.#mss = options.mss ?? (c.v6 ? 1440 : 1460);
    if (!Number.isInteger(this.#mss) || this.#mss < 1 || this.#mss > 0xffff) throw new RangeError(`mss ${this.#mss} is not in 1..65535`);
    this.#window = options.window ?? 65535;
  }

  /** SYN, SYN/ACK, ACK, each SYN with the MSS option. */
  handshake(): this {
    const c = this.#client;
    const s = this.#server;
    const mss = Buffer.from([2, 4, this.#mss >> 8, this.#mss & 0xff]);
    this.#emit('up', c.isn, 'S', undefined, { options: mss, ack: 0 });
    this.#emit('down', s.isn, 'SA', undefined, { options: mss });
    this.#emit('up', c.nxt, 'A');
    return this;
  }

  /** New data from one side, in segments of at most the MSS (or `segments` of them), then the other side's ACK. */
  send(dir: SessionDirection, data: string | Uint8Array, options: SendOptions = {}): this {
    const bytes = bytesOf(data);
    if (bytes.length === 0) throw new RangeError(`send('${dir}'): no data; segment() builds an empty segment`);
    const n = options.segments ?? Math.ceil(bytes.length / this.#mss);
    if (!Number.isInteger(n) || n < 1 || n > bytes.length) {
      throw new RangeError(`send('${dir}'): cannot split ${bytes.length} bytes into ${n} segments`);
    }
    const from = this.#side(dir);
    // MSS-sized segments, the last one shorter; or `segments` of nearly equal size, the first ones a byte longer.
    const even = options.segments !== undefined;
    const base = even ? Math.floor(bytes.length / n) : this.#mss;
    const extra = even ? bytes.length % n : 0;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const piece = bytes.subarray(off, off + base + (i < extra ? 1 : 0));
      off += piece.length;
      from.last = { offset: this.#offsetOf(from, from.nxt), data: piece };
      this.#emit(dir, from.nxt, options.flags ?? (i === n - 1 ? 'PA' : 'A'), piece, { fragment: options.fragment });
      from.nxt = (from.nxt + piece.length) >>> 0;
    }
    from.stream.push(bytes);
    if (options.ack ?? true) this.ack(other(dir));
    return this;
  }

  /**
   * A retransmission of `data` at stream offset `at`: by default the last segment sent that way,
   * byte for byte; with `at` only, the bytes sent from there (one MSS at most); with `data`, those
   * bytes (different ones make an inconsistent retransmission). Bytes past what the side had
   * sent count as sent from then on.
   */
  resend(dir: SessionDirection, data?: string | Uint8Array, options: ResendOptions = {}): this {
    const from = this.#side(dir);
    const at = options.at ?? from.last?.offset;
    if (at === undefined) throw new RangeError(`resend('${dir}'): nothing was sent that way yet; give { at }`);
    let bytes: Buffer;
    if (data !== undefined) {
      bytes = bytesOf(data);
    } else if (options.at === undefined && from.last) {
      bytes = from.last.data;
    } else {
      // From `at` on, one MSS at most, as a stack retransmits from snd.una.
      const sent = Buffer.concat(from.stream);
      if (at >= sent.length) throw new RangeError(`resend('${dir}', { at: ${at} }): only ${sent.length} bytes were sent; give the data`);
      bytes = sent.subarray(at, at + this.#mss);
    }
    const seq = this.#seqOf(from, at);
    this.#emit(dir, seq, options.flags ?? 'PA', bytes);
    const end = (seq + bytes.length) >>> 0;
    if (((end - from.nxt) | 0) > 0) from.nxt = end;
    if (options.ack ?? false) this.ack(other(dir));
    return this;
  }

  /** Any segment at a stream offset (overlaps, out of order, odd flags), leaving the session's state as it was. */
  segment(dir: SessionDirection, options: SegmentOptions): this {
    const from = this.#side(dir);
    const payload = options.data === undefined ? undefined : bytesOf(options.data);
    const flags = options.flags ?? (payload && payload.length > 0 ? 'PA' : 'A');
    this.#emit(dir, this.#seqOf(from, options.offset), flags, payload, {
      ack: options.ack,
      window: options.window,
      fragment: options.fragment,
    });
    return this;
  }

  /** A pure ACK from one side, acknowledging everything the other side sent. */
  ack(dir: SessionDirection): this {
    this.#emit(dir, this.#side(dir).nxt, 'A');
    return this;
  }

  /** FIN from one side (a half-close), acknowledged by the other unless `ack: false`. */
  fin(dir: SessionDirection, options: { ack?: boolean } = {}): this {
    const from = this.#side(dir);
    this.#emit(dir, from.nxt, 'FA');
    from.nxt = (from.nxt + 1) >>> 0;
    from.finSent = true;
    if (options.ack ?? true) this.ack(other(dir));
    return this;
  }

  /**
   * Closes both ways, `by` first (default the client): FIN/ACK, the peer's FIN/ACK, the last
   * ACK. A side that already sent its FIN sends only the ACK.
   */
  close(by: SessionDirection = 'up'): this {
    const first = this.#side(by);
    const second = this.#side(other(by));
    if (!first.finSent) this.fin(by, { ack: false });
    if (!second.finSent) this.fin(other(by), { ack: false });
    this.ack(by);
    return this;
  }

  /** A RST from one side at its next sequence number (RST|ACK by default, as Linux aborts). */
  rst(dir: SessionDirection, options: { flags?: string } = {}): this {
    this.#emit(dir, this.#side(dir).nxt, options.flags ?? 'RA');
    return this;
  }

  #side(dir: SessionDirection): TcpSide {
    return dir === 'up' ? this.#client : this.#server;
  }

  #seqOf(side: TcpSide, offset: number): number {
    return (side.isn + 1 + offset) >>> 0;
  }

  #offsetOf(side: TcpSide, seq: number): number {
    return (seq - side.isn - 1) >>> 0;
  }

  #emit(
    dir: SessionDirection,
    seq: number,
    flags: string,
    payload?: Uint8Array,
    extra: { options?: Uint8Array; ack?: number | undefined; window?: number | undefined; fragment?: number | undefined } = {},
  ): void {
    const up = dir === 'up';
    const from = this.#side(dir);
    const to = this.#side(other(dir));
    const ack = extra.ack ?? (flags.includes('A') ? to.nxt : 0);
    const ip = tcp({
      src: from.end.ip,
      dst: to.end.ip,
      srcport: from.end.port,
      dstport: to.end.port,
      seq,
      ack,
      flags,
      window: extra.window ?? this.#window,
      options: extra.options,
      payload,
      id: from.ipId,
      // As Linux sends TCP over IPv4 (path MTU discovery); fragment() clears it.
      df: true,
    });
    from.ipId = (from.ipId + 1) & 0xffff;
    this.frame(ip, up, extra.fragment);
  }
}

export interface UdpExchangeOptions {
  /** As for tcpSession. Default 192.168.10.10:40000. */
  client?: string;
  /** Default 192.168.20.80:53. */
  server?: string;
  vlan?: number[];
}

export interface UdpSendOptions {
  /** Send the datagram as IP fragments carrying at most this many bytes (a multiple of 8). */
  fragment?: number;
}

/** Builds a UDP exchange, one datagram per send(). */
export class UdpExchange extends Conversation {
  readonly #client: Endpoint;
  readonly #server: Endpoint;
  /** Identification of the next fragmented datagram, so two datagrams' fragments never mix. */
  #fragmentId = 1;

  constructor(options: UdpExchangeOptions = {}) {
    super(options.vlan);
    [this.#client, this.#server] = endpoints(options.client ?? '192.168.10.10:40000', options.server ?? '192.168.20.80:53');
  }

  send(dir: SessionDirection, data: string | Uint8Array, options: UdpSendOptions = {}): this {
    const up = dir === 'up';
    const from = up ? this.#client : this.#server;
    const to = up ? this.#server : this.#client;
    const ip = udp({ src: from.ip, dst: to.ip, srcport: from.port, dstport: to.port, payload: data });
    if (options.fragment === undefined) this.frame(ip, up);
    else for (const f of fragment(ip, options.fragment, { id: this.#fragmentId++ })) this.frame(f, up);
    return this;
  }
}

const other = (dir: SessionDirection): SessionDirection => (dir === 'up' ? 'down' : 'up');

/** A TCP session builder (see TcpSession). */
export function tcpSession(options?: TcpSessionOptions): TcpSession {
  return new TcpSession(options);
}

/** A UDP exchange builder (see UdpExchange). */
export function udpExchange(options?: UdpExchangeOptions): UdpExchange {
  return new UdpExchange(options);
}
