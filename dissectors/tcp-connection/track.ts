/**
 * One segment's effect on its connection's endpoints, as a middlebox sees both (RFC 9293): the
 * sequence space each side has used, windows, SYNs, FINs and RSTs, the state machine's
 * transitions (state.ts) and Zeek's history letters (history.ts). Anomalies found on the way are
 * raised through the tracker, whose policy may drop the segment.
 */
import type { TcpPacket } from '../tcp.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../tcp-flags.ts';
import { seqAdd32, seqDiff, seqGt } from './serial.ts';
import type { StreamReassembler } from './reassembly.ts';
import type { Direction, Sender, TcpFlow } from './flow.ts';
import type { PolicedTcpAnomaly } from './anomalies.ts';
import { H_ACK, H_DATA, H_FIN, H_MULTIFLAG, H_RETRANS, H_RST, H_SYN, H_SYNACK, H_ZEROWIN, history } from './history.ts';
import { finSent, finsAcknowledged, resetAccepted, synAcknowledged, synReceived, TcpState } from './state.ts';
import { ACCEPT, DROP } from '../verdict.ts';

/** What tracking needs of the tracker. */
export interface SegmentTracker {
  /** Counts and raises an anomaly; true when its policy drops the packet (or the flow). */
  anomaly(flow: TcpFlow, kind: PolicedTcpAnomaly, direction: Direction, packet?: TcpPacket): boolean;
  /** The sender's reassembler, made on first use. */
  stream(sender: Sender): StreamReassembler;
}

/** No flag a segment can carry alone, or SYN with RST or FIN. */
export function invalidFlags(flags: number): boolean {
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN | TCP_PSH | TCP_URG)) === 0) return true;
  if ((flags & TCP_SYN) !== 0 && (flags & (TCP_RST | TCP_FIN)) !== 0) return true;
  return false;
}

/**
 * Endpoint state for one segment from `sender` (the client when `up`). `wantData`: its bytes
 * are reassembled, so a SYN (or a midstream side's first segment) starts the sender's stream.
 * Returns DROP when an anomaly's policy drops the segment.
 */
export function trackSegment(t: SegmentTracker, flow: TcpFlow, tcp: TcpPacket, sender: Sender, receiver: Sender, up: boolean, direction: Direction, wantData: boolean): number {
  const flags = tcp.flagsByte;
  const seq = tcp.seqRaw;
  const len = tcp.payloadLength;
  if (invalidFlags(flags)) {
    history(flow, sender, up, H_MULTIFLAG);
    if (t.anomaly(flow, 'invalid-flags', direction, tcp)) return DROP;
  }

  if ((flags & TCP_RST) !== 0) {
    // RFC 5961 §3.2: only a RST at exactly the next expected sequence number resets; one
    // elsewhere in the receiver's window earns a challenge ACK and the connection goes on; one
    // outside it is ignored. In SYN-SENT, a RST acknowledging the SYN is a refusal (RFC 9293 §3.10.7.3).
    const exact =
      !sender.nxtValid ||
      seq === sender.nxt ||
      (sender.forwarded && seq === sender.forwardedNxt) ||
      (flow.tcpState === TcpState.SynSent && (flags & TCP_ACK) !== 0 && tcp.ackRaw === seqAdd32(receiver.isn, 1));
    history(flow, sender, up, H_RST);
    if (exact) {
      sender.rstSeen = true;
      resetAccepted(flow);
    } else {
      const d = seqDiff(seq, sender.nxt);
      const inWindow = d >= 0 && d < Math.max(receiver.window, 1);
      if (!inWindow && t.anomaly(flow, 'out-of-window', direction, tcp)) return DROP;
    }
    return ACCEPT;
  }

  if ((flags & TCP_SYN) !== 0) {
    const synAck = (flags & TCP_ACK) !== 0;
    history(flow, sender, up, synAck ? H_SYNACK : H_SYN);
    if (!sender.synSeen || seq !== sender.isn) {
      sender.synSeen = true;
      sender.isn = seq;
      sender.nxt = seqAdd32(seq, 1);
      sender.dataEnd = sender.nxt;
      sender.nxtValid = true;
      sender.wscale = tcp.windowScale ?? -1;
      sender.mss = tcp.mss ?? 0;
      if (wantData) t.stream(sender).init(seqAdd32(seq, 1));
    }
    if (len > 0 && t.anomaly(flow, 'syn-with-data', direction, tcp)) return DROP;
    // The server's SYN/ACK, or its own SYN: a simultaneous open.
    if (synAck || !up) synReceived(flow);
    sender.window = tcp.window;
  } else {
    // Window scaling applies only when both SYNs offered it (RFC 7323 §2.2).
    // The shift is at most 14 (§2.3), so the scaled window stays an int32: a plain shift.
    const shift = sender.wscale >= 0 && receiver.wscale >= 0 ? Math.min(sender.wscale, 14) : 0;
    sender.window = tcp.window << shift;
    if (tcp.window === 0) history(flow, sender, up, H_ZEROWIN);
    if (!sender.nxtValid) {
      // Midstream: this side's sequence space starts here.
      sender.nxtValid = true;
      sender.isn = seqAdd32(seq, -1);
      sender.nxt = seq;
      sender.dataEnd = seq;
      // Even for a pure ACK: this side's later data starts from here.
      if (wantData) t.stream(sender).init(seq);
    }
    if ((flags & TCP_ACK) !== 0 && receiver.synSeen && tcp.ackRaw === seqAdd32(receiver.isn, 1)) synAcknowledged(flow);
    if ((flags & TCP_ACK) !== 0 && len === 0 && (flags & TCP_FIN) === 0) history(flow, sender, up, H_ACK);
  }

  if (len > 0) {
    history(flow, sender, up, H_DATA);
    const dataEnd = seqAdd32(seq, len + ((flags & TCP_SYN) !== 0 ? 1 : 0));
    if (seqGt(dataEnd, sender.dataEnd)) sender.dataEnd = dataEnd;
    if (sender.finSeen && seqGt(seqAdd32(seq, len), sender.finSeq)) {
      if (t.anomaly(flow, 'data-after-fin', direction, tcp)) return DROP;
    }
    if (!seqGt(seqAdd32(seq, len), sender.nxt)) history(flow, sender, up, H_RETRANS);
  }
  const end = seqAdd32(seq, len + ((flags & TCP_SYN) !== 0 ? 1 : 0));
  if (seqGt(end, sender.nxt)) sender.nxt = end;

  if ((flags & TCP_FIN) !== 0) {
    history(flow, sender, up, H_FIN);
    if (!sender.finSeen) {
      sender.finSeen = true;
      sender.finSeq = seqAdd32(seq, len);
      const afterFin = seqAdd32(sender.finSeq, 1);
      if (seqGt(afterFin, sender.nxt)) sender.nxt = afterFin;
    }
    finSent(flow);
  }
  // A FIN is done when the other side acknowledges it; both done: closed (RFC 9293 §3.6).
  if ((flags & TCP_ACK) !== 0 && receiver.finSeen && seqDiff(tcp.ackRaw, seqAdd32(receiver.finSeq, 1)) >= 0) receiver.finAcked = true;
  if (sender.finAcked && receiver.finAcked) finsAcknowledged(flow);
  return ACCEPT;
}
