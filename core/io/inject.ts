/**
 * Sends palisade's crafted packets (the RSTs of flow.reset() and flow.halfreset()) through
 * `raw-socket`: IPPROTO_RAW sockets, which on Linux imply IP_HDRINCL for IPv4 and IPv6, so the
 * kernel sends the header palisade wrote (spoofed source, checksums already valid) and routes it
 * by its destination.
 *
 * On a bridge the host routes the RST out of the bridge device: it needs a route to the
 * endpoints there (an address on the bridge in their subnet, or `ip route add … dev br0`), which
 * `palisade run --bridge` checks at start-up. A locally sent packet leaves through the bridge's
 * LOCAL_OUT hook, never its FORWARD hook, so the iptables FORWARD rule that queues bridged
 * traffic to palisade does not see it: no RST comes back into the queue.
 */
import { createRequire } from 'node:module';
import { injectError } from '../errors.ts';
import { ipv4TextAt, ipv6TextAt } from '../address-text.ts';

interface RawSocket {
  send(buffer: Buffer, offset: number, length: number, address: string, done: (err: Error | null, bytes: number) => void): void;
  pauseRecv(): RawSocket;
  on(event: 'error', listener: (err: Error) => void): void;
  close(): void;
}

interface RawSocketModule {
  createSocket(options: { addressFamily: number; protocol: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

/** IPPROTO_RAW: the caller writes the IP header (IP_HDRINCL, and its IPv6 counterpart on Linux). */
const IPPROTO_RAW = 255;

export interface InjectStats {
  sent: number;
  failed: number;
}

export class Injector {
  readonly stats: InjectStats = { sent: 0, failed: 0 };
  readonly #v4: RawSocket;
  readonly #v6: RawSocket | null;
  readonly #onError: (err: Error, destination: string) => void;

  /** Opens the raw sockets now, so that a missing privilege stops palisade before the first packet. */
  constructor(onError: (err: Error, destination: string) => void) {
    this.#onError = onError;
    let raw: RawSocketModule;
    try {
      raw = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
    } catch (err) {
      // An optional dependency: npm leaves it out when its native build fails (no compiler).
      const missing = (err as { code?: unknown }).code === 'MODULE_NOT_FOUND' && (err as Error).message.includes("'raw-socket'");
      throw injectError(
        missing
          ? 'raw-socket, which sends the RSTs inline, is not installed: its native build needs build-essential and python3; install them, then npm install again'
          : `the raw-socket binding does not load (${(err as Error).message.split('\n')[0] ?? ''}); run npm rebuild raw-socket`,
      );
    }
    const open = (family: number): RawSocket => {
      const s = raw.createSocket({ addressFamily: family, protocol: IPPROTO_RAW });
      // IPPROTO_RAW sockets receive nothing; send errors come through the send callback.
      s.pauseRecv();
      s.on('error', (err) => {
        this.stats.failed++;
        this.#onError(err, '');
      });
      return s;
    };
    try {
      this.#v4 = open(raw.AddressFamily.IPv4);
    } catch (err) {
      throw injectError(`cannot open a raw IPv4 socket for RSTs (${(err as Error).message}); palisade must run as root (CAP_NET_RAW)`);
    }
    let v6: RawSocket | null = null;
    try {
      v6 = open(raw.AddressFamily.IPv6);
    } catch {
      // A host without IPv6: IPv6 RSTs are counted as failed.
    }
    this.#v6 = v6;
  }

  /** Sends one IP datagram (IPv4 or IPv6, header included) to its destination address. */
  send(datagram: Buffer): void {
    const version = (datagram[0] ?? 0) >> 4;
    const dst = version === 4 ? ipv4Destination(datagram) : version === 6 ? ipv6Destination(datagram) : '';
    const socket = version === 4 ? this.#v4 : version === 6 ? this.#v6 : null;
    if (socket === null || dst === '') {
      this.stats.failed++;
      this.#onError(new Error(version === 6 ? 'no raw IPv6 socket on this host' : `not an IP datagram (version ${version})`), dst);
      return;
    }
    socket.send(datagram, 0, datagram.length, dst, (err) => {
      if (err === null) {
        this.stats.sent++;
        return;
      }
      this.stats.failed++;
      this.#onError(err, dst);
    });
  }

  close(): void {
    this.#v4.close();
    this.#v6?.close();
  }
}

function ipv4Destination(d: Buffer): string {
  return d.length < 20 ? '' : ipv4TextAt(d, 16);
}

function ipv6Destination(d: Buffer): string {
  return d.length < 40 ? '' : ipv6TextAt(d, 24);
}
