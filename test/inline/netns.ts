/**
 * The inline test's network: three namespaces, client — bridge (palisade inline) — server, with
 * real kernel TCP stacks at both ends.
 *
 *   <tag>-c: eth0 10.201.0.1/24 fd77:201::1/64 ── veth ── pc ┐
 *                                                            br0 10.201.0.254/24 fd77:201::fe/64   <tag>-m (palisade)
 *   <tag>-s: eth0 10.201.0.2/24 fd77:201::2/64 ── veth ── ps ┘
 *
 * Names carry the test process's pid, so a run never touches another's namespaces, and a run
 * that died (its pid gone) is cleaned up by the next one. Traffic stays inside the namespaces.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const PREFIX = 'pal-inl-';
export const CLIENT_IP = '10.201.0.1';
export const SERVER_IP = '10.201.0.2';
export const BRIDGE_IP = '10.201.0.254';
export const CLIENT_IP6 = 'fd77:201::1';
export const SERVER_IP6 = 'fd77:201::2';
export const BRIDGE_IP6 = 'fd77:201::fe';

export interface Topology {
  client: string;
  mid: string;
  server: string;
}

export function sh(command: string, args: readonly string[], options: { input?: string } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, ...options });
}

/** Runs a command inside a namespace and returns its stdout. */
export function inNs(ns: string, command: string, args: readonly string[], timeout = 60_000): string {
  return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });
}

/** Starts a long-running command inside a namespace. */
export function spawnInNs(ns: string, command: string, args: readonly string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export function canRun(): { ok: boolean; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'Linux only' };
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root (network namespaces, NFQUEUE)' };
  for (const tool of ['ip', 'iptables', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, why: `needs ${tool}` };
    }
  }
  return { ok: true, why: '' };
}

function killAllIn(ns: string): void {
  let pids: string[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', ns]).split('\n').filter((p) => p !== '');
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

function deleteNs(ns: string): void {
  killAllIn(ns);
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {
    // Not there.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces of earlier runs whose test process is gone (a crash, a kill). */
export function cleanLeftovers(): void {
  let names: string[] = [];
  try {
    names = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0] ?? '');
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-[cmsx]$`).exec(name);
    if (m !== null && !alive(Number(m[1]))) deleteNs(name);
  }
}

export function createTopology(): Topology {
  const tag = `${PREFIX}${process.pid}`;
  const t: Topology = { client: `${tag}-c`, mid: `${tag}-m`, server: `${tag}-s` };
  destroyTopology(t);
  const ip = (...args: string[]): string => sh('ip', args);
  for (const ns of [t.client, t.mid, t.server]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ip('link', 'add', 'eth0', 'netns', t.client, 'type', 'veth', 'peer', 'name', 'pc', 'netns', t.mid);
  ip('link', 'add', 'eth0', 'netns', t.server, 'type', 'veth', 'peer', 'name', 'ps', 'netns', t.mid);
  ip('-n', t.mid, 'link', 'add', 'br0', 'type', 'bridge');
  for (const port of ['pc', 'ps']) {
    ip('-n', t.mid, 'link', 'set', port, 'master', 'br0');
    ip('-n', t.mid, 'link', 'set', port, 'up');
  }
  // The bridge's own address: the host's route to the endpoints, for the RSTs it injects.
  ip('-n', t.mid, 'addr', 'add', `${BRIDGE_IP}/24`, 'dev', 'br0');
  // IPv6 without duplicate address detection: addresses usable at once.
  ip('-n', t.mid, 'addr', 'add', `${BRIDGE_IP6}/64`, 'dev', 'br0', 'nodad');
  ip('-n', t.mid, 'link', 'set', 'br0', 'up');
  ip('-n', t.client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0');
  ip('-n', t.client, 'addr', 'add', `${CLIENT_IP6}/64`, 'dev', 'eth0', 'nodad');
  ip('-n', t.client, 'link', 'set', 'eth0', 'up');
  ip('-n', t.server, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'eth0');
  ip('-n', t.server, 'addr', 'add', `${SERVER_IP6}/64`, 'dev', 'eth0', 'nodad');
  ip('-n', t.server, 'link', 'set', 'eth0', 'up');
  return t;
}

/** Kills every process inside the namespaces and deletes them (and with them the veths and the bridge). */
export function destroyTopology(t: Topology): void {
  for (const ns of [t.client, t.mid, t.server]) deleteNs(ns);
}
