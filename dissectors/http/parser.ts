/**
 * One direction of an HTTP/1.x connection, parsed as it arrives (a push parser, stream-parser.ts):
 * heads whole (held back until complete, so that a rule judges a request before any of it leaves),
 * bodies streamed as they come, decoded from chunked. Pipelined messages follow one another in
 * one chunk. Whatever it cannot frame ends parsing: an anomaly, and the flow goes on as bytes.
 */
import type { StreamParser } from '../tcp-connection/stream-parser.ts';
import type { Direction, TcpFlow } from '../tcp-connection/flow.ts';
import type { DissectorPolicy, FlowDissectorHost } from '../../core/flow-dissector.ts';
import type { HttpConfig } from './config.ts';
import type { HttpAnomalyKind } from './anomalies.ts';
import { HttpHeaders, type HttpHeader } from './headers.ts';
import { copyHead } from './head-arena.ts';
import { PalisadeError } from '../../core/errors.ts';
import { HttpRequest, HttpResponse, type HeadEditor, type HttpTransaction } from './message.ts';
import { findHeadEnd, lineEnd, parseFields, parseRequestLine, parseStatusLine, skipEmptyLines, type RequestLine, type StatusLine } from './head.ts';
import { requestFraming, responseFraming, type Framing } from './framing.ts';
import { Transaction, type HttpSession } from './session.ts';

/** The dissector's events, as the parser raises them. */
export interface HttpEmit {
  request(flow: TcpFlow, request: HttpRequest): void;
  response(flow: TcpFlow, response: HttpResponse): void;
  requestBody(flow: TcpFlow, data: Buffer, request: HttpRequest): void;
  responseBody(flow: TcpFlow, data: Buffer, response: HttpResponse): void;
  transactionEnd(flow: TcpFlow, tx: HttpTransaction): void;
  anomaly(flow: TcpFlow, anomaly: { kind: HttpAnomalyKind; direction: Direction }): void;
}

const HEAD = 0;
const BODY = 1; // content-length: #remaining bytes
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4; // the CRLF after a chunk's data
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const TUNNEL = 7;
const DONE = 8;

const LF = 0x0a;
const CR = 0x0d;
/** A chunk-size line, extensions included (RFC 9112 §7.1.1 sets no limit; servers cut far below). */
const MAX_CHUNK_LINE = 4096;

/**
 * Scratch for the head being parsed, shared by every parser: a head is parsed in one call, and
 * what its events' rules do cannot start another parse. Per parser they would be four more
 * objects for each connection's lifetime.
 */
const bareLfSeen = { seen: false };
const framingOut: Framing = { framing: 'none', length: 0 };
const requestLineOut: RequestLine = { method: '', uriStart: 0, uriEnd: 0, version: '', next: 0 };
const statusLineOut: StatusLine = { status: 0, reasonStart: 0, reasonEnd: 0, version: '', next: 0 };

export class HttpParser implements StreamParser {
  #state = HEAD;
  readonly #flow: TcpFlow;
  readonly #request: boolean;
  readonly #direction: Direction;
  readonly #session: HttpSession;
  readonly #emit: HttpEmit;
  readonly #host: FlowDissectorHost;
  /** Where a message's header writes go: this direction of the stream. */
  readonly #editor: HeadEditor = (at, erase, insert) => {
    this.#host.edit(this.#flow, this.#direction, at, erase, insert);
  };
  readonly #config: HttpConfig;
  /** An incomplete head (or chunk-size or trailer line), copied: its frames are held while it waits. */
  #buf: Buffer | null = null;
  #len = 0;
  /** Stream offset of #buf[0]. */
  #bufAt = 0;
  /** The message whose body is being read. */
  #message: HttpRequest | HttpResponse | null = null;
  #tx: Transaction | null = null;
  /** Body bytes left: of the content-length, or of the chunk. */
  #remaining = 0;
  /** CHUNK_END: the CR has come. */
  #sawCr = false;
  /** Bytes of the trailer section so far. */
  #trailerBytes = 0;


  constructor(flow: TcpFlow, direction: Direction, session: HttpSession, emit: HttpEmit, host: FlowDissectorHost, config: HttpConfig) {
    this.#flow = flow;
    this.#request = direction === 'up';
    this.#direction = direction;
    this.#session = session;
    this.#emit = emit;
    this.#host = host;
    this.#config = config;
    session.parsers++;
  }

  /** Bytes held back: an incomplete head only (bodies stream, and lines of chunked framing judge nothing). */
  get buffered(): number {
    return this.#state === HEAD ? this.#len : 0;
  }

  data(chunk: Buffer, offset: number): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const s = this.#state;
      if (s === HEAD) i = this.#head(chunk, i, offset);
      else if (s === BODY) i = this.#body(chunk, i, this.#remaining);
      else if (s === CHUNK_DATA) i = this.#body(chunk, i, this.#remaining);
      else if (s === CHUNK_SIZE || s === TRAILERS) i = this.#line(chunk, i, offset);
      else if (s === CHUNK_END) i = this.#chunkEnd(chunk, i);
      else if (s === UNTIL_CLOSE) i = this.#body(chunk, i, Infinity);
      else return; // TUNNEL, DONE: bytes
      if (this.#flow.verdict !== 0) {
        this.#stop();
        return;
      }
    }
  }

  end(truncated: boolean): void {
    const s = this.#state;
    if (s === UNTIL_CLOSE && !truncated) {
      this.#messageDone();
    } else if (truncated && (s !== HEAD || this.#len > 0) && s !== TUNNEL && s !== DONE) {
      this.#anomaly('gap');
    }
    this.#stop();
    if (--this.#session.parsers === 0) this.#closeSession();
  }

  // ---- heads ----------------------------------------------------------------------------------

  /** Reads a head from chunk[i]; returns where the rest of the chunk starts. */
  #head(chunk: Buffer, i: number, offset: number): number {
    const n = chunk.length;
    if (this.#len === 0) {
      // Before a message: empty lines are skipped (RFC 9112 §2.2), and a tunnel has no more HTTP.
      if (this.#session.over) {
        this.#state = TUNNEL;
        return n;
      }
      i = skipEmptyLines(chunk, i, n);
      if (i === n) return n;
      // The whole head in this chunk: parsed from the frame's own bytes, no copy.
      const end = findHeadEnd(chunk, i, i, n);
      if (end >= 0 && end - i <= this.#config.maxHeaderBytes) {
        this.#parseHead(chunk, i, end, offset);
        return end;
      }
      if (!this.#fits(chunk, i, lineEnd(chunk, i, n) < 0 ? n - i : 0, n - i)) return n;
      this.#keep(chunk, i, n, offset + i);
      return n;
    }
    // The rest of a head begun in earlier chunks.
    const before = this.#len;
    const take = Math.min(n - i, this.#config.maxHeaderBytes + 4 - before);
    this.#keep(chunk, i, i + take, 0);
    const buf = this.#buf as Buffer;
    const end = findHeadEnd(buf, 0, Math.max(0, before - 3), this.#len);
    if (end < 0) {
      const startLine = lineEnd(buf, 0, this.#len) < 0 ? this.#len : 0;
      if (!this.#fits(buf, 0, startLine, this.#len)) return n;
      return i + take;
    }
    if (end > this.#config.maxHeaderBytes) {
      this.#fits(buf, 0, 0, end);
      return n;
    }
    const used = end - before;
    const at = this.#bufAt;
    this.#len = 0;
    this.#parseHead(buf, 0, end, at);
    return i + used;
  }

  /** An incomplete head within the limits; else its anomaly, and parsing ends. */
  #fits(buf: Buffer, start: number, startLineSoFar: number, headSoFar: number): boolean {
    const lf = startLineSoFar === 0 ? lineEnd(buf, start, start + headSoFar) : -1;
    const line = startLineSoFar > 0 ? startLineSoFar : lf - start;
    if (line > this.#config.maxStartLine + 1) {
      this.#anomaly('start-line-too-long');
      this.#stop();
      return false;
    }
    if (headSoFar > this.#config.maxHeaderBytes) {
      this.#anomaly('header-too-large');
      this.#stop();
      return false;
    }
    return true;
  }

  /** Copies chunk[from, to) after what #buf holds (`at`: the stream offset, when it starts the buffer). */
  #keep(chunk: Buffer, from: number, to: number, at: number): void {
    const need = this.#len + (to - from);
    let buf = this.#buf;
    if (buf === null || buf.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(2 * (buf?.length ?? 0), this.#config.maxHeaderBytes + 4), 256));
      if (buf !== null) buf.copy(grown, 0, 0, this.#len);
      this.#buf = buf = grown;
    }
    if (this.#len === 0) this.#bufAt = at;
    chunk.copy(buf, this.#len, from, to);
    this.#len = need;
  }

  /** A complete head in buf[start, end), at stream offset `at` of buf[0]. */
  #parseHead(src: Buffer, start: number, end: number, at: number): void {
    const flow = this.#flow;
    if (lineEnd(src, start, end) - start > this.#config.maxStartLine + 1) {
      this.#anomaly('start-line-too-long');
      this.#stop();
      return;
    }
    // One copy of the head: the message keeps it, its fields are read from it when asked.
    const n = end - start;
    const buf = copyHead(src, start, end);
    const base = at + start;
    const bareLf = bareLfSeen;
    bareLf.seen = false;
    const framing = framingOut;
    if (this.#request) {
      const line = requestLineOut;
      if (!parseRequestLine(buf, 0, n, bareLf, this, line)) {
        this.#invalidStart(buf, 0, n);
        return;
      }
      const headers = new HttpHeaders(buf, base);
      parseFields(buf, line.next, n, headers, bareLf, this);
      const req = new HttpRequest(line.method, buf, line.uriStart, line.uriEnd, line.version, headers, base, n);
      requestFraming(headers, this, framing);
      req.framing = framing.framing;
      if (framing.framing === 'content-length') req.contentLength = framing.length;
      const tx = new Transaction(req);
      this.#session.open.push(tx);
      this.#tx = tx;
      this.#message = req;
      if (flow.appProto === null) flow.appProto = 'http';
      req.editor = this.#editor;
      this.#emit.request(flow, req);
      this.#flushEdits(req);
      if (flow.verdict !== 0) {
        this.#stop();
        return;
      }
      this.#bodyStart(req.framing, req.contentLength ?? 0);
      return;
    }
    const line = statusLineOut;
    if (!parseStatusLine(buf, 0, n, bareLf, this, line)) {
      this.#invalidStart(buf, 0, n);
      return;
    }
    const headers = new HttpHeaders(buf, base);
    parseFields(buf, line.next, n, headers, bareLf, this);
    const session = this.#session;
    let tx = session.awaitingResponse();
    if (tx === null) {
      this.#anomaly('unexpected-response');
      tx = new Transaction(null);
      tx.requestDone = true;
      session.open.push(tx);
    }
    const req = tx.request;
    const res = new HttpResponse(line.status, buf, line.reasonStart, line.reasonEnd, line.version, headers, base, n, req);
    responseFraming(headers, line.status, req?.method ?? null, this, framing);
    res.framing = framing.framing;
    if (framing.framing === 'content-length') res.contentLength = framing.length;
    if (res.interim) tx.addInterim(res);
    else tx.response = res;
    this.#tx = tx;
    this.#message = res;
    res.editor = this.#editor;
    this.#emit.response(flow, res);
    this.#flushEdits(res);
    if (flow.verdict !== 0) {
      this.#stop();
      return;
    }
    // The connection leaves HTTP: 101 Switching Protocols (RFC 9110 §15.2.2), 2xx to CONNECT (§9.3.6).
    if (line.status === 101 || (req?.method === 'CONNECT' && line.status >= 200 && line.status < 300)) {
      session.over = true;
      res.complete = true;
      tx.responseDone = true;
      if (req !== null) tx.requestDone = true;
      this.#endTransactions();
      this.#state = TUNNEL;
      return;
    }
    if (res.interim) {
      res.complete = true;
      this.#state = HEAD;
      return;
    }
    this.#bodyStart(res.framing, res.contentLength ?? 0);
  }

  #invalidStart(buf: Buffer, start: number, end: number): void {
    const lf = lineEnd(buf, start, end);
    this.#anomaly(lf - start > this.#config.maxStartLine + 1 ? 'start-line-too-long' : 'invalid-start-line');
    this.#stop();
  }

  #bodyStart(framing: string, length: number): void {
    if (framing === 'content-length' && length > 0) {
      this.#state = BODY;
      this.#remaining = length;
    } else if (framing === 'chunked') {
      this.#state = CHUNK_SIZE;
    } else if (framing === 'until-close') {
      this.#state = UNTIL_CLOSE;
    } else if (framing === 'invalid') {
      // Where this body ends, and the next message starts, cannot be known.
      this.#stop();
    } else {
      this.#messageDone();
    }
  }

  // ---- bodies ---------------------------------------------------------------------------------

  /** Up to `left` body bytes from chunk[i]. */
  #body(chunk: Buffer, i: number, left: number): number {
    const take = Math.min(left, chunk.length - i);
    const msg = this.#message as HttpRequest | HttpResponse;
    msg.bodyBytes += take;
    const view = i === 0 && take === chunk.length ? chunk : chunk.subarray(i, i + take);
    if (this.#request) this.#emit.requestBody(this.#flow, view, msg as HttpRequest);
    else this.#emit.responseBody(this.#flow, view, msg as HttpResponse);
    if (left !== Infinity) {
      this.#remaining = left - take;
      if (this.#remaining === 0) {
        if (this.#state === BODY) this.#messageDone();
        else {
          this.#state = CHUNK_END;
          this.#sawCr = false;
        }
      }
    }
    return i + take;
  }

  /** The CRLF after a chunk's data (RFC 9112 §7.1). */
  #chunkEnd(chunk: Buffer, i: number): number {
    const c = chunk[i];
    if (c === LF) {
      if (!this.#sawCr) this.#anomaly('bare-lf');
      this.#state = CHUNK_SIZE;
      return i + 1;
    }
    if (c === CR && !this.#sawCr) {
      this.#sawCr = true;
      return i + 1;
    }
    this.#anomaly('invalid-chunk-size');
    this.#stop();
    return chunk.length;
  }

  /** A chunk-size line or a trailer line, gathered whole (they are short) then read. */
  #line(chunk: Buffer, i: number, offset: number): number {
    const n = chunk.length;
    const lf = lineEnd(chunk, i, n);
    const trailers = this.#state === TRAILERS;
    const max = trailers ? this.#config.maxHeaderBytes : MAX_CHUNK_LINE;
    if (lf < 0 || this.#len > 0) {
      const to = lf < 0 ? n : lf + 1;
      if (this.#len + (to - i) > max) {
        this.#anomaly(trailers ? 'header-too-large' : 'invalid-chunk-size');
        this.#stop();
        return n;
      }
      this.#keep(chunk, i, to, offset + i);
      if (lf < 0) return n;
      const buf = this.#buf as Buffer;
      const len = this.#len;
      this.#len = 0;
      if (trailers) this.#trailerLine(buf, 0, len, this.#bufAt);
      else this.#chunkSize(buf, 0, len);
      return to;
    }
    if (trailers) this.#trailerLine(chunk, i, lf + 1, offset);
    else this.#chunkSize(chunk, i, lf + 1);
    return lf + 1;
  }

  /** chunk-size [ chunk-ext ] CRLF in buf[start, end) (RFC 9112 §7.1, §7.1.1). */
  #chunkSize(buf: Buffer, start: number, end: number): void {
    let size = 0;
    let i = start;
    for (; i < end; i++) {
      const c = buf[i] as number;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (d < 0) break;
      size = size * 16 + d;
    }
    const digits = i - start;
    const next = buf[i];
    // Past 15 hex digits a size is beyond any body (and past what a double holds exactly).
    if (digits === 0 || digits > 15 || (next !== 0x3b && next !== 0x20 && next !== 0x09 && next !== CR && next !== LF)) {
      this.#anomaly('invalid-chunk-size');
      this.#stop();
      return;
    }
    if (buf[end - 2] !== CR) this.#anomaly('bare-lf');
    if (size === 0) {
      this.#state = TRAILERS;
      this.#trailerBytes = 0;
      return;
    }
    this.#remaining = size;
    this.#state = CHUNK_DATA;
  }

  /** One line of the trailer section (RFC 9112 §7.1.2); the empty one ends the message. */
  #trailerLine(buf: Buffer, start: number, end: number, at: number): void {
    const empty = end - start === 1 || (end - start === 2 && buf[start] === CR);
    if (empty) {
      this.#messageDone();
      return;
    }
    this.#trailerBytes += end - start;
    if (this.#trailerBytes > this.#config.maxHeaderBytes) {
      this.#anomaly('header-too-large');
      this.#stop();
      return;
    }
    const msg = this.#message as HttpRequest | HttpResponse;
    // Each trailer line is its own copy: trailers are rare, and come a line at a time.
    const copy = copyHead(buf, start, end);
    const trailers = new HttpHeaders(copy, at + start);
    parseFields(copy, 0, copy.length, trailers, bareLfSeen, this);
    if (trailers.length > 0) {
      const h = trailers.at(0) as HttpHeader;
      (msg.trailers ??= []).push(h);
    }
  }

  // ---- transactions ---------------------------------------------------------------------------

  #messageDone(): void {
    const msg = this.#message;
    const tx = this.#tx;
    this.#message = null;
    this.#tx = null;
    this.#state = HEAD;
    if (msg === null || tx === null) return;
    msg.complete = true;
    if (this.#request) tx.requestDone = true;
    else tx.responseDone = true;
    this.#endTransactions();
  }

  /** Transactions whose messages have both ended, oldest first. */
  #endTransactions(): void {
    const open = this.#session.open;
    while (open.length > 0) {
      const tx = open[0] as Transaction;
      if (!tx.requestDone || !tx.responseDone) return;
      open.shift();
      tx.complete = true;
      this.#emit.transactionEnd(this.#flow, tx);
    }
  }

  /** The connection's last parser ended: transactions still open end incomplete. */
  #closeSession(): void {
    const open = this.#session.open;
    while (open.length > 0) {
      const tx = open.shift() as Transaction;
      this.#emit.transactionEnd(this.#flow, tx);
    }
  }

  // ---- the end of parsing -------------------------------------------------------------------

  /** Parsing ends for the connection: a direction that cannot be framed leaves the other unpaired. */
  #stop(): void {
    this.#session.over = true;
    this.#state = DONE;
    this.#len = 0;
    this.#buf = null;
  }

  /** @internal Report: an anomaly of the head being parsed. */
  report(kind: HttpAnomalyKind): void {
    this.#anomaly(kind);
  }

  /** The head's rewrites go to the stream; bytes of it gone already make none go (they come in stream order, all or none). */
  #flushEdits(msg: HttpRequest | HttpResponse): void {
    try {
      msg.flushEdits();
    } catch (err) {
      if (!(err instanceof PalisadeError) || err.code !== 'PAL_ERR_REWRITE') throw err;
      this.#anomaly('edit-too-late');
    }
  }

  #anomaly(kind: HttpAnomalyKind): void {
    const flow = this.#flow;
    this.#emit.anomaly(flow, { kind, direction: this.#direction });
    const policy: DissectorPolicy = this.#config.policies[kind];
    this.#host.anomaly(flow, `http-${kind}`, policy, `http.policies.${kind}`);
  }
}
