/**
 * The identity shared by TCP connections and UDP flows: the two endpoints, kept as integers
 * (address text is built only when a rule or a log asks), Haka's src/dst names, and the
 * Community ID. Both flow classes extend it.
 */
import { communityId } from './community-id.ts';
import { i32 } from '../bytes.ts';
import type { Ipv4Packet } from '../ipv4.ts';
import type { Ipv6Packet } from '../ipv6.ts';
import { ipv4Text, ipv6TextAt } from '../../core/address-text.ts';
import type { AppProto } from './types.ts';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

function addressText(addr: number, addr6: Buffer | null): string {
  return addr6 === null ? ipv4Text(addr >>> 0) : ipv6TextAt(addr6, 0);
}

function v4Bytes(addr: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(addr >>> 0);
  return b;
}

export abstract class FlowEndpoints {
  /** @internal */ readonly version: 4 | 6;
  /** @internal */ readonly clientAddr: number;
  /** @internal */ readonly serverAddr: number;
  /** @internal */ readonly clientAddr6: Buffer | null;
  /** @internal */ readonly serverAddr6: Buffer | null;
  /** @internal */ readonly clientPort: number;
  /** @internal */ readonly serverPort: number;
  readonly #proto: number;
  /** The protocol a dissector recognised in it (`http`, `tls`, `dns`…), null while none has: `app_proto` in its record and alerts. */
  appProto: AppProto | null = null;
  #client: Endpoint | null = null;
  #server: Endpoint | null = null;
  #communityId: string | undefined = undefined;

  /** The endpoints of the packet `ip`: its source is the client if `srcIsClient`, else the server. */
  constructor(ip: Ipv4Packet | Ipv6Packet, srcIsClient: boolean, sport: number, dport: number, proto: number) {
    const b = ip.bytes;
    const off = ip.off;
    this.version = ip.version;
    if (ip.version === 4) {
      // int32s, as the table keys them (a Smi compares without boxing).
      const src = i32(b, off + 12);
      const dst = i32(b, off + 16);
      this.clientAddr = srcIsClient ? src : dst;
      this.serverAddr = srcIsClient ? dst : src;
      this.clientAddr6 = null;
      this.serverAddr6 = null;
    } else {
      // Copied: the packet's bytes do not outlive it.
      const src = Buffer.from(b.subarray(off + 8, off + 24));
      const dst = Buffer.from(b.subarray(off + 24, off + 40));
      this.clientAddr = 0;
      this.serverAddr = 0;
      this.clientAddr6 = srcIsClient ? src : dst;
      this.serverAddr6 = srcIsClient ? dst : src;
    }
    this.clientPort = srcIsClient ? sport : dport;
    this.serverPort = srcIsClient ? dport : sport;
    this.#proto = proto;
  }

  /** The side that opened the flow (sent the first SYN, or the first datagram). */
  get client(): Endpoint {
    return (this.#client ??= { ip: addressText(this.clientAddr, this.clientAddr6), port: this.clientPort });
  }
  get server(): Endpoint {
    return (this.#server ??= { ip: addressText(this.serverAddr, this.serverAddr6), port: this.serverPort });
  }

  // Haka's names: the client is the source.
  get srcip(): string {
    return this.client.ip;
  }
  get dstip(): string {
    return this.server.ip;
  }
  get srcport(): number {
    return this.clientPort;
  }
  get dstport(): number {
    return this.serverPort;
  }

  /** Community ID v1 of the flow (computed on first use). */
  get communityId(): string {
    this.#communityId ??= communityId(
      this.version,
      this.clientAddr6 ?? v4Bytes(this.clientAddr),
      this.serverAddr6 ?? v4Bytes(this.serverAddr),
      this.#proto,
      this.clientPort,
      this.serverPort,
    );
    return this.#communityId;
  }
}
