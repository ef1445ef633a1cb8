/**
 * The head of an HTTP/1.x message, parsed whole from one buffer (RFC 9112 §2-§5): where it ends,
 * the start line, and the header fields with their stream offsets. What does not parse is
 * reported by kind (anomalies.ts) and, where a server would still read on, read as it would.
 */
import { HttpHeaders } from './headers.ts';
import type { HttpAnomalyKind } from './anomalies.ts';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** tchar (RFC 9110 §5.6.2): the bytes of a method or a field name. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Where a head's anomalies go (the parser). */
export interface Report {
  report(kind: HttpAnomalyKind): void;
}

/**
 * Index just past the empty line that ends a head starting at `start`, or -1 when it has not
 * come by `to`. `from` is where to resume looking (a LF already seen is looked at again: the
 * empty line after it may not have come then).
 */
export function findHeadEnd(buf: Buffer, start: number, from: number, to: number): number {
  let at = Math.max(start, from);
  for (;;) {
    const lf = buf.indexOf(LF, at);
    if (lf < 0 || lf >= to) return -1;
    // The start line's LF: the header section follows (a head is never an empty line alone, leading ones are skipped).
    const n = lf + 1;
    if (n < to && buf[n] === LF) return n + 1;
    if (n + 1 < to && buf[n] === CR && buf[n + 1] === LF) return n + 2;
    if (n >= to || (buf[n] === CR && n + 1 >= to)) return -1;
    at = n;
  }
}

/** Index of the next LF in [from, to), or -1. */
export function lineEnd(buf: Buffer, from: number, to: number): number {
  const lf = buf.indexOf(LF, from);
  return lf < 0 || lf >= to ? -1 : lf;
}

/** Where the line ending at `lf` (its LF) has its content end: before a CR, reporting a bare LF. */
function contentEnd(buf: Buffer, start: number, lf: number, bareLf: { seen: boolean }, report: Report): number {
  if (lf > start && buf[lf - 1] === CR) return lf - 1;
  if (!bareLf.seen) {
    bareLf.seen = true;
    report.report('bare-lf');
  }
  return lf;
}

function latin1(buf: Buffer, a: number, b: number): string {
  return buf.toString('latin1', a, b);
}

/**
 * Reads the header fields from `from` to the empty line ending at `end` (the index past it) into
 * `headers`, whose bytes `buf` is.
 */
export function parseFields(buf: Buffer, from: number, end: number, headers: HttpHeaders, bareLf: { seen: boolean }, report: Report): void {
  let ls = from;
  while (ls < end) {
    const lf = lineEnd(buf, ls, end);
    if (lf < 0) return;
    const ce = contentEnd(buf, ls, lf, bareLf, report);
    if (ce === ls) return; // the empty line
    const first = buf[ls] as number;
    if (first === SP || first === HTAB) {
      // obs-fold (RFC 9112 §5.2): a continuation of the previous value.
      if (headers.length > 0) {
        report.report('obs-fold');
        const vs = skipOws(buf, ls, ce);
        headers.fold(vs, trimOws(buf, vs, ce), lf + 1);
      } else {
        report.report('invalid-header');
      }
      ls = lf + 1;
      continue;
    }
    const colon = buf.indexOf(COLON, ls);
    if (colon < 0 || colon >= ce) {
      report.report('invalid-header');
      ls = lf + 1;
      continue;
    }
    let ne = colon;
    if (buf[ne - 1] === SP || buf[ne - 1] === HTAB) {
      report.report('space-before-colon');
      while (ne > ls && (buf[ne - 1] === SP || buf[ne - 1] === HTAB)) ne--;
    }
    let token = ne > ls;
    for (let i = ls; token && i < ne; i++) if (TCHAR[buf[i] as number] === 0) token = false;
    if (!token) {
      report.report('invalid-header');
      ls = lf + 1;
      continue;
    }
    const vs = skipOws(buf, colon + 1, ce);
    headers.add(ls, ne, vs, trimOws(buf, vs, ce), ls, lf + 1);
    ls = lf + 1;
  }
}

function skipOws(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

function trimOws(buf: Buffer, start: number, end: number): number {
  while (end > start && (buf[end - 1] === SP || buf[end - 1] === HTAB)) end--;
  return end;
}

/** `HTTP/1.0` or `HTTP/1.1` (any 1.x) at buf[i, i+8), or null. */
function version(buf: Buffer, i: number, end: number): string | null {
  if (end - i !== 8) return null;
  // "HTTP/1." then a digit (RFC 9112 §2.3: case-sensitive).
  if (buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 || buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e) return null;
  const d = buf[i + 7] as number;
  if (d < 0x30 || d > 0x39) return null;
  return d === 0x31 ? 'HTTP/1.1' : d === 0x30 ? 'HTTP/1.0' : latin1(buf, i, end);
}

/** Where the request line's parts are (RFC 9112 §3); the target is decoded when a rule reads it. */
export interface RequestLine {
  method: string;
  uriStart: number;
  uriEnd: number;
  version: string;
  /** Index of the first header line. */
  next: number;
}

/** The methods servers serve, as strings made once: most requests' method needs no new one. */
const KNOWN_METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

function methodAt(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  for (const m of KNOWN_METHODS) {
    if (m.length !== n) continue;
    let k = 0;
    while (k < n && buf[start + k] === m.charCodeAt(k)) k++;
    if (k === n) return m;
  }
  return latin1(buf, start, end);
}

/** The request line starting at `start` into `out` (RFC 9112 §3): method SP request-target SP HTTP-version. False when it does not parse. */
export function parseRequestLine(buf: Buffer, start: number, end: number, bareLf: { seen: boolean }, report: Report, out: RequestLine): boolean {
  const lf = lineEnd(buf, start, end);
  if (lf < 0) return false;
  const ce = contentEnd(buf, start, lf, bareLf, report);
  let i = start;
  while (i < ce && TCHAR[buf[i] as number] === 1) i++;
  if (i === start || buf[i] !== SP) return false;
  const sp1 = i;
  const sp2 = buf.indexOf(SP, sp1 + 1);
  if (sp2 < 0 || sp2 >= ce || sp2 === sp1 + 1) return false;
  const v = version(buf, sp2 + 1, ce);
  if (v === null) return false;
  for (let k = sp1 + 1; k < sp2; k++) if ((buf[k] as number) <= SP || buf[k] === 0x7f) return false;
  out.method = methodAt(buf, start, sp1);
  out.uriStart = sp1 + 1;
  out.uriEnd = sp2;
  out.version = v;
  out.next = lf + 1;
  return true;
}

/** Where the status line's parts are (RFC 9112 §4); the reason phrase is decoded when read. */
export interface StatusLine {
  status: number;
  reasonStart: number;
  reasonEnd: number;
  version: string;
  next: number;
}

/** The status line starting at `start` into `out` (RFC 9112 §4): HTTP-version SP 3DIGIT SP [reason]. False when it does not parse. */
export function parseStatusLine(buf: Buffer, start: number, end: number, bareLf: { seen: boolean }, report: Report, out: StatusLine): boolean {
  const lf = lineEnd(buf, start, end);
  if (lf < 0) return false;
  const ce = contentEnd(buf, start, lf, bareLf, report);
  if (ce - start < 12) return false;
  const v = version(buf, start, start + 8);
  if (v === null || buf[start + 8] !== SP) return false;
  let status = 0;
  for (let k = start + 9; k < start + 12; k++) {
    const d = (buf[k] as number) - 0x30;
    if (d < 0 || d > 9) return false;
    status = status * 10 + d;
  }
  if (status < 100) return false;
  // "HTTP/1.1 200" with no space nor reason is read as servers read it.
  if (ce > start + 12 && buf[start + 12] !== SP) return false;
  out.status = status;
  out.reasonStart = Math.min(start + 13, ce);
  out.reasonEnd = ce;
  out.version = v;
  out.next = lf + 1;
  return true;
}

/** Bytes before a head that are line ends (RFC 9112 §2.2: a server ignores empty lines before a request). */
export function skipEmptyLines(buf: Buffer, i: number, to: number): number {
  while (i < to && (buf[i] === CR || buf[i] === LF)) i++;
  return i;
}
