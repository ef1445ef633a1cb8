/**
 * A message's header fields as they came: in order, duplicates kept, names as sent, each with
 * where its line sits in the stream (so that a rewrite can find it). Names compare without case
 * (RFC 9110 §5.1). Values are latin1 text, every byte one character (RFC 9110 §5.5: field
 * values are octets; text outside ASCII is the sender's business).
 *
 * The fields are kept as offsets into one copy of the head, and a name or value becomes a
 * string only when a rule asks for it: most rules read a field or two of a dozen.
 */

export interface HttpHeader {
  readonly name: string;
  readonly value: string;
  /** Stream offset of the line's first byte. */
  readonly offset: number;
  /** Bytes of the line, its line end (and any folded continuation) included. */
  readonly length: number;
}

/** Per field: name start and end, value start and end, line start and end (indexes into the copy). */
const NS = 0;
const NE = 1;
const VS = 2;
const VE = 3;
const LS = 4;
const LE = 5;
const STRIDE = 6;

/** ASCII lower case by byte (tchar names: letters fold, nothing else does). */
const LOWER = new Uint8Array(256);
for (let i = 0; i < 256; i++) LOWER[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;

export class HttpHeaders implements Iterable<HttpHeader> {
  /** @internal the head's bytes (a copy: the packet's do not outlive it). */
  #buf: Buffer;
  /** @internal stream offset of #buf[0]. */
  readonly #at: number;
  readonly #f: number[] = [];
  /** Values joined from obs-fold continuations, by field index. */
  #folded: Map<number, string> | null = null;

  /** @internal */
  constructor(buf: Buffer, at: number) {
    this.#buf = buf;
    this.#at = at;
  }

  /** Fields, duplicates counted. */
  get length(): number {
    return this.#f.length / STRIDE;
  }

  /** The first value of `name` (any case), or undefined. Several fields of one name: getAll(). */
  get(name: string): string | undefined {
    const i = this.indexOf(name, 0);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** Every value of `name` (any case), in order; [] when absent. */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = this.indexOf(name, 0); i >= 0; i = this.indexOf(name, i + 1)) out.push(this.valueAt(i));
    return out;
  }

  has(name: string): boolean {
    return this.indexOf(name, 0) >= 0;
  }

  /** Index of the first field named `name` (any case) at or after `from`, or -1. */
  indexOf(name: string, from: number): number {
    const f = this.#f;
    const buf = this.#buf;
    const n = name.length;
    for (let i = from * STRIDE; i < f.length; i += STRIDE) {
      const s = f[i + NS] as number;
      if ((f[i + NE] as number) - s !== n) continue;
      let k = 0;
      while (k < n && LOWER[buf[s + k] as number] === LOWER[name.charCodeAt(k) & 0xff]) k++;
      if (k === n) return i / STRIDE;
    }
    return -1;
  }

  /** The i-th field's name, as sent. */
  nameAt(i: number): string {
    const f = this.#f;
    return this.#buf.toString('latin1', f[i * STRIDE + NS], f[i * STRIDE + NE]);
  }

  /** The i-th field's value, without the whitespace around it. */
  valueAt(i: number): string {
    const folded = this.#folded?.get(i);
    if (folded !== undefined) return folded;
    const f = this.#f;
    return this.#buf.toString('latin1', f[i * STRIDE + VS], f[i * STRIDE + VE]);
  }

  /**
   * The i-th field's value as a decimal number read from its bytes (a Content-Length): -1 when it
   * is not 1 to 15 digits, -2 when it holds a comma (a list: read it with valueAt).
   */
  decimalAt(i: number): number {
    if (this.#folded?.has(i) === true) return -1;
    const f = this.#f;
    const buf = this.#buf;
    const ve = f[i * STRIDE + VE] as number;
    let n = 0;
    let digits = 0;
    for (let k = f[i * STRIDE + VS] as number; k < ve; k++) {
      const c = buf[k] as number;
      if (c === 0x2c) return -2;
      const d = c - 0x30;
      if (d < 0 || d > 9 || ++digits > 15) {
        for (let j = k + 1; j < ve; j++) if (buf[j] === 0x2c) return -2;
        return -1;
      }
      n = n * 10 + d;
    }
    return digits === 0 ? -1 : n;
  }

  /** The i-th field, in the order they came. */
  at(i: number): HttpHeader | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const f = this.#f;
    const ls = f[i * STRIDE + LS] as number;
    return { name: this.nameAt(i), value: this.valueAt(i), offset: this.#at + ls, length: (f[i * STRIDE + LE] as number) - ls };
  }

  *[Symbol.iterator](): IterableIterator<HttpHeader> {
    for (let i = 0; i < this.length; i++) yield this.at(i) as HttpHeader;
  }

  toJSON(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.length; i++) out.push([this.nameAt(i), this.valueAt(i)]);
    return out;
  }

  /** @internal a field: name, value and line as indexes into the head's bytes. */
  add(ns: number, ne: number, vs: number, ve: number, ls: number, le: number): void {
    this.#f.push(ns, ne, vs, ve, ls, le);
  }

  /** @internal an obs-fold continuation of the last field: its value goes on after a space (RFC 9112 §5.2). */
  fold(vs: number, ve: number, le: number): void {
    const last = this.length - 1;
    const joined = `${this.valueAt(last)} ${this.#buf.toString('latin1', vs, ve)}`;
    (this.#folded ??= new Map()).set(last, joined);
    this.#f[last * STRIDE + LE] = le;
  }
}
