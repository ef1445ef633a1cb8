/**
 * TcpStream: one streamed consumer's view of one direction of a connection (design §3,
 * "Streamed rules and flow dissectors"). A streamed rule or flow dissector reads it with awaits;
 * each read waits for bytes that have not arrived yet.
 *
 * Chunks are shared, never copied on the way in: they are views of the held frames' own copies
 * or of the reassembler's out-of-order pieces, neither of which is ever written again. A read
 * that fits in one chunk returns a view; one that spans chunks returns a new Buffer.
 *
 * What the consumer has finished with: a read() call says the consumer is done with every byte
 * before its position (it has looked and not acted), so the packets carrying them may go. That
 * position is `committed`; ending the run commits everything.
 */
import { ruleInvalid } from '../../core/errors.ts';

/** What a stream tells whoever holds the packets (hold.ts). */
export interface StreamOwner {
  /** The consumer is done with bytes before `stream.committed`. */
  committed(stream: TcpStream): void;
  /** The bytes from stream offset `at`: `erase` of them go, `insert` goes before them (throws when the stream cannot be edited). */
  edit(at: number, erase: number, insert: Buffer): void;
}

/** What a stream tells whoever runs its consumer (the engine's scheduler). */
export interface StreamScheduler {
  /** The consumer waits for data that has not arrived (it was running). */
  blocked(stream: TcpStream): void;
  /** What a waiting consumer waits for has come: resume() it when its turn comes. */
  ready(stream: TcpStream): void;
}

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;

type Waiter = () => boolean;

export class TcpStream {
  readonly #owner: StreamOwner;
  readonly #scheduler: StreamScheduler;
  #chunks: Buffer[] = [];
  /** Read offset inside #chunks[0]. */
  #head = 0;
  #available = 0;
  #position: number;
  #committed: number;
  #ended = false;
  #waiter: Waiter | null = null;
  /** Where the next readLine() resumes looking for LF, relative to position (no rescans). */
  #scanned = 0;
  /** The stream was cut short (its hold cap was reached): `eof` came early. */
  truncated = false;
  /** @internal the name of the rule or dissector reading it, for alerts and errors. */
  runName = '';
  /** @internal the frame that brought its latest bytes: an alert raised by its reader names it. */
  lastFrame = 0;
  /** Announced ready and not resumed yet. */
  #readyAnnounced = false;

  /** @internal `offset`: the stream position of the first byte it will get. */
  constructor(owner: StreamOwner, scheduler: StreamScheduler, offset: number) {
    this.#owner = owner;
    this.#scheduler = scheduler;
    this.#position = offset;
    this.#committed = offset;
  }

  /** Bytes arrived and not read yet. */
  get available(): number {
    return this.#available;
  }
  /** Stream offset of the next byte read() returns (0 = the first byte after the SYN). */
  get position(): number {
    return this.#position;
  }
  /** The stream ended and every byte was read. */
  get eof(): boolean {
    return this.#ended && this.#available === 0;
  }
  /** @internal what the consumer has finished with (Infinity once it stopped reading). */
  get committed(): number {
    return this.#committed;
  }
  /** @internal the stream has ended (connection closed, flow dropped, or cut at the hold cap). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * `n` bytes, or fewer at the end of the stream; without `n`, whatever has arrived (at least
   * one byte). Null at the end of the stream. The bytes are the stream's own (a held frame's
   * copy, or a new Buffer), never written again: unlike receiveData's `data`, keep them as they are.
   */
  read(n?: number): Promise<Buffer | null> {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) return Promise.reject(ruleInvalid(`TcpStream.read(${n})`, 'want a non-negative integer'));
    this.#commit();
    const want = n ?? 1;
    const take = (): Buffer | null => this.#take(n === undefined ? this.#available : Math.min(n, this.#available));
    if (this.#available >= want || this.#ended) return Promise.resolve(want === 0 ? Buffer.alloc(0) : take());
    return this.#wait(() => this.#available >= want || this.#ended, take);
  }

  /** @internal resumes the waiting consumer if what it waits for is there; true if it did. */
  resume(): boolean {
    this.#readyAnnounced = false;
    const w = this.#waiter;
    if (w === null || !w()) return false;
    this.#waiter = null;
    return true;
  }

  /** The next line as latin1 text (every byte one char), without its LF or CRLF; null at the end. */
  readLine(): Promise<string | null> {
    this.#commit();
    const now = this.#lineNow();
    if (now !== undefined) return Promise.resolve(now);
    return this.#wait(
      () => this.#findLf() >= 0 || this.#ended,
      () => this.#lineNow() ?? null,
    );
  }

  /** Every line, as readLine() gives them, until the end of the stream. */
  lines(): AsyncIterableIterator<string> {
    // A plain iterator rather than an async generator: one promise per line, not three.
    const it: AsyncIterableIterator<string> = {
      next: () => this.readLine().then((value): IteratorResult<string> => (value === null ? { done: true, value: undefined } : { done: false, value })),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /**
   * `n` bytes (at least one without `n`) once they have arrived, or fewer at the end of the
   * stream, without reading them: the position stays, and the packets carrying them stay held.
   * What to wait on before editing bytes that have not come yet (Haka's `iter:wait()`).
   */
  peek(n?: number): Promise<Buffer | null> {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) return Promise.reject(ruleInvalid(`TcpStream.peek(${n})`, 'want a non-negative integer'));
    const want = n ?? 1;
    const look = (): Buffer | null => this.#look(n === undefined ? this.#available : Math.min(n, this.#available));
    if (this.#available >= want || this.#ended) return Promise.resolve(look());
    return this.#wait(() => this.#available >= want || this.#ended, look);
  }

  /**
   * Inserts `bytes` into the stream at the read position: the receiver gets them before the
   * bytes not read yet; this reader does not read them. The connection's later sequence numbers,
   * and the acknowledgments coming back, are shifted to match (design §3). Throws
   * PAL_ERR_REWRITE when the stream's packets are not held (--pass-through).
   */
  insert(bytes: Uint8Array | string): void {
    this.#owner.edit(this.#position, 0, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
  }

  /** The next `n` bytes (arrived already: peek() for them first) never reach the receiver, and this reader skips them. */
  erase(n: number): void {
    this.#checkArrived('erase', n);
    this.#owner.edit(this.#position, n, EMPTY);
    this.#skip(n);
  }

  /** The next `n` bytes (arrived already) are replaced by `bytes` for the receiver; this reader skips them. */
  replace(n: number, bytes: Uint8Array | string): void {
    this.#checkArrived('replace', n);
    this.#owner.edit(this.#position, n, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes));
    this.#skip(n);
  }

  /** The bytes as they arrive, until the end of the stream. */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) yield chunk;
  }

  // ---- producer side (the tracker) ------------------------------------------------------------

  /** @internal in-order bytes; `chunk` must stay unchanged for as long as the stream holds it. */
  push(chunk: Buffer): void {
    if (this.#ended || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
    this.#wake();
  }

  /** @internal no more bytes will come. */
  end(truncated = false): void {
    if (this.#ended) return;
    this.#ended = true;
    if (truncated) this.truncated = true;
    this.#wake();
  }

  /** @internal the consumer is gone (returned or threw): it holds nothing back any more. */
  finish(): void {
    this.#committed = Infinity;
    this.#ended = true;
    this.#chunks = [];
    this.#available = 0;
    this.#waiter = null;
    this.#owner.committed(this);
  }

  /** @internal the consumer is done with what it read (flow.send()). */
  commit(): void {
    this.#commit();
  }

  // ---- internals --------------------------------------------------------------------------------

  #checkArrived(what: string, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw ruleInvalid(`TcpStream.${what}(${n})`, 'want a non-negative integer');
    if (n > this.#available) throw ruleInvalid(`TcpStream.${what}(${n})`, `only ${this.#available} bytes have arrived past the read position: await stream.peek(${n}) first`);
  }

  /** The next `n` (<= available) bytes, not taken: a view when they sit in one chunk. */
  #look(n: number): Buffer | null {
    if (n === 0) return this.#ended && this.#available === 0 ? null : Buffer.alloc(0);
    const parts: Buffer[] = [];
    let left = n;
    for (let i = 0; left > 0; i++) {
      const c = this.#chunks[i] as Buffer;
      const start = i === 0 ? this.#head : 0;
      const k = Math.min(c.length - start, left);
      parts.push(c.subarray(start, start + k));
      left -= k;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** Passes over `n` (<= available) bytes. */
  #skip(n: number): void {
    if (n > 0) this.#take(n);
  }

  #commit(): void {
    if (this.#position > this.#committed) {
      this.#committed = this.#position;
      this.#owner.committed(this);
    }
  }

  #wait<T>(ready: () => boolean, value: () => T): Promise<T> {
    if (this.#waiter !== null) return Promise.reject(ruleInvalid('TcpStream', 'one read at a time (await the previous read first)'));
    return new Promise<T>((resolve) => {
      this.#waiter = () => {
        if (!ready()) return false;
        resolve(value());
        return true;
      };
      this.#scheduler.blocked(this);
    });
  }

  /** Consumers resume one at a time, in order, when the engine settles (not inside a packet). */
  #wake(): void {
    if (this.#waiter === null || this.#readyAnnounced) return;
    this.#readyAnnounced = true;
    this.#scheduler.ready(this);
  }

  /** Takes `n` (<= available) bytes: a view when they sit in one chunk. */
  #take(n: number): Buffer | null {
    if (n === 0) return this.#ended ? null : Buffer.alloc(0);
    const first = this.#chunks[0] as Buffer;
    let out: Buffer;
    if (first.length - this.#head >= n) {
      out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.#chunks[0] as Buffer;
        const k = Math.min(c.length - this.#head, n - at);
        c.copy(out, at, this.#head, this.#head + k);
        at += k;
        this.#head += k;
        if (this.#head === c.length) {
          this.#chunks.shift();
          this.#head = 0;
        }
      }
    }
    this.#available -= n;
    this.#position += n;
    this.#scanned = Math.max(0, this.#scanned - n);
    return out;
  }

  /** Offset of the next LF from the read position, or -1; remembers how far it looked. */
  #findLf(): number {
    let base = 0;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i] as Buffer;
      const start = i === 0 ? this.#head : 0;
      const len = c.length - start;
      if (base + len > this.#scanned) {
        const from = Math.max(0, this.#scanned - base);
        const at = c.indexOf(LF, start + from);
        if (at >= 0) return base + (at - start);
      }
      base += len;
    }
    this.#scanned = base;
    return -1;
  }

  /** A complete line if one is there (or the rest at the end of the stream); undefined to wait. */
  #lineNow(): string | null | undefined {
    const lf = this.#findLf();
    if (lf < 0) {
      if (!this.#ended) return undefined;
      if (this.#available === 0) return null;
      return (this.#take(this.#available) as Buffer).toString('latin1');
    }
    const line = this.#take(lf + 1) as Buffer;
    const end = line.length >= 2 && line[line.length - 2] === CR ? line.length - 2 : line.length - 1;
    return line.toString('latin1', 0, end);
  }
}
