/**
 * The replay case corpus (design §8): each test/cases/<name>/ holds rules.ts, input.pcap,
 * expect.json and trace.json. expect.json is a `palisade test` case file (docs/testing.md):
 * `dropped`, `injected`, `flows`, `alerts` and `anomalies`, checked as `palisade test` checks
 * them. trace.json holds what the recording rules (test/cases/record-rules.ts) log, which only
 * this suite reads:
 *
 * - `streams`: per flow id and direction, the text rebuilt from the receiveData log lines at
 *   their offsets, compared exactly (a direction without data is left out). Bytes palisade
 *   skipped show as `[gap N]`; bytes delivered twice as `[rewind N]` (always a failure).
 * - `events`: the other log lines (newConnection, anomaly, endConnection), in order, each
 *   matched by the fields given; the list is complete.
 *
 * One test per case replays the capture through the rules and checks both files; one more runs
 * `palisade test test/cases` as a user would. Captures are made by test/cases/make-cases.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { replay } from 'palisade/testing';
import { readCase } from '../core/cases/case-file.ts';
import { compare } from '../core/cases/compare.ts';
import { observe } from '../core/cases/observed.ts';
import { palisade } from './cli/run-cli.ts';
import { cases as captures } from './cases/make-cases.ts';
import { Chain } from './dissectors/frames.ts';

const root = fileURLToPath(new URL('./cases/', import.meta.url));
const names = readdirSync(root)
  .filter((n) => statSync(join(root, n)).isDirectory())
  .sort();

type Dir = 'up' | 'down';
type Fields = Record<string, unknown>;

/** trace.json: what the recording rules logged. */
interface Trace {
  streams?: Record<string, Partial<Record<Dir, string>>>;
  events?: Fields[];
}
const TRACE_KEYS: readonly string[] = ['streams', 'events'];

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

describe('replay cases (test/cases)', () => {
  it('has a capture generator for every case directory and a directory for every generator', () => {
    expect(names).toEqual(Object.keys(captures).sort());
  });

  for (const name of names) {
    it(name, async () => {
      const dir = join(root, name);
      for (const file of ['rules.ts', 'input.pcap', 'expect.json', 'trace.json']) expect(existsSync(join(dir, file)), `${name}/${file}`).toBe(true);
      // Read as `palisade test` reads it: an unknown key or a malformed entry throws here.
      const c = readCase(dir, { update: false });
      expect(typeof c.spec.description, `${name}/expect.json needs a description`).toBe('string');
      const trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')) as Trace;
      expect(Object.keys(trace).filter((k) => !TRACE_KEYS.includes(k)), `${name}/trace.json keys`).toEqual([]);

      const got = await replay({ rules: c.rules, capture: c.capture, config: c.spec.config });
      expect(got.error, 'capture error').toBeUndefined();
      // A rule that threw is logged at level error (50) and raised as an alert.
      expect(got.logs.filter((l) => typeof l.level === 'number' && l.level >= 50), 'rule errors').toEqual([]);

      if (trace.streams) expect.soft(streamsOf(got.logs), 'streams').toEqual(trace.streams);
      if (trace.events) expect.soft(eventsOf(got.logs, trace.events), 'events').toMatchObject(trace.events);
      // The diff `palisade test` would print, per expect.json key: empty when the case passes.
      expect.soft(compare(c.spec, observe(got)), 'expect.json').toEqual([]);
    });
  }

  // The conflict cases run with 'accept'; the same whole stream comes with the default policy,
  // normalize (each conflicting segment forwarded rewritten to the first copy, its checksum
  // valid), and monitor only (nothing dropped or rewritten: the receiver gets a conflicting
  // segment's new bytes, so the stream takes them too, first wins per byte).
  for (const name of ['conflict-left-keeps-new-bytes', 'conflict-right-keeps-new-bytes', 'conflict-covering-several-keeps-holes']) {
    it(`${name}, with the default policy (normalize) and with --pass-through: the same whole stream`, async () => {
      const c = readCase(join(root, name), { update: false });
      const trace = JSON.parse(readFileSync(join(root, name, 'trace.json'), 'utf8')) as Trace;
      const normalised = await replay({ rules: c.rules, capture: c.capture });
      expect(streamsOf(normalised.logs)).toEqual(trace.streams);
      expect(normalised.dropped).toEqual([]);
      // What went out carries, in sequence order, exactly the stream the rules saw.
      const chain = new Chain();
      const up = new Map<number, string>();
      for (const o of normalised.output) {
        expect(chain.run(o.bytes)).toBe('tcp');
        expect(chain.tcp.verifyChecksum(), `frame ${o.id}'s checksum`).toBe(true);
        if (chain.tcp.srcport === 40000 && chain.tcp.payloadLength > 0) {
          const at = (chain.tcp.seq - 1_000_001) >>> 0;
          const text = chain.tcp.payload.toString('latin1');
          for (let i = 0; i < text.length; i++) {
            const was = up.get(at + i);
            if (was !== undefined) expect(text[i], `frame ${o.id}, byte ${at + i}`).toBe(was);
            up.set(at + i, text[i] as string);
          }
        }
      }
      expect([...up.entries()].sort((x, y) => x[0] - y[0]).map(([, ch]) => ch).join('')).toBe(trace.streams?.['1']?.up);
      const monitored = await replay({ rules: c.rules, capture: c.capture, passThrough: true });
      expect(streamsOf(monitored.logs)).toEqual(trace.streams);
      expect(monitored.dropped).toEqual([]);
    });
  }

  it.skipIf(spawnSync('tshark', ['--version']).status !== 0)('palisade replay -o writes the normalised segments: tshark reads every checksum as good, each byte as its first copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pal-normalised-'));
    try {
      const out = join(dir, 'out.pcap');
      const name = 'conflict-covering-several-keeps-holes';
      const r = palisade(['replay', `test/cases/${name}/rules.ts`, `test/cases/${name}/input.pcap`, '-o', out, '--no-typecheck']);
      expect(r.status, r.stderr).toBe(0);
      const t = spawnSync('tshark', ['-n', '-r', out, '-o', 'tcp.check_checksum:TRUE', '-Y', 'tcp.srcport == 40000 && tcp.len > 0', '-T', 'fields', '-e', 'tcp.seq', '-e', 'tcp.payload', '-e', 'tcp.checksum.status'], { encoding: 'utf8' });
      const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'));
      // The segment that covered the buffered ones with 'C', 'G', 'K' went out with 'c', 'g', 'k'.
      expect(rows.map(([seq, hex]) => [Number(seq), Buffer.from(hex ?? '', 'hex').toString('latin1')])).toContainEqual([2, 'bcdefghijklm']);
      for (const [seq, hex] of rows) expect(Buffer.from(hex ?? '', 'hex').toString('latin1'), `seq ${seq}`).toBe('abcdefghijklmnop'.slice(Number(seq) - 1, Number(seq) - 1 + (hex?.length ?? 0) / 2));
      expect(rows.every(([, , status]) => status === '1')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pass `palisade test test/cases` as a user runs it: exit 0, N passed, 0 failed', () => {
    const r = palisade(['test', 'test/cases']);
    expect(r.stdout).not.toMatch(/^FAIL /m);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`${names.length} passed, 0 failed`);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
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

  it.skipIf(!tshark)("bogus-length cases: tshark, too, finds frame 5's IP length past the frame it had whole", () => {
    const expert = (name: string): string =>
      spawnSync('tshark', ['-n', '-r', join(root, name, 'input.pcap'), '-Y', 'frame.number == 5', '-V'], { encoding: 'utf8' }).stdout;
    const v4 = expert('ipv4-bogus-length');
    expect(v4).toMatch(/IPv4 total length exceeds packet length/);
    expect(v4).toMatch(/Frame Length: 62 bytes[\s\S]*Capture Length: 62 bytes/);
    expect(expert('ipv6-bogus-length')).toMatch(/IPv6 payload length exceeds framing length/);
  });
});
