/**
 * The replay case corpus (design §8): each test/cases/<name>/ holds rules.ts, input.pcap and
 * expect.json. One test per case replays the capture through the rules and compares what
 * expect.json names:
 *
 * - `streams`: per flow id and direction, the text rebuilt from the receiveData log lines at
 *   their offsets, compared exactly (a direction without data is left out). Bytes palisade
 *   skipped show as `[gap N]`; bytes delivered twice as `[rewind N]` (always a failure).
 * - `events`: the other log lines (newConnection, anomaly, endConnection), in order, each
 *   matched by the fields given; the list is complete.
 * - `dropped`: frame numbers dropped, exactly.
 * - `injected`: crafted packets in order, matched by fields: `to` ('client' | 'server'),
 *   `seq`, `ack`, `flags` (tcpdump letters), `window`, `ttl`, `vlan`.
 * - `flows`: the --flows records in order, matched by fields.
 * - `alerts`: alerts in order, matched by fields.
 * - `anomalies`: counts from the replay's stats, matched by key (`tcp-gap`…).
 *
 * Omitted keys are not checked. Captures are made by test/cases/make-cases.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { replay, type ReplayResult } from 'palisade/testing';
import { cases as captures } from './cases/make-cases.ts';

const root = fileURLToPath(new URL('./cases/', import.meta.url));
const names = readdirSync(root)
  .filter((n) => statSync(join(root, n)).isDirectory())
  .sort();

type Dir = 'up' | 'down';
type Fields = Record<string, unknown>;

interface Expectation {
  description: string;
  streams?: Record<string, Partial<Record<Dir, string>>>;
  events?: Fields[];
  dropped?: number[];
  injected?: Fields[];
  flows?: Fields[];
  alerts?: Fields[];
  anomalies?: Record<string, number>;
}

/** Each flow's streams, rebuilt from the receiveData lines at their offsets. */
function streamsOf(logs: readonly Fields[]): Record<string, Partial<Record<Dir, string>>> {
  const out: Record<string, Partial<Record<Dir, string>>> = {};
  const ends = new Map<string, number>();
  for (const line of logs) {
    if (line.event !== 'receiveData') continue;
    const flow = String(line.flow);
    const dir = line.dir as Dir;
    const offset = line.offset as number;
    const data = line.data as string;
    const key = `${flow} ${dir}`;
    const end = ends.get(key) ?? 0;
    const streams = (out[flow] ??= {});
    let text = streams[dir] ?? '';
    if (offset > end) text += `[gap ${offset - end}]`;
    else if (offset < end) text += `[rewind ${end - offset}]`;
    streams[dir] = text + data;
    ends.set(key, offset + data.length);
  }
  return out;
}

const EVENT_FIELDS = ['event', 'flow', 'midstream', 'dir', 'kind', 'endReason'] as const;

/**
 * The log lines of every event but receiveData, in order. Each keeps the fields its expected
 * counterpart names (all recorded fields past the expected list), so a diff shows only those.
 */
function eventsOf(logs: readonly Fields[], want: readonly Fields[]): Fields[] {
  return logs
    .filter((l) => typeof l.event === 'string' && l.event !== 'receiveData')
    .map((l, i) => {
      const keys = want[i] === undefined ? EVENT_FIELDS : Object.keys(want[i]);
      return Object.fromEntries(keys.filter((k) => k in l).map((k) => [k, l[k]]));
    });
}

/** tcpdump's flag letters, by bit from FIN (0x01) to CWR (0x80). */
const FLAG_LETTERS = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'] as const;

/** A crafted packet's TCP/IP fields (Ethernet, 802.1Q tags, IPv4 or IPv6 without extension headers). */
function decodeInjected(frame: Buffer, flows: ReplayResult['flows']): Fields {
  let off = 12;
  let vlan: number | undefined;
  while (frame.readUInt16BE(off) === 0x8100 || frame.readUInt16BE(off) === 0x88a8) {
    vlan ??= frame.readUInt16BE(off + 2) & 0x0fff;
    off += 4;
  }
  const etherType = frame.readUInt16BE(off);
  const ip = off + 2;
  const v4 = etherType === 0x0800;
  const tcp = v4 ? ip + ((frame[ip] ?? 0) & 0x0f) * 4 : ip + 40;
  const srcport = frame.readUInt16BE(tcp);
  const dstport = frame.readUInt16BE(tcp + 2);
  const bits = frame[tcp + 13] ?? 0;
  const flags = FLAG_LETTERS.filter((_, i) => (bits & (1 << i)) !== 0).join('');
  const flow = flows.find(
    (f) => (f['id.orig_p'] === dstport && f['id.resp_p'] === srcport) || (f['id.orig_p'] === srcport && f['id.resp_p'] === dstport),
  );
  const to = flow === undefined ? `port ${dstport}` : flow['id.orig_p'] === dstport ? 'client' : 'server';
  return {
    to,
    srcport,
    dstport,
    seq: frame.readUInt32BE(tcp + 4),
    ack: frame.readUInt32BE(tcp + 8),
    flags,
    window: frame.readUInt16BE(tcp + 14),
    ttl: v4 ? frame[ip + 8] : frame[ip + 7],
    ...(vlan === undefined ? {} : { vlan }),
  };
}

describe('replay cases (test/cases)', () => {
  it('has a capture generator for every case directory and a directory for every generator', () => {
    expect(names).toEqual(Object.keys(captures).sort());
  });

  for (const name of names) {
    it(name, async () => {
      const dir = join(root, name);
      for (const file of ['rules.ts', 'input.pcap', 'expect.json']) expect(existsSync(join(dir, file)), `${name}/${file}`).toBe(true);
      const want = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as Expectation;
      expect(typeof want.description, `${name}/expect.json needs a description`).toBe('string');

      const got = await replay({ rules: join(dir, 'rules.ts'), capture: join(dir, 'input.pcap') });
      expect(got.error, 'capture error').toBeUndefined();
      // A rule that threw is logged at level error (50) and raised as an alert.
      expect(got.logs.filter((l) => typeof l.level === 'number' && l.level >= 50), 'rule errors').toEqual([]);

      if (want.streams) expect.soft(streamsOf(got.logs), 'streams').toEqual(want.streams);
      if (want.events) expect.soft(eventsOf(got.logs, want.events), 'events').toMatchObject(want.events);
      if (want.dropped) expect.soft(got.dropped, 'dropped frames').toEqual(want.dropped);
      if (want.injected) expect.soft(got.injected.map((p) => decodeInjected(p.bytes, got.flows)), 'injected').toMatchObject(want.injected);
      if (want.flows) expect.soft(got.flows, 'flows').toMatchObject(want.flows);
      if (want.alerts) expect.soft(got.alerts, 'alerts').toMatchObject(want.alerts);
      if (want.anomalies) expect.soft(Object.fromEntries(got.stats.anomalies), 'anomaly counts').toMatchObject(want.anomalies);
    });
  }
});

/** Records in a classic pcap (little-endian, as encodePcap writes it). */
function countRecords(pcap: Buffer): number {
  let n = 0;
  for (let off = 24; off + 16 <= pcap.length; off += 16 + pcap.readUInt32LE(off + 8)) n++;
  return n;
}

describe('the case captures', () => {
  it('are what make-cases.ts writes (run `npx tsx test/cases/make-cases.ts` after changing it)', () => {
    const stale = Object.entries(captures)
      .filter(([name, build]) => !existsSync(join(root, name, 'input.pcap')) || !build().equals(readFileSync(join(root, name, 'input.pcap'))))
      .map(([name]) => name);
    expect(stale).toEqual([]);
  });

  const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!tshark)('are each read by tshark without errors, every frame well formed', () => {
    const problems: string[] = [];
    for (const name of names) {
      const path = join(root, name, 'input.pcap');
      const r = spawnSync('tshark', ['-n', '-r', path], { encoding: 'utf8' });
      // tshark warns on stderr when it runs as root; that is no error of the capture.
      const stderr = r.stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('Running as user'))
        .join('\n');
      if (r.status !== 0 || stderr !== '') problems.push(`${name}: exit ${String(r.status)}: ${stderr}`);
      const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
      const malformed = lines.filter((l) => l.includes('Malformed'));
      if (malformed.length > 0) problems.push(`${name}: ${malformed.join('; ')}`);
      const records = countRecords(readFileSync(path));
      if (lines.length !== records) problems.push(`${name}: tshark read ${lines.length} frames of ${records}`);
    }
    expect(problems).toEqual([]);
  });
});
