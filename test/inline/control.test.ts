/**
 * The control socket: `palisade run --socket PATH` replaces a socket a dead palisade left,
 * refuses one a live palisade answers on, and never removes anything that is not a socket; the
 * server holds a bounded amount for any client, however many there are or however they behave.
 * Plain unix sockets in a temporary directory (the directory checks chown to another uid: root).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenControl } from '../../core/inline/control.ts';

const dir = mkdtempSync(join(tmpdir(), 'pal-ctl-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const answer = (): Promise<unknown> => Promise.resolve({ ok: true });

describe('the control socket', () => {
  it('refuses a regular file, a directory or a link at --socket and leaves them as they were', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'precious\n');
    await expect(listenControl(file, answer)).rejects.toMatchObject({ code: 'PAL_ERR_CTL_SOCKET', message: expect.stringMatching(/notes\.txt.*is a file, not a socket/) as unknown });
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    const sub = join(dir, 'subdir');
    mkdirSync(sub);
    await expect(listenControl(sub, answer)).rejects.toThrow(/is a directory, not a socket/);
    expect(lstatSync(sub).isDirectory()).toBe(true);
    const link = join(dir, 'link');
    symlinkSync(file, link);
    await expect(listenControl(link, answer)).rejects.toThrow(/is a symbolic link, not a socket/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('replaces a socket left by a process that is gone, and removes its own on close', async () => {
    const path = join(dir, 'stale.sock');
    // A socket file nobody listens on: bound by a process that then exits without removing it.
    const made = spawnSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
    expect(made.status).toBe(0);
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await listenControl(path, answer);
    expect(lstatSync(path).isSocket()).toBe(true);
    await expect(listenControl(path, answer)).rejects.toThrow(/another palisade is running on it/);
    server.close();
    expect(existsSync(path)).toBe(false);
  });
});

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** What the server sends until it closes the connection, or until `ms` have passed. */
function received(s: Socket, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => (text += chunk));
    const timer = setTimeout(() => {
      resolve({ text, closed: false });
    }, ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

/** Waits until `read()` has not changed for `quietMs`. */
async function settled(read: () => number, quietMs: number): Promise<number> {
  let last = read();
  for (;;) {
    await sleep(quietMs);
    if (read() === last) return last;
    last = read();
  }
}

describe('the control socket under a client that misbehaves', () => {
  it('stops reading requests while their replies are not read, and drops what a client that left had queued', async () => {
    const path = join(dir, 'pipelined.sock');
    let calls = 0;
    const big = 'x'.repeat(1024);
    const server = await listenControl(path, () => {
      calls++;
      return Promise.resolve(big);
    });
    try {
      // 20,000 pipelined requests, each answered with over 1 KiB, and the replies never read:
      // everything answered waits in the kernel's socket buffers and in palisade's.
      const client = await connect(path);
      client.pause();
      const n = 20_000;
      client.write('{"cmd":"status"}\n'.repeat(n));
      const answered = await settled(() => calls, 300);
      // Two socket buffers of the kernel's (about 200 KiB each) and palisade's bound (64 KiB)
      // hold a few hundred replies; answering all 20,000 would have buffered 20 MB.
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(1500);
      client.destroy();
      await sleep(300);
      expect(calls).toBeLessThanOrEqual(answered + 1);
    } finally {
      server.close();
    }
  });

  it('does not answer the requests queued by a client that has gone', async () => {
    const path = join(dir, 'gone.sock');
    let calls = 0;
    const server = await listenControl(path, async () => {
      calls++;
      await sleep(10);
      return { ok: true };
    });
    try {
      const client = await connect(path);
      await new Promise<void>((resolve) => client.write('{"cmd":"status"}\n'.repeat(200), () => resolve()));
      client.destroy();
      // Answering all 200 would take 2 s.
      await sleep(600);
      const after = calls;
      expect(after).toBeLessThan(10);
      await sleep(300);
      expect(calls).toBe(after);
    } finally {
      server.close();
    }
  });

  it('refuses connections past its cap with one error line, and takes them again once one closes', async () => {
    const path = join(dir, 'cap.sock');
    const server = await listenControl(path, answer, { maxConnections: 3 });
    try {
      const open = await Promise.all([connect(path), connect(path), connect(path)]);
      const fourth = await connect(path);
      const refused = await received(fourth, 2000);
      expect(refused.closed).toBe(true);
      expect(refused.text.split('\n')).toEqual([expect.any(String), '']);
      expect(JSON.parse(refused.text)).toEqual({ ok: false, error: { code: 'PAL_ERR_CTL', message: expect.stringMatching(/^too many control connections \(3\)/) as unknown } });
      // The three that were let in are served.
      const [first] = open;
      first.write('{"cmd":"status"}\n');
      const r = received(first, 300);
      expect((await r).text).toBe('{"ok":true,"result":{"ok":true}}\n');
      first.destroy();
      await sleep(50);
      const again = await connect(path);
      again.write('{"cmd":"status"}\n');
      expect((await received(again, 300)).text).toBe('{"ok":true,"result":{"ok":true}}\n');
      for (const s of [...open, again]) s.destroy();
    } finally {
      server.close();
    }
  });

  it('closes a connection that sends no request for the idle time, but not one waiting for its answer', async () => {
    const path = join(dir, 'idle.sock');
    const server = await listenControl(
      path,
      async (req) => {
        if (req.cmd === 'reload') await sleep(600);
        return { ok: true };
      },
      { idleMs: 200 },
    );
    try {
      const silent = await connect(path);
      const t0 = performance.now();
      expect((await received(silent, 2000)).closed).toBe(true);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
      // A partial line is not a request: it does not keep the connection open.
      const dribbling = await connect(path);
      const dribbled = received(dribbling, 2000);
      const drip = setInterval(() => dribbling.write(' '), 50);
      expect((await dribbled).closed).toBe(true);
      clearInterval(drip);
      // A request that takes longer than the idle time is answered; the idle time starts after.
      const slow = await connect(path);
      slow.write('{"cmd":"reload"}\n');
      const answered = await received(slow, 2000);
      expect(answered.text).toBe('{"ok":true,"result":{"ok":true}}\n');
      expect(answered.closed).toBe(true);
    } finally {
      server.close();
    }
  });

  it('refuses a line longer than the bound with an error and closes the connection', async () => {
    const path = join(dir, 'long-line.sock');
    let calls = 0;
    const server = await listenControl(path, () => {
      calls++;
      return Promise.resolve(null);
    });
    try {
      const client = await connect(path);
      client.write(`{"cmd":"reload","rules":"${'a'.repeat(70 * 1024)}"}\n`);
      const r = await received(client, 2000);
      expect(r.closed).toBe(true);
      expect(r.text).toMatch(/^\{"ok":false,"error":\{"code":"PAL_ERR_CTL","message":"request line too long[^\n]*\n$/);
      expect(calls).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('where the control socket may be', () => {
  it('refuses a path longer than a unix socket address holds (107 bytes), and leaves nothing behind', async () => {
    const sub = mkdtempSync(join(dir, 'long-'));
    const at = (bytes: number, char = 'x'): string => join(sub, char.repeat((bytes - Buffer.byteLength(`${sub}/`)) / Buffer.byteLength(char)));
    for (const path of [at(108), at(150), at(108 + ((108 - Buffer.byteLength(`${sub}/`)) % 2), 'é')]) {
      const err = await listenControl(path, answer).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PAL_ERR_CTL_SOCKET', message: expect.stringMatching(new RegExp(`is ${Buffer.byteLength(path)} bytes long; a unix socket's path can be at most 107: pass a shorter --socket`)) as unknown });
      expect(readdirSync(sub)).toEqual([]);
    }
    // 107 bytes fit.
    const fits = at(107);
    const server = await listenControl(fits, answer);
    expect(lstatSync(fits).isSocket()).toBe(true);
    server.close();
  });

  it('refuses a directory another user owns, or can write to, or a link, with a coded error', async () => {
    const nobody = join(dir, 'nobody');
    mkdirSync(nobody);
    chownSync(nobody, 65534, 65534);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const link = join(dir, 'link-dir');
    symlinkSync(mkdtempSync(join(dir, 'target-')), link);
    const cases: [string, RegExp][] = [
      [nobody, /nobody belongs to uid 65534, not to uid 0 that runs palisade: chown 0 /],
      [open, /open is writable by group and others \(mode 0777\): chmod go-w /],
      [link, /link-dir is a symbolic link/],
    ];
    for (const [d, why] of cases) {
      const path = join(d, 'palisade.sock');
      const err = await listenControl(path, answer).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PAL_ERR_CTL_SOCKET', message: expect.stringMatching(why) as unknown });
      expect(existsSync(path)).toBe(false);
    }
  });
});
