/**
 * UdpFlow: the datagrams of one 4-tuple, from newConnection to endConnection. The sender of the
 * first datagram is the client. Rules see the public fields and actions; the tracker keeps the
 * internal ones (table links, verdict).
 */
import { communityId } from '../../core/community-id.ts';
import { IPPROTO_UDP } from '../ip-protocols.ts';
import type { DirectionStats, Endpoint, EndReason } from '../tcp-connection/flow.ts';

/** Why a UDP flow ended: idle past the timeout, evicted from a full table, dropped, or end of input. */
export type UdpEndReason = Extract<EndReason, 'timeout' | 'memcap' | 'dropped' | 'shutdown'>;

/** @internal the tracker's hook for the flow's action. */
export interface UdpFlowActions {
  drop(flow: UdpFlow): void;
}

/** @internal one side of the 4-tuple: uint32 address (v4) or 16 bytes copied (v6). */
export interface UdpEndpointKey {
  port: number;
  addr: number;
  addr6: Buffer | null;
}

export class UdpFlow {
  /** Tracker-unique id, in creation order. */
  readonly id: number;
  // Address text is built only when a rule or a log asks for it.
  #client: Endpoint | null = null;
  #server: Endpoint | null = null;
  readonly #addrText: (addr: number, addr6: Buffer | null) => string;
  /** Capture/engine time of the first datagram, in seconds. */
  readonly startTime: number;
  /** Time of the latest datagram, either direction. */
  lastTime: number;
  endReason: UdpEndReason | undefined = undefined;
  /** `bytes` counts UDP data as the headers give it (Zeek's orig_bytes), even past a capture cut. */
  readonly stats: { readonly up: DirectionStats; readonly down: DirectionStats } = {
    up: { packets: 0, bytes: 0, ipBytes: 0 },
    down: { packets: 0, bytes: 0, ipBytes: 0 },
  };

  /** @internal */ readonly version: 4 | 6;
  /** @internal */ readonly clientPort: number;
  /** @internal */ readonly serverPort: number;
  /** @internal */ readonly clientAddr: number;
  /** @internal */ readonly serverAddr: number;
  /** @internal */ readonly clientAddr6: Buffer | null;
  /** @internal */ readonly serverAddr6: Buffer | null;
  /** @internal drop() was called: every later datagram is dropped without rules. */
  verdict = false;
  /** @internal accept the rest without rules. */
  bypassed = false;
  /** @internal endConnection has fired. */
  ended = false;
  /** @internal frame id of the latest datagram: drop() drops the current frame only if it is ours. */
  packetId = 0;
  /** @internal hash-chain and LRU links (flow-table.ts). */
  hash = 0;
  /** @internal */ nextInBucket: UdpFlow | null = null;
  /** @internal */ prevInList: UdpFlow | null = null;
  /** @internal */ nextInList: UdpFlow | null = null;
  /** @internal which timeout list holds it (-1: none). */
  list = -1;
  #communityId: string | undefined = undefined;
  readonly #actions: UdpFlowActions;

  constructor(
    actions: UdpFlowActions,
    id: number,
    version: 4 | 6,
    client: UdpEndpointKey,
    server: UdpEndpointKey,
    now: number,
    addrText: (addr: number, addr6: Buffer | null) => string,
  ) {
    this.#actions = actions;
    this.id = id;
    this.version = version;
    this.clientPort = client.port;
    this.serverPort = server.port;
    this.clientAddr = client.addr;
    this.serverAddr = server.addr;
    this.clientAddr6 = client.addr6;
    this.serverAddr6 = server.addr6;
    this.#addrText = addrText;
    this.startTime = now;
    this.lastTime = now;
  }

  /** The side that sent the first datagram. */
  get client(): Endpoint {
    return (this.#client ??= { ip: this.#addrText(this.clientAddr, this.clientAddr6), port: this.clientPort });
  }
  get server(): Endpoint {
    return (this.#server ??= { ip: this.#addrText(this.serverAddr, this.serverAddr6), port: this.serverPort });
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

  /** Community ID v1 of the flow, protocol 17 (computed on first use). */
  get communityId(): string {
    if (this.#communityId === undefined) {
      const v4 = (a: number): Buffer => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(a >>> 0);
        return b;
      };
      const c = this.clientAddr6 ?? v4(this.clientAddr);
      const s = this.serverAddr6 ?? v4(this.serverAddr);
      this.#communityId = communityId(this.version, c, s, IPPROTO_UDP, this.clientPort, this.serverPort);
    }
    return this.#communityId;
  }

  /**
   * Drops this datagram and every later one of the flow, silently, until it times out. Called
   * from the first datagram's newConnection, it refuses the flow: nothing is kept.
   */
  drop(): void {
    this.#actions.drop(this);
  }
  /** Accepts the rest of the flow without running rules (Suricata's bypass). */
  bypass(): void {
    this.bypassed = true;
  }

  /** True once drop() was called. */
  get dropped(): boolean {
    return this.verdict;
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, client: this.client, server: this.server };
  }
}
