/**
 * The identity shared by TCP connections and UDP flows: the two endpoints, kept as integers
 * (address text is built only when a rule or a log asks), Haka's src/dst names, and the
 * Community ID. Both flow classes extend it.
 */
import { communityId } from '../core/community-id.ts';
import { i32 } from './bytes.ts';
import { ipv4Text, type Ipv4Packet } from './ipv4.ts';
import { ipv6Text, type Ipv6Packet } from './ipv6.ts';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** @internal an endpoint as the table keys it. */
export interface EndpointKey {
  port: number;
  /** IPv4: the address's 32 bits as an int32 (a Smi: compared without boxing). */
  addr: number;
  /** IPv6: the 16 bytes, copied out of the packet. */
  addr6: Buffer | null;
}

/** @internal the source (or destination) endpoint of a packet. */
export function endpointKey(ip: Ipv4Packet | Ipv6Packet, source: boolean, port: number): EndpointKey {
  if (ip.version === 4) return { port, addr: i32(ip.bytes, ip.off + (source ? 12 : 16)), addr6: null };
  const at = ip.off + (source ? 8 : 24);
  return { port, addr: 0, addr6: Buffer.from(ip.bytes.subarray(at, at + 16)) };
}

function addressText(addr: number, addr6: Buffer | null): string {
  return addr6 === null ? ipv4Text(addr >>> 0) : ipv6Text(addr6, 0);
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
  #client: Endpoint | null = null;
  #server: Endpoint | null = null;
  #communityId: string | undefined = undefined;

  constructor(version: 4 | 6, client: EndpointKey, server: EndpointKey, proto: number) {
    this.version = version;
    this.clientAddr = client.addr;
    this.serverAddr = server.addr;
    this.clientAddr6 = client.addr6;
    this.serverAddr6 = server.addr6;
    this.clientPort = client.port;
    this.serverPort = server.port;
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
