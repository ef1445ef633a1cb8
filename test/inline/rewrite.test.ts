/**
 * Rules that write packets, inline, end to end (issue 29, item 1): `palisade run --bridge br0`
 * between a client and a server namespace (netns.ts), with the kernel's own stacks at both ends,
 * and rules (fixtures/rewrite-rules.ts) that mask a token in a tracked connection's segments,
 * complement every byte of a 20 MiB upload, set the TTL and TOS of a connection's segments, and
 * send UDP datagrams to another port, longer or only re-addressed. The verdict carries the written bytes, and the
 * receiving stack, which drops a segment or datagram whose checksum or lengths are wrong, takes
 * them: the server reads exactly the written bytes, on the written port, and a capture on its
 * side shows the written header fields with every checksum valid. Needs root; the namespaces,
 * processes and temp dir are removed even when a test fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsharkFields } from '../tshark-fields.ts';
import { Child, sleep } from './child.ts';
import { canRun, CLIENT_IP, cleanLeftovers, createTopology, destroyTopology, inNs, SERVER_IP, type Topology } from './netns.ts';

const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
const endpoints = fileURLToPath(new URL('./fixtures/rewrite-endpoints.ts', import.meta.url));
const rules = fileURLToPath(new URL('./fixtures/rewrite-rules.ts', import.meta.url));
const can = canRun();


/** What the rule makes of a line: each `secret-token-` and its digits become as many `X`. */
const masked = (text: string): string => text.replace(/secret-token-\d*/g, (m) => 'X'.repeat(m.length));

/** tshark's checksum.status: 1 good. */
const GOOD = '1';

/** The segments and datagrams a namespace's stack dropped for a bad checksum (/proc/net/snmp InCsumErrors). */
function csumErrors(ns: string): { tcp: number; udp: number } {
  const lines = inNs(ns, 'cat', ['/proc/net/snmp']).split('\n');
  const counter = (proto: string): number => {
    const [names, values] = lines.filter((l) => l.startsWith(`${proto}: `)).map((l) => l.split(' '));
    const at = names?.indexOf('InCsumErrors') ?? -1;
    return at < 0 ? Number.NaN : Number(values?.[at]);
  };
  return { tcp: counter('Tcp'), udp: counter('Udp') };
}

describe.skipIf(!can.ok)(`rules that write packets, inline on a bridge, with real endpoints${can.ok ? '' : ` (skipped: ${can.why})`}`, () => {
  let t: Topology | undefined;
  let dir = '';
  let servers: Child | undefined;
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
  /** An endpoint in the client namespace, run to its end (at most `ms`); its last JSON line. */
  const node = async (args: readonly string[], ms = 25_000): Promise<Record<string, unknown>> => {
    const c = start(net().client, process.execPath, ['--import', 'tsx', endpoints, ...args]);
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), ms);
    const status = await c.exited;
    clearTimeout(timer);
    expect(status, c.stderr).toBe(0);
    return JSON.parse(c.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  };
  const served = (pred: (r: Record<string, unknown>) => boolean): Record<string, unknown>[] => (servers?.records ?? []).filter(pred);
  /** The checksum errors the server's stack counted since `before`: 0 each when it took every packet palisade wrote. */
  const droppedSince = (before: { tcp: number; udp: number }): { tcp: number; udp: number } => {
    const now = csumErrors(net().server);
    return { tcp: now.tcp - before.tcp, udp: now.udp - before.udp };
  };
  /** Every byte the TCP server on `port` read from the client's `remotePort`, in order. */
  const bytesFrom = (port: number, remotePort: unknown): Buffer =>
    Buffer.concat(served((r) => r.event === 'data' && r.port === port && r.remotePort === remotePort).map((r) => Buffer.from(String(r.hex), 'hex')));

  beforeAll(async () => {
    cleanLeftovers();
    dir = mkdtempSync(join(tmpdir(), 'pal-rewrite-'));
    t = createTopology();
    servers = start(t.server, process.execPath, ['--import', 'tsx', endpoints, 'servers']);
    pal = start(t.mid, process.execPath, [bin, 'run', rules, '--bridge', 'br0', '--queue', '0', '--socket', join(dir, 'ctl.sock'), '--no-typecheck']);
    await servers.waitFor((c) => c.records.some((r) => r.event === 'listening'), 15_000, 'the servers');
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

  it('TCP: a token in a tracked connection is masked with as many X, the server reads the masked line byte-exact, and the connection ends normally', async () => {
    const text = 'login alice secret-token-1234 then secret-token-98765 bye\n';
    const before = csumErrors(net().server);
    const r = await node(['line', SERVER_IP, '9000', JSON.stringify(text)]);
    expect(droppedSince(before), 'what the server dropped for a bad checksum').toEqual({ tcp: 0, udp: 0 });
    expect(r).toMatchObject({ error: null, response: `got ${text.length} bytes\n` });
    const got = bytesFrom(9000, r.localPort);
    expect(got.toString('latin1')).toBe('login alice XXXXXXXXXXXXXXXXX then XXXXXXXXXXXXXXXXXX bye\n');
    expect(got.toString('latin1')).toBe(masked(text));
    expect(served((x) => x.event === 'accept' && x.port === 9000 && x.remotePort === r.localPort)).toHaveLength(1);
    expect(served((x) => x.event === 'error')).toEqual([]);
  });

  it('TCP: 20 MiB whose every byte a rule complements, segment by segment, arrive whole and complemented', async () => {
    const size = 20 * 1024 * 1024;
    const before = csumErrors(net().server);
    const r = await node(['bulk', SERVER_IP, '9001', String(size)]);
    expect(droppedSince(before), 'what the server dropped for a bad checksum').toEqual({ tcp: 0, udp: 0 });
    expect(r.error).toBe(null);
    expect(r.sent).toBe(size);
    const answer = JSON.parse(String(r.response)) as Record<string, unknown>;
    expect(answer).toMatchObject({ event: 'bulk', remotePort: r.localPort, bytes: size });
    expect(answer.sha256).not.toBe(r.sha256);
    expect(answer.sha256).toBe(r.complementSha256);
    expect(served((x) => x.event === 'error')).toEqual([]);
  });

  /** Sends `payloads` to `port` from the client; what the UDP servers on each port read from its port, sorted. */
  const sendUdp = async (port: number, payloads: string[], wanted: number): Promise<(p: number) => string[]> => {
    const r = await node(['udp', SERVER_IP, String(port), JSON.stringify(payloads)]);
    expect(r.sent).toBe(payloads.length);
    const got = (p: number): string[] =>
      served((x) => x.event === 'datagram' && x.port === p && x.remotePort === r.localPort)
        .map((x) => Buffer.from(String(x.hex), 'hex').toString('latin1'))
        .sort();
    const deadline = performance.now() + 1500;
    while (got(wanted).length < payloads.length && performance.now() < deadline) await sleep(20);
    return got;
  };

  it('UDP: datagrams for port 5000 reach port 5001 instead, each longer by the bytes appended', async () => {
    const payloads = ['hello', 'a'.repeat(1000), 'the last one'];
    const before = csumErrors(net().server);
    const got = await sendUdp(5000, payloads, 5001);
    expect(droppedSince(before), 'what the server dropped for a bad checksum').toEqual({ tcp: 0, udp: 0 });
    expect(got(5001)).toEqual(payloads.map((p) => `${p}|rewritten`).sort());
    expect(got(5000)).toEqual([]);
  });

  it('UDP: datagrams for port 5002 whose only write is their port (the checksum updated, not computed) reach port 5003', async () => {
    const payloads = ['only the port', 'b'.repeat(300)];
    const before = csumErrors(net().server);
    const got = await sendUdp(5002, payloads, 5003);
    expect(droppedSince(before), 'what the server dropped for a bad checksum').toEqual({ tcp: 0, udp: 0 });
    expect(got(5003)).toEqual([...payloads].sort());
    expect(got(5002)).toEqual([]);
  });

  it("IPv4: a connection's client segments arrive with the TTL and TOS written, their IPv4 and TCP checksums valid", async () => {
    const pcap = join(dir, 'ttl.pcap');
    const dump = start(net().server, 'tcpdump', ['-i', 'eth0', '-n', '-U', '--immediate-mode', '-s', '256', '-w', pcap, 'tcp', 'port', '9002']);
    await dump.waitFor((c) => c.stderr.includes('listening on eth0'), 10_000, 'tcpdump to listen');
    const text = 'mark me\n';
    const before = csumErrors(net().server);
    const r = await node(['line', SERVER_IP, '9002', JSON.stringify(text)]);
    // The client's last ACK (of the server's FIN) may still be on its way.
    await sleep(200);
    dump.proc.kill('SIGINT');
    expect(await dump.exited, dump.stderr).toBe(0);
    const fields = ['ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.str', 'ip.ttl', 'ip.dsfield', 'ip.checksum.status', 'tcp.checksum', 'tcp.checksum.status', 'tcp.len'];
    const rows = tsharkFields(readFileSync(pcap), fields, { prefs: ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE'] });
    const up = rows.filter((row) => row['ip.src'] === CLIENT_IP);
    const down = rows.filter((row) => row['ip.src'] === SERVER_IP);
    expect(up.length, 'no client segment reached the server').toBeGreaterThan(0);
    // Each one as the rule wrote it, and one the server's stack takes (else it drops it).
    for (const row of up) {
      expect(row, JSON.stringify(row)).toMatchObject({ 'ip.dst': SERVER_IP, 'ip.ttl': '33', 'ip.dsfield': '0x28', 'ip.checksum.status': GOOD, 'tcp.checksum.status': GOOD });
    }
    expect(droppedSince(before), 'what the server dropped for a bad checksum').toEqual({ tcp: 0, udp: 0 });
    expect(r).toMatchObject({ error: null, response: `got ${text.length} bytes\n` });
    expect(bytesFrom(9002, r.localPort).toString('latin1')).toBe(text);
    const ours = up.filter((row) => row['tcp.srcport'] === String(r.localPort));
    // SYN, the handshake's ACK, the line, the ACK of the answer, FIN, the last ACK (some may be one).
    expect(ours.length, JSON.stringify(rows)).toBeGreaterThanOrEqual(4);
    expect(ours.some((row) => (row['tcp.flags.str'] ?? '').includes('S'))).toBe(true);
    expect(ours.some((row) => (row['tcp.flags.str'] ?? '').includes('F'))).toBe(true);
    expect(ours.some((row) => row['tcp.len'] === String(text.length))).toBe(true);
    // The server's own segments, which no rule writes, keep its TTL.
    expect(down.filter((row) => row['tcp.dstport'] === String(r.localPort)).length).toBeGreaterThanOrEqual(3);
    for (const row of down) expect(row['ip.ttl']).toBe('64');
  });
});
