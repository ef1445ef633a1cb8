/**
 * Type-checks rule files against palisade's own types with the TypeScript compiler, in one
 * program for all of them, and reports errors as an editor does (file:line:col). Only this
 * module loads the compiler; core/typecheck/index.ts calls it on a cache miss.
 */
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { importNames, isOwnCode, publicTypes } from '../package.ts';
import type { TypeDiagnostic } from './index.ts';

/** Where `types: ['node']` is found: beside palisade's own @types/node (a dependency). */
function nodeTypeRoots(): string[] {
  try {
    return [dirname(dirname(createRequire(import.meta.url).resolve('@types/node/package.json')))];
  } catch {
    return [];
  }
}

function compilerOptions(): ts.CompilerOptions {
  const paths: ts.MapLike<string[]> = {};
  for (const name of importNames) {
    paths[name] = [publicTypes('index')];
    paths[`${name}/testing`] = [publicTypes('testing')];
    paths[`${name}/rules`] = [publicTypes('rules/index')];
  }
  return {
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
    typeRoots: nodeTypeRoots(),
    paths,
  };
}

export interface Checked {
  diagnostics: TypeDiagnostic[];
  /** Every file the rule file's types depend on (itself, its imports, palisade's declarations). */
  files: string[];
}

/** One program for every rule file: the lib and palisade's declarations are checked once. */
export function compileRuleFiles(paths: readonly string[]): Map<string, Checked> {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (f) => f, options);
  const imports = new Map<string, Set<string>>();
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts, file) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(file, literal, opts);
      const r = ts.resolveModuleName(literal.text, containingFile, opts, host, cache, redirected, mode);
      const target = r.resolvedModule?.resolvedFileName;
      if (target !== undefined) {
        let set = imports.get(containingFile);
        if (set === undefined) imports.set(containingFile, (set = new Set()));
        set.add(target);
      }
      return r;
    });
  const roots = paths.map((p) => resolve(p));
  const program = ts.createProgram(roots, options, host);
  const libDir = dirname(ts.getDefaultLibFilePath(options));

  const out = new Map<string, Checked>();
  const all = ts.getPreEmitDiagnostics(program);
  roots.forEach((root, i) => {
    const files = closure(root, imports);
    const diagnostics: TypeDiagnostic[] = [];
    for (const d of all) {
      const file = d.file?.fileName;
      if (file !== undefined && !files.has(file)) continue;
      // palisade's own code is checked by its own CI, under its own stricter settings (in a
      // checkout, samples/, test/ and docs/ are rule files like a user's).
      if (file !== undefined && (isOwnCode(file) || file.includes('/node_modules/'))) continue;
      diagnostics.push(toDiagnostic(d, paths[i] as string));
    }
    out.set(paths[i] as string, { diagnostics, files: [...files].filter((f) => !f.startsWith(libDir)) });
  });
  return out;
}

function closure(root: string, imports: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>([root]);
  const todo = [root];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    for (const next of imports.get(f) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

function toDiagnostic(d: ts.Diagnostic, fallback: string): TypeDiagnostic {
  const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
  return {
    file: d.file === undefined ? fallback : relativeToCwd(d.file.fileName),
    line: pos.line + 1,
    column: pos.character + 1,
    code: d.code,
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n  '),
  };
}

function relativeToCwd(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}
