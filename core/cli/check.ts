/** `palisade check <rules.ts>`: type errors as an editor shows them, then a trial load. */
import { Writable } from 'node:stream';
import { parse } from './args.ts';
import { isFile } from '../io/is-file.ts';
import { fileNotFound, typecheckError, usageError } from '../errors.ts';
import { loadRuleFile } from '../rule-loader.ts';
import { createEngine } from '../engine.ts';

export const checkHelp = `Usage: palisade check <rules.ts>

Type-checks a rule file against palisade's types (errors as file:line:col, as an editor shows
them), then loads it and registers its rules without running any packet.

Options:
  --no-typecheck   only load the rule file and register its rules
  --no-cache       compile even if the cached result of an earlier check is still valid
  -h, --help       show this help

Exit status: 0 the rule file is sound, 1 it has errors, 2 bad usage.
`;

export async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parse('check', argv, {
    'no-typecheck': { type: 'boolean' },
    'no-cache': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(checkHelp);
    return 0;
  }
  if (positionals.length !== 1) throw usageError('palisade check: needs exactly one <rules.ts>');
  const path = positionals[0] as string;
  if (!isFile(path)) throw fileNotFound('rule file', path);
  // Types first: nothing of the file runs before it compiles.
  if (!(values['no-typecheck'] ?? false)) {
    const { formatDiagnostic, typecheckRuleFiles } = await import('../typecheck/index.ts');
    const diagnostics = (await typecheckRuleFiles([path], { cache: !(values['no-cache'] ?? false) })).get(path) ?? [];
    for (const d of diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
    if (diagnostics.length > 0) throw typecheckError(path, diagnostics.length);
  }
  const rules = await loadRuleFile(path);
  const sink = new Writable({ write: (_chunk, _enc, done) => { done(); } });
  const engine = createEngine({ rules, alerts: sink, log: sink });
  engine.close();
  process.stdout.write(`${path}: ok\n`);
  return 0;
}
