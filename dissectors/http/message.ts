/**
 * What the HTTP/1.x dissector hands to rules: requests, responses and the transaction that pairs
 * them (RFC 9112). Objects last as long as a rule keeps them; bodies are not kept (they come as
 * requestBody / responseBody events).
 */
import type { HttpHeader, HttpHeaders } from './headers.ts';
import { normalizePath, targetQuery } from './uri.ts';
import { rewriteError } from '../../core/errors.ts';

/** Where a message's edits go: its direction of the stream, from stream offset `at` (FlowDissectorHost.edit). */
export type HeadEditor = (at: number, erase: number, insert: Buffer) => void;

/** A field name: a token (RFC 9110 §5.1). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value: no line end or NUL inside (RFC 9110 §5.5). */
const FIELD_VALUE = /^[^\r\n\0]*$/;

/**
 * How the body is delimited (RFC 9112 §6.3): `content-length`, `chunked`, `none` (no body: a
 * request without either field, a HEAD response, 1xx, 204, 304), `until-close` (a response
 * delimited by the end of the connection), `invalid` (conflicting or malformed framing: parsing
 * of the connection ends there).
 */
export type HttpFraming = 'content-length' | 'chunked' | 'none' | 'until-close' | 'invalid';

abstract class HttpMessage {
  /** `HTTP/1.1` or `HTTP/1.0`, as sent. */
  readonly version: string;
  readonly headers: HttpHeaders;
  framing: HttpFraming = 'none';
  /** The Content-Length that frames the body, when one does. */
  contentLength: number | null = null;
  /** The trailer fields of a chunked body (RFC 9112 §7.1.2), once they have come; null without any. */
  trailers: HttpHeader[] | null = null;
  /** Stream offset of the start line's first byte. */
  readonly offset: number;
  /** Bytes of the start line and header section, the empty line included. */
  readonly headLength: number;
  /** Body bytes so far, decoded from chunked. */
  bodyBytes = 0;
  /** The whole body has come. */
  complete = false;

  constructor(version: string, headers: HttpHeaders, offset: number, headLength: number) {
    this.version = version;
    this.headers = headers;
    this.offset = offset;
    this.headLength = headLength;
  }

  /** @internal While the message's event runs, where its header writes go; null before and after. */
  editor: HeadEditor | null = null;
  /** New lines for fields that came (by index; null: the field goes), and fields added at the end. */
  #lines: Map<number, string | null> | null = null;
  #added: { name: string; line: string }[] = [];

  /**
   * Gives field `name` the value `value`: its first line is rewritten, any other line of it goes;
   * added at the end of the header section when it has none. The receiver gets the head edited
   * (the connection's numbering follows, see docs/streams.md); `headers` still shows the fields
   * as they came. Only in the request or response event, while the head is held.
   */
  setHeader(name: string, value: string): void {
    const line = this.#line('setHeader', name, value);
    this.#drop(name);
    const h = this.headers;
    const first = h.indexOf(name, 0);
    if (first < 0) this.#added.push({ name, line });
    else (this.#lines ??= new Map()).set(first, line);
  }

  /** Adds field `name: value` at the end of the header section, after the fields that came. */
  addHeader(name: string, value: string): void {
    this.#added.push({ name, line: this.#line('addHeader', name, value) });
  }

  /** Takes every line of field `name` out of the head. */
  removeHeader(name: string): void {
    this.#check('removeHeader', name);
    this.#drop(name);
  }

  /** @internal The head's edits, in stream order, to the editor; after its event. */
  flushEdits(): void {
    const edit = this.editor;
    this.editor = null;
    if (edit === null || (this.#lines === null && this.#added.length === 0)) return;
    const h = this.headers;
    for (const [i, line] of [...(this.#lines ?? new Map<number, string | null>())].sort((a, b) => a[0] - b[0])) {
      const f = h.at(i) as HttpHeader;
      edit(f.offset, f.length, Buffer.from(line ?? '', 'latin1'));
    }
    if (this.#added.length > 0) {
      // Before the empty line that ends the head: after the last field, or the start line (CRLF ends it).
      const last = h.length > 0 ? h.at(h.length - 1) : undefined;
      const at = last !== undefined ? last.offset + last.length : this.offset + this.headLength - 2;
      edit(at, 0, Buffer.from(this.#added.map((a) => a.line).join(''), 'latin1'));
    }
    this.#lines = null;
    this.#added = [];
  }

  #check(what: string, name: string): void {
    if (this.editor === null) throw rewriteError(`http ${what}`, 'headers are written in the request or response event, while the head is held');
    if (!TOKEN.test(name)) throw rewriteError(`http ${what}`, `${JSON.stringify(name)} is not a field name (RFC 9110 §5.1: a token)`);
  }

  #line(what: string, name: string, value: string): string {
    this.#check(what, name);
    if (!FIELD_VALUE.test(value)) throw rewriteError(`http ${what}`, `the value of ${name} holds a line end or NUL: a field value cannot (RFC 9110 §5.5)`);
    return `${name}: ${value}\r\n`;
  }

  /** Every line of `name`, and what was added of it, goes. */
  #drop(name: string): void {
    const h = this.headers;
    for (let i = h.indexOf(name, 0); i >= 0; i = h.indexOf(name, i + 1)) (this.#lines ??= new Map()).set(i, null);
    const lower = name.toLowerCase();
    this.#added = this.#added.filter((a) => a.name.toLowerCase() !== lower);
  }

  /** The connection stays open after this message (RFC 9112 §9.3): 1.1 unless `Connection: close`, 1.0 only with `keep-alive`. */
  get keepAlive(): boolean {
    const c = this.headers.getAll('connection').join(',').toLowerCase();
    if (this.version === 'HTTP/1.0') return /(^|[\s,])keep-alive($|[\s,])/.test(c);
    return !/(^|[\s,])close($|[\s,])/.test(c);
  }
}

export class HttpRequest extends HttpMessage {
  /** As sent (methods are case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  readonly #head: Buffer;
  readonly #uriStart: number;
  readonly #uriEnd: number;
  #uri: string | undefined = undefined;
  #path: string | undefined = undefined;

  /** @internal `head`: the head's copy, the target at [uriStart, uriEnd) of it. */
  constructor(method: string, head: Buffer, uriStart: number, uriEnd: number, version: string, headers: HttpHeaders, offset: number, headLength: number) {
    super(version, headers, offset, headLength);
    this.method = method;
    this.#head = head;
    this.#uriStart = uriStart;
    this.#uriEnd = uriEnd;
  }

  /** The request target as sent (RFC 9112 §3.2). */
  get uri(): string {
    return (this.#uri ??= this.#head.toString('latin1', this.#uriStart, this.#uriEnd));
  }

  /** The target's path as a server resolves it: percent-decoded, dot segments removed, slashes collapsed (uri.ts). */
  get path(): string {
    return (this.#path ??= normalizePath(this.uri));
  }

  /** The target's query, without its `?`, as sent. */
  get query(): string {
    return targetQuery(this.uri);
  }

  /** The Host field's value ('' without one). */
  get host(): string {
    return this.headers.get('host') ?? '';
  }

  toJSON(): Record<string, unknown> {
    return { method: this.method, uri: this.uri, version: this.version, headers: this.headers, framing: this.framing };
  }
}

export class HttpResponse extends HttpMessage {
  readonly status: number;
  /**
   * 1xx but 101 (RFC 9110 §15.2): an interim response, the final one follows for the same
   * request. 101 Switching Protocols is the last HTTP of the connection: its final response.
   */
  readonly interim: boolean;
  /** The request it answers: null when none was waiting (a picked-up connection). */
  readonly request: HttpRequest | null;
  readonly #head: Buffer;
  readonly #reasonStart: number;
  readonly #reasonEnd: number;

  /** @internal `head`: the head's copy, the reason phrase at [reasonStart, reasonEnd) of it. */
  constructor(status: number, head: Buffer, reasonStart: number, reasonEnd: number, version: string, headers: HttpHeaders, offset: number, headLength: number, request: HttpRequest | null) {
    super(version, headers, offset, headLength);
    this.status = status;
    this.interim = status >= 100 && status < 200 && status !== 101;
    this.request = request;
    this.#head = head;
    this.#reasonStart = reasonStart;
    this.#reasonEnd = reasonEnd;
  }

  /** The reason phrase, as sent. */
  get reason(): string {
    return this.#head.toString('latin1', this.#reasonStart, this.#reasonEnd);
  }

  toJSON(): Record<string, unknown> {
    return { status: this.status, reason: this.reason, version: this.version, headers: this.headers, framing: this.framing, interim: this.interim };
  }
}

/** One request and its response, for transactionEnd. */
export interface HttpTransaction {
  readonly request: HttpRequest | null;
  /** The final response; null when the connection ended first. */
  readonly response: HttpResponse | null;
  /** The 1xx responses before it (100 Continue…). */
  readonly interim: readonly HttpResponse[];
  /** Both messages came whole; false when the connection ended (or parsing stopped) first. */
  readonly complete: boolean;
}
