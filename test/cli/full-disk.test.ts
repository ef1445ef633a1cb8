/**
 * `palisade replay` onto a disk that fills up (a 5 MiB tmpfs, the tests run as root): the run
 * ends with PAL_ERR_OUTPUT, and every output holds whole records only: each alert and flow line
 * parses, and tshark reads the -o capture to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcap, tcpSession } from 'palisade/testing';
import { mountSmallFilesystem } from '../io/small-filesystem.ts';
import { palisade } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-full-disk-'));
const rulesFile = join(tmp, 'every-packet.ts');
const capture = join(tmp, 'many.pcap');
beforeAll(() => {
  writeFileSync(
    rulesFile,
    `import { defineRules, tcpConnection } from 'palisade';
export default defineRules(({ rule, alert }) => {
  rule({ name: 'every-packet', on: tcpConnection.events.receivePacket, eval: (flow) => { alert({ description: 'a packet', flow }); } });
});
`,
  );
  // 15,000 packets of 1,500 connections: 2.1 MB of capture, 4 MB of alerts, 0.6 MB of flows.
  const frames: Buffer[] = [];
  for (let i = 0; i < 1500; i++) {
    const s = tcpSession({ client: `10.0.${i >> 8}.${i & 0xff}:${40000 + i}`, server: '192.168.20.80:80' });
    frames.push(...s.handshake().send('up', 'GET / HTTP/1.1\r\n\r\n').send('down', 'x'.repeat(700)).close().frames());
  }
  writeFileSync(capture, pcap(frames));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The lines of a JSON lines file, each parsed: throws on a line cut short. */
function jsonLines(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  expect(text.endsWith('\n'), `${path} ends inside a line: …${JSON.stringify(text.slice(-40))}`).toBe(true);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown);
}

describe('palisade replay onto a full disk', () => {
  for (const output of ['out.pcap', 'out.pcapng']) {
    it(`ends with PAL_ERR_OUTPUT; the alerts, the flows and the ${output.slice(4)} capture hold whole records only`, () => {
      const fs = mountSmallFilesystem('5m');
      try {
        const out = join(fs.dir, output);
        const alerts = join(fs.dir, 'alerts.jsonl');
        const flows = join(fs.dir, 'flows.jsonl');
        const r = palisade(['replay', rulesFile, capture, '--no-typecheck', '-o', out, '--alerts', alerts, '--flows', flows]);
        expect(r.stderr).toMatch(/palisade: PAL_ERR_OUTPUT: .*ENOSPC: no space left on device.*; what was written before is complete\n$/);
        expect(r.status).toBe(1);
        expect(jsonLines(alerts).length).toBeGreaterThan(1000);
        expect(jsonLines(flows).length).toBeGreaterThan(100);
        const t = spawnSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
        expect(t.stderr).not.toMatch(/cut short|damaged|corrupt/);
        expect(t.status).toBe(0);
        expect(t.stdout.trim().split('\n').length).toBeGreaterThan(1000);
      } finally {
        fs.unmount();
      }
    });
  }
});
