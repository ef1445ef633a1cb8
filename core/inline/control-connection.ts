/**
 * One connection to the control socket: request lines in, one reply line each, answered one at a
 * time and in order. Whatever a client does, palisade holds little for it: nothing more is read
 * while a request is being answered or while the replies wait for the client to read them, a
 * line has a bound, a client that sends no request for a while is closed, and what a client that
 * left had queued is not answered.
 */
import type { Socket } from 'node:net';
import { serializeError } from './workers.ts';
import type { CtlReply, CtlRequest } from './control.ts';

export type CtlHandler = (req: CtlRequest) => Promise<unknown>;

export interface ConnectionLimits {
  /** Close a connection after this long without a request (or without reading its replies). */
  idleMs: number;
}

/** A request line can be no longer than this (a command and a path). */
const MAX_LINE = 64 * 1024;

/** Replies a client has not read yet, past which its requests wait: what a client can make palisade hold. */
const MAX_UNREAD = 64 * 1024;

export function serve(socket: Socket, handle: CtlHandler, limits: ConnectionLimits): void {
  let input = '';
  let busy = false;
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
      send(socket, await answer(line, handle));
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
  });
  socket.on('data', (chunk: string) => {
    input += chunk;
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
  if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
}

async function answer(line: string, handle: CtlHandler): Promise<CtlReply> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: { code: 'PAL_ERR_CTL', message: 'a request is one JSON object per line' } };
  }
  if (!isRequest(req)) {
    return { ok: false, error: { code: 'PAL_ERR_CTL', message: 'unknown request; commands: status, stats, reload, loglevel, stop' } };
  }
  try {
    return { ok: true, result: await handle(req) };
  } catch (err) {
    return { ok: false, error: serializeError(err) };
  }
}

function isRequest(x: unknown): x is CtlRequest {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as { cmd?: unknown; rules?: unknown; level?: unknown };
  switch (r.cmd) {
    case 'status':
    case 'stats':
    case 'stop':
      return true;
    case 'reload':
      return r.rules === undefined || typeof r.rules === 'string';
    case 'loglevel':
      return typeof r.level === 'string';
    default:
      return false;
  }
}
