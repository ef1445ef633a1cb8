/**
 * A message's header fields as they came: in order, duplicates kept, names as sent, each with
 * where its line sits in the stream (so that a rewrite can find it). Names compare without case
 * (RFC 9110 §5.1). Values are latin1 text, every byte one character (RFC 9110 §5.5: field
 * values are octets; text outside ASCII is the sender's business).
 */

export interface HttpHeader {
  readonly name: string;
  readonly value: string;
  /** Stream offset of the line's first byte. */
  readonly offset: number;
  /** Bytes of the line, its line end (and any folded continuation) included. */
  readonly length: number;
}

export class HttpHeaders implements Iterable<HttpHeader> {
  /** @internal */ readonly names: string[] = [];
  /** @internal */ readonly values: string[] = [];
  /** @internal */ readonly offsets: number[] = [];
  /** @internal */ readonly lengths: number[] = [];
  #lower: string[] | null = null;

  /** Fields, duplicates counted. */
  get length(): number {
    return this.names.length;
  }

  /** The first value of `name` (any case), or undefined. Several fields of one name: getAll(). */
  get(name: string): string | undefined {
    const i = this.#index(name, 0);
    return i < 0 ? undefined : this.values[i];
  }

  /** Every value of `name` (any case), in order; [] when absent. */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = this.#index(name, 0); i >= 0; i = this.#index(name, i + 1)) out.push(this.values[i] as string);
    return out;
  }

  has(name: string): boolean {
    return this.#index(name, 0) >= 0;
  }

  /** The i-th field, in the order they came. */
  at(i: number): HttpHeader | undefined {
    if (i < 0 || i >= this.names.length) return undefined;
    return { name: this.names[i] as string, value: this.values[i] as string, offset: this.offsets[i] as number, length: this.lengths[i] as number };
  }

  *[Symbol.iterator](): IterableIterator<HttpHeader> {
    for (let i = 0; i < this.names.length; i++) yield this.at(i) as HttpHeader;
  }

  toJSON(): [string, string][] {
    return this.names.map((n, i) => [n, this.values[i] as string]);
  }

  /** @internal */
  add(name: string, value: string, offset: number, length: number): void {
    this.names.push(name);
    this.values.push(value);
    this.offsets.push(offset);
    this.lengths.push(length);
    this.#lower = null;
  }

  /** @internal an obs-fold continuation: the last value goes on after a space (RFC 9112 §5.2). */
  fold(more: string, length: number): void {
    const last = this.values.length - 1;
    this.values[last] = `${this.values[last] as string} ${more}`;
    this.lengths[last] = (this.lengths[last] as number) + length;
  }

  #index(name: string, from: number): number {
    const lower = (this.#lower ??= this.names.map((n) => n.toLowerCase()));
    const want = name.toLowerCase();
    for (let i = from; i < lower.length; i++) if (lower[i] === want) return i;
    return -1;
  }
}
