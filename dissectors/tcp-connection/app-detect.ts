/**
 * Which protocol a connection speaks, from its client's first bytes on any port (Suricata's
 * protocol detection, Zeek's dynamic protocol detection): the segments that start the client's
 * stream are shown to the probe, joined when the first ones are too short to tell (a client
 * that writes its request a byte at a time), until it knows or PROBE_BYTES have come. Only the
 * bytes that start the stream count: a later segment that arrives first waits for them, a
 * retransmission is not looked at twice.
 */
import type { TcpPacket } from '../tcp.ts';
import { TCP_SYN } from '../tcp-flags.ts';
import { seqAdd32, seqGt } from './serial.ts';
import type { TcpFlow } from './flow.ts';

/** True: decided (a protocol was recognised, or none will be); undefined: show me more bytes. */
export type Probe = (flow: TcpFlow, head: Buffer) => boolean | undefined;

/** Bytes past which a protocol that has not been recognised never will be. */
export const PROBE_BYTES = 64;

/**
 * Shows the client's segment `tcp` to `probe` if it carries the stream's next first bytes. Once
 * decided, returns the bytes of the earlier segments it kept (the stream's first bytes, which a
 * dissector turned on now has not seen), or null.
 */
export function probeSegment(flow: TcpFlow, tcp: TcpPacket, probe: Probe): Buffer | null {
  const len = tcp.payloadLength;
  // Data on a SYN (TCP Fast Open) is left to the parsers: its sequence number is not the data's.
  if (len === 0 || (tcp.flagsByte & TCP_SYN) !== 0) return null;
  const kept = flow.probeHead;
  const seq = tcp.seqRaw;
  if (kept === null) {
    const first = flow.up.synSeen ? seqAdd32(flow.up.isn, 1) : seq;
    // A later segment before the first one: wait for it. An earlier one: a picked-up flow's past.
    if (seq !== first) {
      if (!seqGt(seq, first)) flow.probed = true;
      return null;
    }
  } else if (seq !== flow.probeNext) {
    return null;
  }
  const head = kept === null ? tcp.payload : Buffer.concat([kept, tcp.payload]);
  const known = probe(flow, head);
  if (known === undefined && head.length < PROBE_BYTES) {
    // Kept as a copy: the segment's bytes do not outlive it.
    flow.probeHead = kept === null ? Buffer.from(head) : head;
    flow.probeNext = seqAdd32(seq, len);
    return null;
  }
  flow.probeHead = null;
  flow.probed = true;
  return kept;
}

/** The flow's protocol is decided (read through a call: the probe has just run). */
export function decided(flow: TcpFlow): boolean {
  return flow.probed;
}
