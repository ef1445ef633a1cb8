/**
 * The HTTP, TLS and DNS dissectors inline, end to end (issue 28): `palisade run --bridge br0`
 * between a client and a server namespace (netns.ts), with real endpoints at both ends: curl and
 * a Node client a byte at a time against a Node `http` server, openssl s_client and Node
 * tls.connect against a Node TLS server, dig against dnsmasq. A request, a ClientHello or a
 * query the rules (fixtures/protocols-rules.ts) deny is stopped while palisade holds it: the
 * server never reads a byte of it, the client is reset (or, over UDP, hears nothing), and an
 * allowed one on the same run gets its whole answer. Needs root; the namespaces, processes and
 * temp dir are removed even when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, sleep } from './child.ts';
import { canRun, CLIENT_IP, cleanLeftovers, createTopology, destroyTopology, sh, SERVER_IP, type Topology } from './netns.ts';

const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
const endpoints = fileURLToPath(new URL('./fixtures/protocols-endpoints.ts', import.meta.url));
const rules = fileURLToPath(new URL('./fixtures/protocols-rules.ts', import.meta.url));
const can = canRun();


/** The answer to GET /bytes/N: the alphabet over and over (protocols-endpoints.ts). */
const pattern = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(0x61 + (i % 26))).join('');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

describe.skipIf(!can.ok)(`HTTP, TLS and DNS rules inline on a bridge, with real endpoints${can.ok ? '' : ` (skipped: ${can.why})`}`, () => {
  let t: Topology | undefined;
  let dir = '';
  let servers: Child | undefined;
  let dnsmasq: Child | undefined;
  let pal: Child | undefined;
  const children: Child[] = [];
  const net = (): Topology => {
    if (t === undefined) throw new Error('no topology');
    return t;
  };
  const start = (ns: string, command: string, args: readonly string[]): Child => {
    const c = new Child(ns, command, args);
    children.push(c);
    return c;
  };
  /** Runs a command in the client namespace to its end (at most `ms`). */
  const client = async (command: string, args: readonly string[], ms = 15_000): Promise<Run> => {
    const c = start(net().client, command, args);
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), ms);
    const status = await c.exited;
    clearTimeout(timer);
    return { status, stdout: c.stdout, stderr: c.stderr, ms: performance.now() - c.started };
  };
  const node = async (...args: string[]): Promise<Record<string, unknown>> => {
    const r = await client(process.execPath, ['--import', 'tsx', endpoints, ...args]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  };
  const served = (pred: (r: Record<string, unknown>) => boolean): Record<string, unknown>[] => (servers?.records ?? []).filter(pred);
  /** What the HTTP server read from the client's port, every chunk in order. */
  const bytesFrom = (port: unknown): string =>
    served((r) => r.server === 'http' && r.event === 'data' && r.remotePort === port)
      .map((r) => String(r.text))
      .join('');
  const alerts = (): Record<string, unknown>[] => {
    let text = '';
    try {
      text = readFileSync(join(dir, 'alerts.jsonl'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  /** dnsmasq's query log lines so far. */
  const queries = (): string[] => (dnsmasq?.stderr ?? '').split('\n').filter((l) => l.includes('query['));
  // Long enough for a segment the server got to show in its log: the "never" of the assertions.
  const settle = (): Promise<void> => sleep(500);

  beforeAll(async () => {
    cleanLeftovers();
    dir = mkdtempSync(join(tmpdir(), 'pal-protocols-'));
    t = createTopology();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=allowed.example']);
    servers = start(t.server, process.execPath, ['--import', 'tsx', endpoints, 'servers', cert, key]);
    dnsmasq = start(t.server, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--log-queries',
      '--log-facility=-',
      `--listen-address=${SERVER_IP}`,
      '--bind-interfaces',
      '--address=/allowed.example/10.1.2.3',
      '--address=/denied.example/10.9.9.9',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
    pal = start(t.mid, process.execPath, [bin, 'run', rules, '--bridge', 'br0', '--queue', '0', '--socket', join(dir, 'ctl.sock'), '--no-typecheck', '--alerts', join(dir, 'alerts.jsonl')]);
    await servers.waitFor((c) => c.records.some((r) => r.event === 'listening'), 15_000, 'the HTTP and TLS servers');
    await dnsmasq.waitFor((c) => c.stderr.includes('started, version'), 10_000, 'dnsmasq');
    await pal.waitFor((c) => c.stderr.includes('palisade run: ready:'), 30_000, 'palisade run to be ready');
  }, 50_000);

  afterAll(() => {
    try {
      for (const c of children) c.proc.kill('SIGKILL');
    } finally {
      if (t !== undefined) destroyTopology(t);
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('HTTP', () => {
    const url = `http://${SERVER_IP}:8080`;

    it('an allowed request from curl gets its whole response', async () => {
      const r = await client('curl', ['-sS', '-m', '10', '-w', '\n%{http_code} %{size_download}', `${url}/bytes/100000`]);
      expect(r.status, r.stderr).toBe(0);
      const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
      expect(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)).toBe('200 100000');
      expect(body).toBe(pattern(100_000));
    });

    it.each([
      ['X-Forbidden: 1', 'http GET 10.201.0.2:8080/secret'],
      ['Host: evil.example', 'http GET evil.example/secret'],
    ])('curl with %j is reset before the server reads a byte of its request', async (header, alert) => {
      const r = await client('curl', ['-sS', '-m', '10', '-H', header, '-w', '%{local_port}', `${url}/secret`]);
      // curl 56: the connection was reset while it waited for the answer.
      expect(r.status, r.stderr).toBe(56);
      expect(r.stderr).toMatch(/reset by peer/i);
      expect(r.ms).toBeLessThan(3000);
      const port = Number(r.stdout);
      expect(port).toBeGreaterThan(0);
      await settle();
      // The connection reached the server; its request never did.
      expect(served((x) => x.server === 'http' && x.event === 'accept' && x.remotePort === port)).toHaveLength(1);
      expect(bytesFrom(port)).toBe('');
      expect(served((x) => x.event === 'request' && x.url === '/secret')).toEqual([]);
      expect(alerts().filter((a) => a.rule === 'http-deny' && a.description === `${alert} from port ${port}`)).toMatchObject([{ action: 'blocked', app_proto: 'http' }]);
    });

    it('a request written a byte at a time (Nagle off) is judged whole: an allowed one gets through byte-exact, a forbidden one never reaches the server', async () => {
      // Held bytes are not acknowledged, so a sender has no more of them in flight than its
      // congestion window allows (10 segments to start with, RFC 6928): a head in more one-byte
      // segments than that never completes. The client's window starts large enough for these.
      const route = ['route', 'replace', '10.201.0.0/24', 'dev', 'eth0', 'proto', 'kernel', 'scope', 'link', 'src', CLIENT_IP];
      sh('ip', ['-n', net().client, ...route, 'initcwnd', '100']);
      try {
        const ok = 'GET /bytes/5000 HTTP/1.1\r\nHost: allowed.example\r\nUser-Agent: bytewise\r\nConnection: close\r\n\r\n';
        const a = await node('bytewise', SERVER_IP, '8080', JSON.stringify(ok));
        expect(a.error).toBe(null);
        expect(String(a.response)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(String(a.response).endsWith(`\r\n\r\n${pattern(5000)}`)).toBe(true);
        expect(bytesFrom(a.localPort)).toBe(ok);
        expect(served((x) => x.event === 'request' && x.remotePort === a.localPort)).toMatchObject([{ url: '/bytes/5000', headers: { 'user-agent': 'bytewise' } }]);

        const bad = 'GET /secret HTTP/1.1\r\nHost: allowed.example\r\nX-Forbidden: 1\r\nConnection: close\r\n\r\n';
        const b = await node('bytewise', SERVER_IP, '8080', JSON.stringify(bad));
        expect(b).toMatchObject({ error: 'ECONNRESET', response: '' });
        await settle();
        expect(served((x) => x.server === 'http' && x.event === 'accept' && x.remotePort === b.localPort)).toHaveLength(1);
        // Not a byte: the segments before protocol detection has decided (one byte each here)
        // wait for it, then with the rest of the head for the rule, and go with the reset.
        expect(bytesFrom(b.localPort)).toBe('');
        expect(served((x) => x.event === 'request' && x.url === '/secret')).toEqual([]);
        expect(alerts().filter((x) => x.rule === 'http-deny' && x.description === `http GET allowed.example/secret from port ${String(b.localPort)}`)).toHaveLength(1);
      } finally {
        sh('ip', ['-n', net().client, ...route]);
      }
    });
  });

  describe('TLS', () => {
    const helloFor = (name: string): Record<string, unknown>[] => served((r) => r.server === 'tls' && (r.event === 'hello' || r.event === 'secure') && r.servername === name);

    it('Node tls.connect: an allowed SNI completes its handshake; a denied one is reset after its ClientHello, which the server never reads', async () => {
      const a = await node('tls', SERVER_IP, '8443', 'allowed.example');
      expect(a).toMatchObject({ secure: true, error: null, response: 'hello allowed.example\n' });
      expect(served((r) => r.event === 'secure' && r.remotePort === a.localPort)).toMatchObject([{ servername: 'allowed.example' }]);

      const d = await node('tls', SERVER_IP, '8443', 'denied.example');
      expect(d).toMatchObject({ secure: false, error: 'ECONNRESET', response: '' });
      expect(d.ms).toBeLessThan(2000);
      await settle();
      expect(served((r) => r.server === 'tls' && r.event === 'accept' && r.remotePort === d.localPort)).toHaveLength(1);
      expect(served((r) => r.event === 'secure' && r.remotePort === d.localPort)).toEqual([]);
      expect(helloFor('denied.example')).toEqual([]);
      expect(alerts().filter((x) => x.rule === 'tls-deny' && x.description === `tls denied.example from port ${String(d.localPort)}`)).toMatchObject([{ action: 'blocked', app_proto: 'tls' }]);
    });

    it('openssl s_client: the same for its own ClientHello', async () => {
      const sClient = (name: string): Promise<Run> => client('openssl', ['s_client', '-connect', `${SERVER_IP}:8443`, '-servername', name, '-ign_eof'], 10_000);
      const before = served((r) => r.event === 'secure' && r.servername === 'allowed.example').length;
      const a = await sClient('allowed.example');
      expect(a.stdout).toContain('hello allowed.example');
      expect(a.stdout).toMatch(/New, TLSv1\.3, Cipher is /);
      expect(served((r) => r.event === 'secure' && r.servername === 'allowed.example')).toHaveLength(before + 1);

      const d = await sClient('denied.example');
      expect(d.status).not.toBe(0);
      expect(d.stderr).toMatch(/errno=104|reset by peer/i);
      expect(d.stdout).not.toContain('hello');
      expect(d.ms).toBeLessThan(3000);
      await settle();
      expect(helloFor('denied.example')).toEqual([]);
      expect(alerts().filter((x) => x.rule === 'tls-deny')).toHaveLength(2);
    });
  });

  describe('DNS', () => {
    const dig = (...args: string[]): Promise<Run> => client('dig', [`@${SERVER_IP}`, '+tries=1', '+time=2', ...args], 10_000);
    const asked = (name: string): string[] => queries().filter((l) => l.includes(` ${name} from ${CLIENT_IP}`));

    it('over UDP: an allowed name resolves; a query for a denied name never reaches the resolver, and dig times out', async () => {
      const a = await dig('allowed.example', 'A', '+short');
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout.trim()).toBe('10.1.2.3');
      expect(asked('allowed.example')).toHaveLength(1);

      const d = await dig('www.denied.example', 'A');
      // dig 9: no reply from the server.
      expect(d.status, d.stdout + d.stderr).toBe(9);
      expect(d.stdout).toMatch(/timed out/);
      await settle();
      expect(queries().filter((l) => l.includes('denied.example'))).toEqual([]);
      expect(alerts().filter((x) => x.rule === 'dns-deny' && String(x.description).startsWith('dns udp www.denied.example '))).toMatchObject([{ action: 'blocked', app_proto: 'dns' }]);
    });

    it('over TCP: an allowed name resolves; a query for a denied name is reset, the resolver never gets it', async () => {
      const a = await dig('+tcp', 'allowed.example', 'A', '+short');
      expect(a.status, a.stderr).toBe(0);
      expect(a.stdout.trim()).toBe('10.1.2.3');
      expect(asked('allowed.example')).toHaveLength(2);

      const d = await dig('+tcp', 'denied.example', 'A');
      expect(d.status).not.toBe(0);
      expect(d.stdout + d.stderr).toMatch(/connection reset/i);
      expect(d.ms).toBeLessThan(1500);
      await settle();
      expect(queries().filter((l) => l.includes('denied.example'))).toEqual([]);
      expect(alerts().filter((x) => x.rule === 'dns-deny' && String(x.description).startsWith('dns tcp denied.example '))).toMatchObject([{ action: 'blocked', app_proto: 'dns' }]);
    });
  });
});
