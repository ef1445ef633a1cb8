/**
 * A capture that ends with many connections still open is the normal case (an hour of a busy
 * link leaves tens of thousands): ending them is engine work that keeps the watchdog fed, writes
 * every flow record, and gives way to Ctrl-C as reading does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter } from '../../core/io/pcap-writer.ts';
import { unacked } from '../../bench/flood-traffic.ts';
import { palisade, root } from './run-cli.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'palisade-open-at-end-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Preloaded into a palisade process: its peak RSS on stderr as it exits. */
const PEAK_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("peak-rss-kb "+process.resourceUsage().maxRSS+"\\n"))';

/** `connections` connections of four frames, each left open with 9 unacknowledged bytes. */
function openConnections(name: string, connections: number): string {
  const path = join(tmp, name);
  const w = new PcapWriter(path, { linkType: 1 });
  let n = 0;
  unacked(connections * 4, (frame) => {
    n++;
    w.write(frame, 1_700_000_000 + Math.floor(n / 1e6), (n % 1e6) * 1000);
  });
  w.close();
  return path;
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const dataRule = `import { defineRules, tcpConnection } from 'palisade';
let bytes = 0;
export default defineRules(({ rule }) => {
  rule({ name: 'data', on: tcpConnection.events.receiveData, eval: (_flow, data) => { bytes += data.length; } });
  rule({ name: 'ends', on: tcpConnection.events.endConnection, eval: (flow) => { bytes += flow.stats.up.bytes; } });
});
`;

/**
 * The flood's checksums are not patched; a watchdog short enough that an end of input without
 * progress would trip it (ending 50,000 connections took over a second), long enough for a
 * collection of the heap those connections fill.
 */
const config = JSON.stringify({ checksumValidation: 'never', rules: { timeoutMs: 300 } });

describe('open connections at the end of a capture', () => {
  it('50,000 connections open at the end: exit 0, a flow record each, ended by shutdown, under a 300 ms watchdog, peak RSS under 350 MB', () => {
    const capture = openConnections('open-50k.pcap', 50_000);
    const flows = join(tmp, 'open-50k.flows');
    // The process's peak RSS, said as it exits.
    const r = spawnSync(process.execPath, ['--import', PEAK_RSS, 'bin/palisade.js', 'replay', file('data.ts', dataRule), capture, '--config', file('config.json', config), '--flows', flows, '--no-typecheck'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/PAL_ERR/);
    expect(r.status).toBe(0);
    // 50,000 connections with 9 bytes in flight each: measured 180 MB (572 MB with a 4 KiB ring each).
    const peakMb = Number(/^peak-rss-kb (\d+)$/m.exec(r.stderr)?.[1]) / 1024;
    expect(peakMb).toBeGreaterThan(0);
    expect(peakMb).toBeLessThan(350);
    const records = readFileSync(flows, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { end_reason: string; orig_bytes: number; 'id.orig_p': number });
    expect(records).toHaveLength(50_000);
    expect(records.every((f) => f.end_reason === 'shutdown' && f.orig_bytes === 9)).toBe(true);
    expect(r.stderr).toMatch(/^connections +50,000$/m);
  }, 60_000);

  it('an expiry that ends 50,000 connections at one packet (the next one an hour later) keeps the watchdog fed', () => {
    // 50,000 connections, then one more frame an hour later: every one has been idle past its timeout.
    const late = join(tmp, 'expire-late.pcap');
    const w = new PcapWriter(late, { linkType: 1 });
    let n = 0;
    unacked(50_000 * 4 + 1, (frame) => {
      n++;
      w.write(frame, 1_700_000_000 + (n > 200_000 ? 3600 : 0), (n % 1e6) * 1000);
    });
    w.close();
    const flows = join(tmp, 'expire-50k.flows');
    const r = palisade(['replay', file('data.ts', dataRule), late, '--config', file('config.json', config), '--flows', flows, '--no-typecheck']);
    expect(r.stderr).not.toMatch(/PAL_ERR/);
    expect(r.status).toBe(0);
    const records = readFileSync(flows, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { end_reason: string });
    expect(records).toHaveLength(50_001);
    expect(records.filter((f) => f.end_reason === 'timeout')).toHaveLength(50_000);
  }, 60_000);

  it('Ctrl-C with tens of thousands open: exit 130, and every connection seen so far has its record', async () => {
    const capture = openConnections('open-200k.pcap', 200_000);
    const flows = join(tmp, 'interrupted.flows');
    // About 10 µs a connection: reading the capture takes seconds, the signal comes in the middle.
    const slow = file(
      'slow.ts',
      dataRule.replace("export default defineRules(({ rule }) => {", "export default defineRules(({ rule }) => {\n  rule({ name: 'slow', on: tcpConnection.events.newConnection, eval: () => { const t = performance.now(); while (performance.now() - t < 0.01); } });"),
    );
    const p = spawn(process.execPath, ['bin/palisade.js', 'replay', slow, capture, '--config', file('config.json', config), '--flows', flows, '--no-typecheck'], { cwd: root });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    // palisade handles signals from the moment its outputs are open.
    for (let waited = 0; !existsSync(flows); waited += 20) {
      if (waited > 30_000) throw new Error(`palisade never opened ${flows}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    p.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/PAL_ERR_INTERRUPTED: SIGINT/);
    const seen = Number(/^connections +([\d,]+)$/m.exec(stderr)?.[1]?.replaceAll(',', ''));
    expect(seen).toBeGreaterThan(10_000);
    expect(seen).toBeLessThan(200_000);
    const records = readFileSync(flows, 'utf8').trim().split('\n');
    expect(records).toHaveLength(seen);
  }, 60_000);
});
