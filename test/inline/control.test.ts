/**
 * The control socket's start: `palisade run --socket PATH` replaces a socket a dead palisade
 * left, refuses one a live palisade answers on, and never removes anything that is not a socket.
 * Plain unix sockets in a temporary directory: no root needed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
