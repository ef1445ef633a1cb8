/**
 * Type-checks a rule file against palisade's own types with the TypeScript compiler, and
 * reports errors as an editor does (file:line:col). `palisade check` and `palisade run` use it.
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ownSources = ['core', 'dissectors'].map((d) => resolve(root, d) + '/');

export interface TypeDiagnostic {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

export function typecheckRuleFile(path: string): TypeDiagnostic[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [resolve(root, 'node_modules/@types')],
    paths: { palisade: [resolve(root, 'index.ts')], 'palisade/testing': [resolve(root, 'testing.ts')] },
  };
  const program = ts.createProgram([resolve(path)], options);
  const out: TypeDiagnostic[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    // palisade's own sources are checked by its own CI, under its own stricter settings.
    if (file !== undefined && (ownSources.some((p) => file.startsWith(p)) || file.includes('/node_modules/'))) continue;
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    out.push({
      file: file === undefined ? path : relativeToCwd(file),
      line: pos.line + 1,
      column: pos.character + 1,
      code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n  '),
    });
  }
  return out;
}

function relativeToCwd(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

export function formatDiagnostic(d: TypeDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} - error TS${d.code}: ${d.message}`;
}
