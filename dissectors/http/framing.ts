/**
 * How a message's body is delimited, from its header fields (RFC 9112 §6.3), with the anomalies
 * that make two parsers disagree on it: the request-smuggling shapes.
 */
import type { HttpHeaders } from './headers.ts';
import type { HttpFraming } from './message.ts';
import type { Report } from './head.ts';

export interface Framing {
  framing: HttpFraming;
  length: number;
}

const DIGITS = /^[0-9]{1,15}$/;

/** Content-Length: every value of every field (a field may list several, RFC 9110 §8.6); -1 absent, -2 invalid. */
function contentLength(headers: HttpHeaders, report: Report): number {
  const fields = headers.getAll('content-length');
  if (fields.length === 0) return -1;
  let value = -1;
  let count = 0;
  let differ = false;
  for (const f of fields) {
    for (const part of f.split(',')) {
      const v = part.trim();
      if (!DIGITS.test(v)) {
        report('invalid-content-length');
        return -2;
      }
      const n = Number(v);
      if (count > 0 && n !== value) differ = true;
      value = n;
      count++;
    }
  }
  if (count > 1) report('duplicate-content-length');
  return differ ? -2 : value;
}

/** The codings of Transfer-Encoding, lower-cased, in order (RFC 9112 §6.1); null when absent. */
function codings(headers: HttpHeaders): string[] | null {
  const fields = headers.getAll('transfer-encoding');
  if (fields.length === 0) return null;
  const out: string[] = [];
  for (const f of fields) for (const c of f.split(',')) {
    const t = c.trim().toLowerCase();
    if (t !== '') out.push(t.split(';')[0]?.trim() ?? t);
  }
  return out;
}

/** A request's framing (RFC 9112 §6.3 items 3-6). */
export function requestFraming(headers: HttpHeaders, report: Report): Framing {
  const te = codings(headers);
  const cl = contentLength(headers, report);
  if (te !== null) {
    if (cl !== -1) report('cl-te');
    const chunked = te.filter((c) => c === 'chunked').length;
    // Chunked must be last, and once (RFC 9112 §6.1): anything else cannot be framed.
    if (te[te.length - 1] !== 'chunked' || chunked > 1) {
      report('invalid-transfer-encoding');
      return { framing: 'invalid', length: 0 };
    }
    return { framing: 'chunked', length: 0 };
  }
  if (cl === -2) return { framing: 'invalid', length: 0 };
  if (cl === -1 || cl === 0) return { framing: cl === 0 ? 'content-length' : 'none', length: 0 };
  return { framing: 'content-length', length: cl };
}

/** A response's framing (RFC 9112 §6.3 items 1-7), given what it answers. */
export function responseFraming(headers: HttpHeaders, status: number, method: string | null, report: Report): Framing {
  // No body whatever the fields say: HEAD, 1xx, 204, 304 (item 1).
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return { framing: 'none', length: 0 };
  const te = codings(headers);
  const cl = contentLength(headers, report);
  if (te !== null) {
    if (cl !== -1) report('cl-te');
    // Chunked last frames it; otherwise the body runs to the close (item 4).
    return te[te.length - 1] === 'chunked' && te.filter((c) => c === 'chunked').length === 1 ? { framing: 'chunked', length: 0 } : { framing: 'until-close', length: 0 };
  }
  if (cl === -2) return { framing: 'invalid', length: 0 };
  if (cl >= 0) return { framing: 'content-length', length: cl };
  return { framing: 'until-close', length: 0 };
}
