/**
 * Every example in the docs runs: rule files shown in ```ts blocks are the checked-in files
 * under docs/examples (type-checked here), and every `$ palisade …` line of a ```console block
 * is run, its stdout compared with the lines below it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { palisade, root } from './cli/run-cli.ts';
import { typecheckRuleFiles } from '../core/typecheck/index.ts';

const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block {
  lang: string;
  body: string;
}

function blocks(page: string): Block[] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', body: m[2] ?? '' }));
}

describe.each(pages)('%s', (page) => {
  const all = blocks(page);

  it('shows rule files that are the checked-in, type-correct examples', async () => {
    const files: string[] = [];
    for (const b of all.filter((x) => x.lang === 'ts')) {
      const name = /^\/\/ ([\w-]+\.ts)\n/.exec(b.body)?.[1];
      if (name === undefined) continue;
      const file = join('docs/examples', name);
      expect(readFileSync(join(root, file), 'utf8'), `${page}: ${name} differs from ${file}`).toBe(b.body);
      files.push(join(root, file));
    }
    for (const [file, diagnostics] of await typecheckRuleFiles(files, { cache: false })) expect(diagnostics, file).toEqual([]);
  });

  // A traced rule's time changes from run to run: compared without it.
  const timeless = (text: string): string => text.replace(/\b\d+ us\b/g, '… us').replace(/"micros":\d+/g, '"micros":…');

  it('runs its console examples with the output shown', () => {
    for (const b of all.filter((x) => x.lang === 'console')) {
      const lines = b.body.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] ?? '';
        if (!line.startsWith('$ palisade ')) continue;
        const expected: string[] = [];
        for (let j = i + 1; j < lines.length && !(lines[j] ?? '').startsWith('$ '); j++) expected.push(lines[j] ?? '');
        const r = palisade(line.slice('$ palisade '.length).split(/\s+/));
        const shown = expected.join('\n').trim();
        if (shown === '') expect(r.status, `${page}: ${line}\n${r.stderr}`).toBe(0);
        else expect(timeless(r.stdout.trim()), `${page}: ${line}`).toBe(timeless(shown));
      }
    }
  });
});
