/**
 * The control socket of `palisade run`, spoken by `palisade ctl`: a unix socket that only root
 * can open (mode 0600, in a directory no other user can write to), one JSON object per line
 * each way. A request is `{"cmd":"status"|"stats"|"stop"}`,
 * `{"cmd":"reload","rules":"/abs/path.ts"}` (rules optional: the running file again) or
 * `{"cmd":"loglevel","level":"debug"}`; each gets one reply,
 * `{"ok":true,"result":…}` or `{"ok":false,"error":{"code","message"}}`. One request lasts:
 * `{"cmd":"trace","select":…,"queue"?,"packets"?,"seconds"?}` streams lines before its reply
 * (`{"type":"tracing",…}`, then one `{"queue",…trace}` per traced frame) and ends when its
 * traces came, its time is up or the client goes away (core/inline/trace-requests.ts).
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ctlError, ctlSocketError } from '../errors.ts';
import { privateDirProblem } from '../private-dir.ts';
import { send, serve, type CtlHandler } from './control-connection.ts';
import type { SerializedError } from './workers.ts';
import type { FlowSelection } from '../trace/flow-selection.ts';

export const DEFAULT_SOCKET = '/run/palisade/palisade.sock';

export type CtlRequest =
  | { cmd: 'status' }
  | { cmd: 'stats' }
  | { cmd: 'stop' }
  | { cmd: 'reload'; rules?: string }
  | { cmd: 'loglevel'; level: string }
  | TraceRequest;

/** `ctl trace`: the flow, the queue (default: every queue), how many traces (default 10) and for how long at most (default 60 s). */
export interface TraceRequest {
  cmd: 'trace';
  select: FlowSelection;
  queue?: number;
  packets?: number;
  seconds?: number;
}

export type CtlReply = { ok: true; result?: unknown } | { ok: false; error: SerializedError };

/** sun_path holds 108 bytes with its NUL; a longer path is cut short (the socket appears under another name), not refused. */
const MAX_PATH = 107;

/** ctl opens one connection a command: more than this at once is a client holding them open (each is a file descriptor). */
const MAX_CONNECTIONS = 64;

/** ctl sends its request as it connects: a connection this long without one is left open by a client that is stuck or gone. */
const IDLE_MS = 30_000;

export interface ControlOptions {
  maxConnections?: number;
  idleMs?: number;
}

export interface ControlServer {
  close(): void;
}

/**
 * Listens on `path`, in a directory no other user can write to. A socket file left by a
 * palisade that died is replaced; one that a running palisade answers on is an error, and
 * anything that is not a socket is never touched.
 */
export async function listenControl(path: string, handle: CtlHandler, options: ControlOptions = {}): Promise<ControlServer> {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_PATH) throw ctlSocketError(path, `is ${bytes} bytes long; a unix socket's path can be at most ${MAX_PATH}: pass a shorter --socket`);
  const dir = dirname(path);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ctlSocketError(path, `cannot create ${dir} (${(err as Error).message})`);
  }
  // Another user who can write here could put a socket of theirs in the way, or move ours.
  const problem = privateDirProblem(dir);
  if (problem !== null) throw ctlSocketError(path, `${problem}; or pass a --socket in a directory only you can write to`);
  const kind = fileKind(path);
  if (kind !== 'none') {
    if (kind !== 'socket') throw ctlSocketError(path, `is a ${kind}, not a socket: palisade removes only a socket a palisade left; pass another --socket`);
    const state = await probe(path);
    if (state === 'live') throw ctlSocketError(path, 'another palisade is running on it; stop it (palisade ctl stop) or pass --socket');
    if (typeof state !== 'string') throw ctlSocketError(path, `cannot tell whether a palisade uses it (${state.message}); remove it if none does, or pass another --socket`);
    if (state === 'stale') {
      try {
        unlinkSync(path);
      } catch (err) {
        throw ctlSocketError(path, `a stale socket is in the way and cannot be removed (${(err as Error).message})`);
      }
    }
  }
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const limits = { idleMs: options.idleMs ?? IDLE_MS };
  let open = 0;
  const server = createServer((socket) => {
    if (open >= maxConnections) {
      refuse(socket, maxConnections);
      return;
    }
    open++;
    socket.once('close', () => {
      open--;
    });
    serve(socket, handle, limits);
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
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    closeServer(server, path);
    throw ctlSocketError(path, (err as Error).message);
  }
  server.unref();
  return {
    close() {
      closeServer(server, path);
    },
  };
}

function refuse(socket: Socket, max: number): void {
  socket.on('error', () => undefined);
  send(socket, { ok: false, error: { code: 'PAL_ERR_CTL', message: `too many control connections (${max}); close one (a stuck palisade ctl?) and try again` } });
  socket.end(() => socket.destroy());
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

/** Whether a palisade listens on the socket file: refused is a dead one's; anything else is not ours to remove. */
function probe(path: string): Promise<'live' | 'stale' | 'gone' | Error> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      // EAGAIN: its listen backlog is full, so something listens.
      resolve(err.code === 'ECONNREFUSED' ? 'stale' : err.code === 'ENOENT' ? 'gone' : err.code === 'EAGAIN' ? 'live' : err);
    });
  });
}

/** What a request streams before its reply (`ctl trace`), and a way to give up waiting (Ctrl-C). */
export interface RequestOptions {
  onLine?: (line: Record<string, unknown>) => void;
  /** Aborted: the connection is closed (palisade stops what it did for it) and the request rejects. */
  signal?: AbortSignal;
}

/** Sends one request and waits for its reply (`palisade ctl`); lines before the reply go to `onLine`. */
export function request(path: string, req: CtlRequest, timeoutMs: number, options: RequestOptions = {}): Promise<CtlReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffered = '';
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      f();
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish(() => {
        reject(ctlError(`palisade on ${path} did not answer '${req.cmd}' within ${timeoutMs / 1000} s`));
      });
    }, timeoutMs);
    const onAbort = (): void => {
      socket.destroy();
      finish(() => {
        reject(ctlError(`'${req.cmd}' was interrupted`));
      });
    };
    if (options.signal?.aborted === true) onAbort();
    options.signal?.addEventListener('abort', onAbort);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      socket.write(`${JSON.stringify(req)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0 && !done; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          socket.destroy();
          finish(() => {
            reject(ctlError(`palisade on ${path} sent a reply that is not JSON`));
          });
          return;
        }
        // The reply has `ok`; what comes before it is the request's stream.
        if (typeof parsed === 'object' && parsed !== null && 'ok' in parsed) {
          socket.end();
          finish(() => {
            resolve(parsed as CtlReply);
          });
          return;
        }
        options.onLine?.(parsed as Record<string, unknown>);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'no palisade is running there (start palisade run, or pass the --socket it was given)'
          : err.code === 'EACCES'
            ? 'permission denied (the control socket is for root only)'
            : err.message;
      finish(() => {
        reject(ctlError(`cannot reach ${path}: ${why}`));
      });
    });
    socket.on('close', () => {
      finish(() => {
        reject(ctlError(`palisade on ${path} closed the connection without a reply`));
      });
    });
  });
}
