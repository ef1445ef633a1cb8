/**
 * The control socket of `palisade run`, spoken by `palisade ctl`: a unix socket that only root
 * can open (mode 0600 in a 0700 directory), one JSON object per line each way. A request is
 * `{"cmd":"status"|"stats"|"stop"}`, `{"cmd":"reload","rules":"/abs/path.ts"}` (rules optional:
 * the running file again) or `{"cmd":"loglevel","level":"debug"}`; each gets one reply,
 * `{"ok":true,"result":…}` or `{"ok":false,"error":{"code","message"}}`.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ctlError, ctlSocketError } from '../errors.ts';
import { serializeError, type SerializedError } from './workers.ts';

export const DEFAULT_SOCKET = '/run/palisade/palisade.sock';

export type CtlRequest =
  | { cmd: 'status' }
  | { cmd: 'stats' }
  | { cmd: 'stop' }
  | { cmd: 'reload'; rules?: string }
  | { cmd: 'loglevel'; level: string };

export type CtlReply = { ok: true; result?: unknown } | { ok: false; error: SerializedError };

/** A request line can be no longer than this (a path and a command). */
const MAX_LINE = 64 * 1024;

export interface ControlServer {
  close(): void;
}

/**
 * Listens on `path`. A socket file left by a palisade that died is replaced; one that a running
 * palisade answers on is an error, and anything that is not a socket is never touched.
 */
export async function listenControl(path: string, handle: (req: CtlRequest) => Promise<unknown>): Promise<ControlServer> {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ctlSocketError(path, `cannot create ${dir} (${(err as Error).message})`);
  }
  const kind = fileKind(path);
  if (kind !== 'none') {
    if (kind !== 'socket') throw ctlSocketError(path, `is a ${kind}, not a socket: palisade removes only a socket a palisade left; pass another --socket`);
    if (await answers(path)) throw ctlSocketError(path, 'another palisade is running on it; stop it (palisade ctl stop) or pass --socket');
    try {
      unlinkSync(path);
    } catch (err) {
      throw ctlSocketError(path, `a stale socket is in the way and cannot be removed (${(err as Error).message})`);
    }
  }
  const server = createServer((socket) => {
    serve(socket, handle);
  });
  // Root only from the first moment: no window in which the socket has the umask's mode.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw ctlSocketError(path, (err as Error).message);
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.unref();
  return {
    close() {
      closeServer(server, path);
    },
  };
}

function closeServer(server: Server, path: string): void {
  server.close();
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function fileKind(path: string): 'none' | 'socket' | 'directory' | 'symbolic link' | 'file' {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? 'socket' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : 'file';
  } catch {
    return 'none';
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}

function serve(socket: Socket, handle: (req: CtlRequest) => Promise<unknown>): void {
  let buffered = '';
  let queue = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE && !buffered.includes('\n')) {
      reply(socket, { ok: false, error: { code: 'PAL_ERR_CTL', message: 'request line too long' } });
      socket.end();
      return;
    }
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      // One request at a time per connection, answered in order.
      queue = queue.then(async () => {
        reply(socket, await answer(line, handle));
      });
    }
  });
}

async function answer(line: string, handle: (req: CtlRequest) => Promise<unknown>): Promise<CtlReply> {
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

function reply(socket: Socket, r: CtlReply): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
}

/** Sends one request and waits for its reply (`palisade ctl`). */
export function request(path: string, req: CtlRequest, timeoutMs: number): Promise<CtlReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffered = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(ctlError(`palisade on ${path} did not answer '${req.cmd}' within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buffered.slice(0, nl)) as CtlReply);
      } catch {
        reject(ctlError(`palisade on ${path} sent a reply that is not JSON`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'no palisade is running there (start palisade run, or pass the --socket it was given)'
          : err.code === 'EACCES'
            ? 'permission denied (the control socket is for root only)'
            : err.message;
      reject(ctlError(`cannot reach ${path}: ${why}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!buffered.includes('\n')) reject(ctlError(`palisade on ${path} closed the connection without a reply`));
    });
  });
}
