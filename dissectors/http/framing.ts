/**
 * How a message's body is delimited, from its header fields (RFC 9112 §6.3), with the anomalies
 * that make two parsers disagree on it: the request-smuggling shapes. Written to make no array
 * and no string for the common message (one Content-Length, or none).
 */
import type { HttpHeaders } from './headers.ts';
import type { HttpFraming } from './message.ts';
import type { Report } from './head.ts';

/** What framing() found: the framing, and the length a Content-Length gives. */
export interface Framing {
  framing: HttpFraming;
  length: number;
}

const DIGITS = /^[0-9]{1,15}$/;
/** Content-Length absent, or not a valid (or not one) value. */
const ABSENT = -1;
const INVALID = -2;

/** Content-Length: every value of every field (a field may list several, RFC 9110 §8.6). */
function contentLength(headers: HttpHeaders, report: Report): number {
  let i = headers.indexOf('content-length', 0);
  if (i < 0) return ABSENT;
  let value = ABSENT;
  let count = 0;
  let differ = false;
  for (; i >= 0; i = headers.indexOf('content-length', i + 1)) {
    // One number, read from the bytes: no string for the common field.
    const one = headers.decimalAt(i);
    if (one >= 0) {
      if (count > 0 && one !== value) differ = true;
      value = one;
      count++;
      continue;
    }
    if (one === -1) {
      report.report('invalid-content-length');
      return INVALID;
    }
    for (const part of headers.valueAt(i).split(',')) {
      const v = part.trim();
      if (!DIGITS.test(v)) {
        report.report('invalid-content-length');
        return INVALID;
      }
      const n = Number(v);
      if (count > 0 && n !== value) differ = true;
      value = n;
      count++;
    }
  }
  if (count > 1) report.report('duplicate-content-length');
  return differ ? INVALID : value;
}

/** Transfer-Encoding (RFC 9112 §6.1): 0 absent, 1 chunked last and once, 2 anything else. */
const TE_NONE = 0;
const TE_CHUNKED = 1;
const TE_OTHER = 2;

function transferEncoding(headers: HttpHeaders): number {
  let i = headers.indexOf('transfer-encoding', 0);
  if (i < 0) return TE_NONE;
  const codings: string[] = [];
  for (; i >= 0; i = headers.indexOf('transfer-encoding', i + 1)) {
    for (const c of headers.valueAt(i).split(',')) {
      const t = (c.split(';')[0] ?? '').trim().toLowerCase();
      if (t !== '') codings.push(t);
    }
  }
  const chunked = codings.filter((c) => c === 'chunked').length;
  return codings[codings.length - 1] === 'chunked' && chunked === 1 ? TE_CHUNKED : TE_OTHER;
}

/** A request's framing (RFC 9112 §6.3 items 3-6), written into `out`. */
export function requestFraming(headers: HttpHeaders, report: Report, out: Framing): void {
  const te = transferEncoding(headers);
  const cl = contentLength(headers, report);
  out.length = 0;
  if (te !== TE_NONE) {
    if (cl !== ABSENT) report.report('cl-te');
    // Chunked must be last, and once: anything else cannot be framed.
    if (te !== TE_CHUNKED) {
      report.report('invalid-transfer-encoding');
      out.framing = 'invalid';
    } else {
      out.framing = 'chunked';
    }
    return;
  }
  if (cl === INVALID) out.framing = 'invalid';
  else if (cl === ABSENT) out.framing = 'none';
  else {
    out.framing = 'content-length';
    out.length = cl;
  }
}

/** A response's framing (RFC 9112 §6.3 items 1-7), given what it answers, written into `out`. */
export function responseFraming(headers: HttpHeaders, status: number, method: string | null, report: Report, out: Framing): void {
  out.length = 0;
  // No body whatever the fields say: HEAD, 1xx, 204, 304 (item 1).
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) {
    out.framing = 'none';
    return;
  }
  const te = transferEncoding(headers);
  const cl = contentLength(headers, report);
  if (te !== TE_NONE) {
    if (cl !== ABSENT) report.report('cl-te');
    // Chunked last frames it; otherwise the body runs to the close (item 4).
    out.framing = te === TE_CHUNKED ? 'chunked' : 'until-close';
    return;
  }
  if (cl === INVALID) out.framing = 'invalid';
  else if (cl === ABSENT) out.framing = 'until-close';
  else {
    out.framing = 'content-length';
    out.length = cl;
  }
}
