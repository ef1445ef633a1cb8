/**
 * One connection to the control socket: request lines in, one reply line each, answered one at a
 * time and in order. Whatever a client does, palisade holds little for it: nothing more is read
 * while a request is being answered or while the replies wait for the client to read them, a
 * line has a bound, a client that sends no request for a while is closed, and what a client that
 * left had queued is not answered. A lasting request (`ctl trace`) streams lines before its reply;
 * while it lasts the client is read on, so that its leaving is seen at once (the request's signal
 * aborts), and a client that does not read them misses lines rather than have palisade hold them.
 */
import type { Socket } from 'node:net';
import { serializeError } from './workers.ts';
import type { CtlReply, CtlRequest } from './control.ts';

/** What a request's handler has of its connection. */
export interface CtlSession {
  /** Aborted when the client goes away: a lasting request stops then. */
  readonly signal: AbortSignal;
  /** A line before the reply; false when it was left out (the client has not read enough of those before it). */
  stream(line: object): boolean;
}

export type CtlHandler = (req: CtlRequest, session: CtlSession) => Promise<unknown>;

export interface ConnectionLimits {
  /** Close a connection after this long without a request (or without reading its replies). */
  idleMs: number;
}

/** A request line can be no longer than this (a command and a path). */
const MAX_LINE = 64 * 1024;

/** Replies a client has not read yet, past which its requests wait: what a client can make palisade hold. */
const MAX_UNREAD = 64 * 1024;

/** Streamed lines a client has not read yet, past which more are left out (a trace is a few KiB). */
const MAX_STREAM_UNREAD = 1024 * 1024;

/** Requests that last, streaming lines before their reply, until done or until the client goes. */
const LASTING: ReadonlySet<CtlRequest['cmd']> = new Set(['trace']);

export function serve(socket: Socket, handle: CtlHandler, limits: ConnectionLimits): void {
  let input = '';
  let busy = false;
  /** A lasting request is being answered: the client is read meanwhile, to see it go. */
  let lasting = false;
  /** The request being answered: aborted when the client goes. */
  let current: AbortController | null = null;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    if (!socket.destroyed) idle = setTimeout(() => socket.destroy(), limits.idleMs).unref();
  };
  const tooLong = (): void => {
    input = '';
    send(socket, { ok: false, error: { code: 'PAL_ERR_CTL', message: `request line too long (at most ${MAX_LINE} characters)` } });
    socket.end(() => socket.destroy());
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    // A client that went away gets nothing more: what it had queued is not answered.
    for (let nl = input.indexOf('\n'); nl >= 0 && !socket.destroyed; nl = input.indexOf('\n')) {
      if (nl > MAX_LINE) {
        tooLong();
        return;
      }
      const line = input.slice(0, nl);
      input = input.slice(nl + 1);
      if (line.trim() === '') continue;
      clearTimeout(idle);
      const decoded = decode(line);
      if ('ok' in decoded) send(socket, decoded);
      else {
        const controller = new AbortController();
        current = controller;
        if (LASTING.has(decoded.cmd)) {
          lasting = true;
          socket.resume();
        }
        const session: CtlSession = { signal: controller.signal, stream: (l) => stream(socket, l) };
        const reply = await answer(decoded, handle, session);
        current = null;
        lasting = false;
        send(socket, reply);
      }
      armIdle();
      if (socket.writableLength > MAX_UNREAD) await drained(socket);
    }
    busy = false;
    if (socket.destroyed) return;
    if (input.length > MAX_LINE) tooLong();
    else socket.resume();
  };

  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearTimeout(idle);
    input = '';
    current?.abort();
  });
  socket.on('data', (chunk: string) => {
    input += chunk;
    // A lasting request: read on to see the client go; what it sends meanwhile waits its turn, a line at most.
    if (lasting) {
      if (input.length > MAX_LINE) tooLong();
      return;
    }
    // Nothing more is read until what came is answered: input stays within a chunk and a line.
    socket.pause();
    void pump();
  });
  armIdle();
}

/** Resolves once the client has read enough of its replies, or has gone. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || !socket.writableNeedDrain) {
      resolve();
      return;
    }
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

export function send(socket: Socket, r: CtlReply): void {
  if (!socket.destroyed && !socket.writableEnded) socket.write(`${JSON.stringify(r)}\n`);
}

function stream(socket: Socket, line: object): boolean {
  if (socket.destroyed || socket.writableEnded || socket.writableLength > MAX_STREAM_UNREAD) return false;
  socket.write(`${JSON.stringify(line)}\n`);
  return true;
}

/** The request a line holds, or the error reply it gets. */
function decode(line: string): CtlRequest | CtlReply {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: { code: 'PAL_ERR_CTL', message: 'a request is one JSON object per line' } };
  }
  if (!isRequest(req)) {
    return { ok: false, error: { code: 'PAL_ERR_CTL', message: 'unknown request; commands: status, stats, reload, loglevel, trace, stop' } };
  }
  return req;
}

async function answer(req: CtlRequest, handle: CtlHandler, session: CtlSession): Promise<CtlReply> {
  try {
    return { ok: true, result: await handle(req, session) };
  } catch (err) {
    return { ok: false, error: serializeError(err) };
  }
}

function isRequest(x: unknown): x is CtlRequest {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as { cmd?: unknown; rules?: unknown; level?: unknown; select?: unknown; queue?: unknown; packets?: unknown; seconds?: unknown };
  const number = (v: unknown): boolean => v === undefined || typeof v === 'number';
  switch (r.cmd) {
    case 'status':
    case 'stats':
    case 'stop':
      return true;
    case 'reload':
      return r.rules === undefined || typeof r.rules === 'string';
    case 'loglevel':
      return typeof r.level === 'string';
    // The selection and the numbers' ranges are the handler's to check: it says what is wrong.
    case 'trace':
      return typeof r.select === 'object' && r.select !== null && number(r.queue) && number(r.packets) && number(r.seconds);
    default:
      return false;
  }
}
