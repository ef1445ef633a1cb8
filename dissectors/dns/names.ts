/**
 * Domain names on the wire (RFC 1035 §3.1), compression pointers followed (§4.1.4), written as
 * text. Every way a name can be wrong ends the walk with its anomaly, in a bounded number of
 * steps: a pointer must point before every byte its name has read so far (so a chain only goes
 * back and always ends), at most MAX_POINTERS of them, at most 255 octets (RFC 9267 §2 lists
 * the decoders that looped or overran without these checks).
 *
 * The text is the master-file form (RFC 1035 §5.1, RFC 4343 §2.1), so that no two names share a
 * text: labels joined by '.', a '.' or '\' inside a label escaped as `\.` and `\\`, and every
 * byte outside printable ASCII (0x21-0x7e: space and controls, and 0x7f-0xff) as `\DDD`, three
 * decimal digits. Case is kept as sent (0x20 randomisation is visible); compare names with
 * sameName() and inZone() (name-compare.ts), which ignore ASCII case as DNS does (RFC 4343).
 * The root is '.', any other name has no final dot: 'example.com'.
 */
import type { DnsAnomalyKind } from './anomalies.ts';
import { DNS_HEADER_LENGTH } from './header.ts';

export const MAX_NAME_LENGTH = 255;
export const MAX_LABEL_LENGTH = 63;
/** A name has at most 127 labels; an encoder needs no more than one pointer per label. */
export const MAX_POINTERS = 127;

/**
 * Why a name could not be read. 'truncated': its bytes at the place it starts run past the
 * limit the caller gave (the end of the message, or of the RDATA holding it); the caller
 * names that ('truncated-record', 'bad-rdata').
 */
export type NameProblem = Extract<DnsAnomalyKind, 'label-too-long' | 'name-too-long' | 'pointer-loop' | 'pointer-forward' | 'pointer-out-of-range' | 'too-many-pointers'> | 'truncated';

/** What readName found; one is reused for name after name. */
export interface NameRead {
  /** The name as text; '' when it could not be read. */
  text: string;
  /** Where the name's bytes at its place end: after its root label or its first pointer. */
  end: number;
  /** Octets of the name on the wire, uncompressed: its length bytes and root included. */
  length: number;
  /** Whether a compression pointer was followed. */
  compressed: boolean;
  problem: NameProblem | null;
  /** What was wrong, for the anomaly's detail; '' when nothing was. */
  detail: string;
}

export function newNameRead(): NameRead {
  return { text: '', end: 0, length: 0, compressed: false, problem: null, detail: '' };
}

// Shared by every walk (readName runs to its end without calling out): the stretches of the
// message a walk has read, one per pointer followed, so that a pointer into one of them is told
// a loop rather than merely forward; and the name's text as it is written, then made a string
// once (a byte takes at most four, `\DDD`): a string per label made a 64 KiB message of
// 127-label names cost half a second.
const readFrom = new Int32Array(MAX_POINTERS + 1);
const readTo = new Int32Array(MAX_POINTERS + 1);
const text = Buffer.alloc(MAX_NAME_LENGTH * 4);

/**
 * Reads the name at `b[off]` into `into`: true when it was read whole. `b` is the whole message
 * (pointers count from its first byte); the bytes at `off` must end by `limit`, what pointers
 * lead to by the end of `b`. With `pointers` false a pointer ends the walk as 'truncated', for
 * the fields that must be sent uncompressed (RFC 9460 §2.2): the caller reports 'bad-rdata'.
 */
export function readName(b: Uint8Array, off: number, limit: number, into: NameRead, pointers = true): boolean {
  let pos = off;
  let bound = limit;
  // Bytes of `text` written.
  let n = 0;
  let length = 0;
  let hops = 0;
  // Every byte read so far is at or after `low`: the next pointer must go below it.
  let low = off;
  into.text = '';
  into.end = -1;
  into.compressed = false;
  into.problem = null;
  into.detail = '';
  for (;;) {
    if (pos >= bound) {
      return hops === 0
        ? fail(into, 'truncated', `name at ${off} runs past byte ${bound}`)
        : fail(into, 'pointer-out-of-range', `name at ${off}: pointer to ${low} leads past the end (${bound})`);
    }
    const len = b[pos] as number;
    if (len === 0) {
      if (into.end < 0) into.end = pos + 1;
      into.length = length + 1;
      into.text = n === 0 ? '.' : text.toString('latin1', 0, n);
      return true;
    }
    if (len >= 0xc0) {
      if (!pointers) return fail(into, 'truncated', `name at ${off} is compressed (pointer at ${pos}) where it must not be`);
      if (pos + 2 > bound) return fail(into, hops === 0 ? 'truncated' : 'pointer-out-of-range', `name at ${off}: pointer at ${pos} cut by byte ${bound}`);
      const target = ((len & 0x3f) << 8) | (b[pos + 1] as number);
      if (into.end < 0) into.end = pos + 2;
      readFrom[hops] = low;
      readTo[hops] = pos + 2;
      if (target < DNS_HEADER_LENGTH || target >= b.length) {
        return fail(into, 'pointer-out-of-range', `name at ${off}: pointer at ${pos} to ${target}, outside ${DNS_HEADER_LENGTH}..${b.length - 1}`);
      }
      if (target >= low) {
        let loop = false;
        for (let i = 0; i <= hops && !loop; i++) loop = target >= (readFrom[i] as number) && target < (readTo[i] as number);
        return fail(into, loop ? 'pointer-loop' : 'pointer-forward', `name at ${off}: pointer at ${pos} to ${target}, not before ${low}`);
      }
      if (++hops > MAX_POINTERS) return fail(into, 'too-many-pointers', `name at ${off}: more than ${MAX_POINTERS} pointers`);
      into.compressed = true;
      pos = target;
      low = target;
      bound = b.length;
      continue;
    }
    if (len > MAX_LABEL_LENGTH) return fail(into, 'label-too-long', `name at ${off}: label length byte ${len} at ${pos}`);
    // The root label still to come counts too.
    length += len + 1;
    if (length + 1 > MAX_NAME_LENGTH) return fail(into, 'name-too-long', `name at ${off}: over ${MAX_NAME_LENGTH} octets`);
    if (pos + 1 + len > bound) {
      return hops === 0
        ? fail(into, 'truncated', `name at ${off}: label at ${pos} runs past byte ${bound}`)
        : fail(into, 'pointer-out-of-range', `name at ${off}: label at ${pos} runs past the end (${bound})`);
    }
    if (n > 0) text[n++] = DOT;
    n = writeLabel(b, pos + 1, pos + 1 + len, n);
    pos += 1 + len;
  }
}

function fail(into: NameRead, problem: NameProblem, detail: string): false {
  into.text = '';
  into.problem = problem;
  into.detail = detail;
  return false;
}

const DOT = 0x2e;
const BACKSLASH = 0x5c;
const ZERO = 0x30;

/** Writes one label's bytes at `text[n]`: printable ASCII as is, but for `\.` and `\\`; the rest `\DDD`. */
function writeLabel(b: Uint8Array, from: number, to: number, n: number): number {
  for (let i = from; i < to; i++) {
    const c = b[i] as number;
    if (c > 0x20 && c < 0x7f && c !== DOT && c !== BACKSLASH) {
      text[n++] = c;
    } else if (c === DOT || c === BACKSLASH) {
      text[n++] = BACKSLASH;
      text[n++] = c;
    } else {
      text[n++] = BACKSLASH;
      text[n++] = ZERO + Math.floor(c / 100);
      text[n++] = ZERO + (Math.floor(c / 10) % 10);
      text[n++] = ZERO + (c % 10);
    }
  }
  return n;
}
