/** TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168). */

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/**
 * The flags of the current segment as booleans. One instance per TcpPacket view: the dissector
 * stores the flags byte in `bits` when it re-points the view, so reading a flag allocates nothing.
 */
export class TcpFlags {
  /** @internal The segment's flags byte (byte 13 of the TCP header). */
  bits = 0;
  /** Writes a changed byte back to the segment (the view's flags); null for flags on their own. */
  readonly #write: ((bits: number) => void) | null;

  constructor(write: ((bits: number) => void) | null = null) {
    this.#write = write;
  }

  get fin(): boolean {
    return (this.bits & TCP_FIN) !== 0;
  }
  set fin(on: boolean) {
    this.#set(TCP_FIN, on);
  }
  get syn(): boolean {
    return (this.bits & TCP_SYN) !== 0;
  }
  set syn(on: boolean) {
    this.#set(TCP_SYN, on);
  }
  get rst(): boolean {
    return (this.bits & TCP_RST) !== 0;
  }
  set rst(on: boolean) {
    this.#set(TCP_RST, on);
  }
  get psh(): boolean {
    return (this.bits & TCP_PSH) !== 0;
  }
  set psh(on: boolean) {
    this.#set(TCP_PSH, on);
  }
  get ack(): boolean {
    return (this.bits & TCP_ACK) !== 0;
  }
  set ack(on: boolean) {
    this.#set(TCP_ACK, on);
  }
  get urg(): boolean {
    return (this.bits & TCP_URG) !== 0;
  }
  set urg(on: boolean) {
    this.#set(TCP_URG, on);
  }
  get ece(): boolean {
    return (this.bits & TCP_ECE) !== 0;
  }
  set ece(on: boolean) {
    this.#set(TCP_ECE, on);
  }
  get cwr(): boolean {
    return (this.bits & TCP_CWR) !== 0;
  }
  set cwr(on: boolean) {
    this.#set(TCP_CWR, on);
  }

  #set(bit: number, on: boolean): void {
    const bits = on ? this.bits | bit : this.bits & ~bit;
    if (this.#write !== null) this.#write(bits);
    this.bits = bits;
  }

  toJSON(): Record<'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg' | 'ece' | 'cwr', boolean> {
    return {
      fin: this.fin,
      syn: this.syn,
      rst: this.rst,
      psh: this.psh,
      ack: this.ack,
      urg: this.urg,
      ece: this.ece,
      cwr: this.cwr,
    };
  }

  /** tcpdump's notation: `S`, `S.`, `P.`, `F.`, `R`, … ('.' is ACK). */
  toString(): string {
    return tcpFlagsText(this.bits);
  }
}

/** tcpdump's letters for a flags byte, in its order (FSRPUWE, then '.' for ACK); `none` if 0. */
export function tcpFlagsText(bits: number): string {
  let s = '';
  if (bits & TCP_FIN) s += 'F';
  if (bits & TCP_SYN) s += 'S';
  if (bits & TCP_RST) s += 'R';
  if (bits & TCP_PSH) s += 'P';
  if (bits & TCP_URG) s += 'U';
  if (bits & TCP_CWR) s += 'W';
  if (bits & TCP_ECE) s += 'E';
  if (bits & TCP_ACK) s += '.';
  return s === '' ? 'none' : s;
}
