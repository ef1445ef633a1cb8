/**
 * Which folder may import which (docs/architecture.md, "Layers"): the packet path's lower
 * layers never reach up. dissectors/ knows nothing of the CLI, of capture files, NFQUEUE or the
 * inline supervisor; core/io (capture formats, NFQUEUE, raw sockets) knows nothing of protocols
 * or rules; nothing but the CLI imports the CLI or the inline supervisor; palisade's own code
 * never imports the test helpers; rules/ uses the public API only. A new import that breaks
 * one of these fails here, naming the file, the import and the rule.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { root } from './cli/run-cli.ts';

interface Boundary {
  /** Files the rule is about (a folder ends with '/'). */
  from: string[];
  /** What they must not import (a folder ends with '/'). */
  not: string[];
  /** What they may import all the same (inside a forbidden folder). */
  except?: string[];
  why: string;
}

const boundaries: Boundary[] = [
  {
    from: ['dissectors/'],
    not: ['core/', 'testing/', 'testing.ts', 'index.ts', 'rules/'],
    except: ['core/events.ts', 'core/errors.ts', 'core/link-types.ts', 'core/address-text.ts', 'core/flow-dissector.ts'],
    why: 'dissectors parse packets and track flows: of core they know only the declarations (events, errors, link types, address text) and the extension API protocol dissectors are defined with, as a rule file defines its own; they return to the engine and raise declared events, and know nothing of rules, captures or commands',
  },
  {
    from: ['core/io/'],
    not: ['dissectors/', 'core/engine.ts', 'core/rules.ts', 'core/cli/', 'core/inline/', 'core/cases/'],
    except: ['dissectors/verdict.ts'],
    why: "core/io reads and writes captures, NFQUEUE and raw sockets: bytes and link types, no protocol and no rule; of dissectors/ it knows only the verdicts' declaration, which NFQUEUE's verdicts map to netfilter's numbers",
  },
  {
    from: ['core/', 'dissectors/', 'testing/', 'testing.ts', 'index.ts'],
    not: ['core/cli/'],
    why: 'the commands are the top: nothing below them imports them',
  },
  {
    from: ['dissectors/', 'core/io/', 'core/cases/', 'core/watchdog/', 'core/engine.ts', 'core/rules.ts', 'testing/', 'testing.ts', 'index.ts'],
    not: ['core/inline/'],
    why: 'inline supervision (workers, bridge, iptables, control socket) is used by `palisade run` only',
  },
  {
    from: ['core/', 'dissectors/', 'index.ts'],
    not: ['testing/', 'testing.ts', 'test/', 'bench/', 'samples/'],
    why: "palisade's own code never depends on its test helpers, tests, benchmarks or samples",
  },
  {
    from: ['core/', 'index.ts', 'testing/', 'testing.ts'],
    not: ['dissectors/tcp-connection/', 'dissectors/udp-connection/'],
    except: ['dissectors/tcp-connection/index.ts', 'dissectors/udp-connection/index.ts', 'dissectors/tcp-connection/events.ts', 'dissectors/udp-connection/events.ts', 'dissectors/tcp-connection/anomalies.ts'],
    why: "a flow tracker is used through its index.ts (and its declarations: events, anomaly kinds), never through its internals",
  },
  {
    from: ['rules/'],
    not: ['core/', 'dissectors/', 'testing/'],
    why: "rule modules are written as users write rules: against the public API ('palisade') only",
  },
];

const matches = (path: string, patterns: readonly string[]): boolean => patterns.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));

/**
 * The boundary an import from `file` of `target` (both repository paths) breaks, if any. A file
 * inside a forbidden area is not bound by that rule (core/cli's modules import each other).
 */
function broken(file: string, target: string): Boundary | undefined {
  return boundaries.find((b) => matches(file, b.from) && !matches(file, b.not) && matches(target, b.not) && !matches(target, b.except ?? []));
}

/** Relative imports of a source file: static, re-exports, side-effect, dynamic, and `new URL(…, import.meta.url)`. */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (spec?.startsWith('.')) specs.push(spec);
  }
  return specs;
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => posix.join(dir, f));
}

const files = [...['core', 'dissectors', 'testing', 'rules'].flatMap((d) => { try { return sources(d); } catch { return []; } }), 'index.ts', 'testing.ts'];

describe('import boundaries', () => {
  it('hold for every module of palisade', () => {
    const found: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(readFileSync(join(root, file), 'utf8'))) {
        const target = posix.normalize(posix.join(dirname(file), spec));
        const b = broken(file, target);
        if (b !== undefined) found.push(`${file} imports ${target}: ${b.why}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('would catch a dissector importing capture I/O or the CLI, and core/io importing a dissector', () => {
    expect(broken('dissectors/tcp-connection/reset.ts', 'core/io/pcap-reader.ts')?.why).toMatch(/^dissectors parse packets/);
    expect(broken('dissectors/link.ts', 'core/cli/main.ts')).toBeDefined();
    expect(broken('dissectors/udp.ts', 'core/inline/workers.ts')).toBeDefined();
    expect(broken('core/io/pcap-reader.ts', 'dissectors/link.ts')?.why).toMatch(/^core\/io reads and writes/);
    expect(broken('core/engine.ts', 'core/cli/replay.ts')).toBeDefined();
    expect(broken('rules/firewall.ts', 'core/engine.ts')).toBeDefined();
    // A dissector reaching into the rule registry, the stats or the clock.
    expect(broken('dissectors/tcp-connection/index.ts', 'core/rules.ts')).toBeDefined();
    expect(broken('dissectors/udp-connection/index.ts', 'core/stats.ts')).toBeDefined();
    expect(broken('dissectors/flow/host.ts', 'core/clock.ts')).toBeDefined();
    // The engine reaching into the tracker's internals.
    expect(broken('core/engine.ts', 'dissectors/tcp-connection/hold-keeper.ts')?.why).toMatch(/through its index\.ts/);
    // Allowed: a dissector using event and error declarations, the engine using a dissector.
    expect(broken('dissectors/tcp.ts', 'core/events.ts')).toBeUndefined();
    expect(broken('core/engine.ts', 'dissectors/tcp.ts')).toBeUndefined();
    expect(broken('core/io/pcap-reader.ts', 'core/link-types.ts')).toBeUndefined();
    expect(broken('core/io/nfqueue/verdicts.ts', 'dissectors/verdict.ts')).toBeUndefined();
    expect(broken('core/inline/workers.ts', 'core/inline/queue-worker.ts')).toBeUndefined();
  });

  it('reads every kind of import a module can write', () => {
    const text = `import a from './a.ts';\nimport { b,\n  c } from '../b.ts';\nexport * from './c.ts';\nimport './d.js';\nconst e = await import('./e.ts');\nnew Worker(new URL('./f.js', import.meta.url));\nimport x from 'node:fs';\n`;
    expect(importsOf(text)).toEqual(['./a.ts', '../b.ts', './c.ts', './d.js', './e.ts', './f.js']);
  });
});
