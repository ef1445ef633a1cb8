/** Zeek's connection history letters and conn_state summary, from what the tracker saw. */
import type { Sender, TcpFlow } from './flow.ts';
import { TcpState } from './state.ts';

// Zeek history letters, one bit each; the letter is upper case for the originator (up).
export const H_SYN = 1; // S
export const H_SYNACK = 2; // H
export const H_ACK = 4; // A
export const H_DATA = 8; // D
export const H_FIN = 16; // F
export const H_RST = 32; // R
export const H_RETRANS = 64; // T
export const H_INCONSISTENT = 128; // I
export const H_MULTIFLAG = 256; // Q
export const H_ZEROWIN = 512; // W
export const H_GAP = 1024; // G
const letters: readonly [number, string][] = [
  [H_SYN, 's'],
  [H_SYNACK, 'h'],
  [H_ACK, 'a'],
  [H_DATA, 'd'],
  [H_FIN, 'f'],
  [H_RST, 'r'],
  [H_RETRANS, 't'],
  [H_INCONSISTENT, 'i'],
  [H_MULTIFLAG, 'q'],
  [H_ZEROWIN, 'w'],
  [H_GAP, 'g'],
];

/** Records a history letter the first time it happens in a direction (Zeek's rule). */
export function history(flow: TcpFlow, sender: Sender, up: boolean, bit: number): void {
  // Small enough to be inlined where it is called, several times a packet; the rest is not.
  if ((sender.historySeen & bit) === 0) addHistory(flow, sender, up, bit);
}

function addHistory(flow: TcpFlow, sender: Sender, up: boolean, bit: number): void {
  sender.historySeen |= bit;
  for (const [b, l] of letters) {
    if (b === bit) {
      flow.history += up ? l.toUpperCase() : l;
      return;
    }
  }
}

/** Zeek's conn_state summary of how the connection went. */
export function connState(flow: TcpFlow): string {
  const o = flow.up;
  const r = flow.down;
  const origSyn = (o.historySeen & H_SYN) !== 0;
  const respSynAck = (r.historySeen & H_SYNACK) !== 0;
  const established = flow.tcpState !== TcpState.SynSent && origSyn && respSynAck;
  if (!origSyn) {
    if (respSynAck) {
      if (r.rstSeen) return 'RSTRH';
      if (r.finSeen) return 'SHR';
    }
    return 'OTH';
  }
  if (!respSynAck) {
    if (r.rstSeen) return 'REJ';
    if (o.rstSeen) return 'RSTOS0';
    if (o.finSeen) return 'SH';
    return 'S0';
  }
  if (o.rstSeen) return 'RSTO';
  if (r.rstSeen) return 'RSTR';
  if (o.finSeen && r.finSeen) return 'SF';
  if (o.finSeen) return 'S2';
  if (r.finSeen) return 'S3';
  return established ? 'S1' : 'S0';
}
