/**
 * Type-checking rule files before they run (check, replay, test, run, ctl reload): results come
 * from the cache when nothing they depend on changed; the rest are compiled together, in one
 * program. The TypeScript compiler loads only on a miss.
 */
import { PalisadeError, typecheckError } from '../errors.ts';
import { lookup, store } from './cache.ts';

export interface TypeDiagnostic {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

export interface TypecheckOptions {
  /** Read and write the cache (default true). */
  cache?: boolean;
}

/** Each rule file's type errors (an empty list: it compiles). */
export async function typecheckRuleFiles(paths: readonly string[], options: TypecheckOptions = {}): Promise<Map<string, TypeDiagnostic[]>> {
  const useCache = options.cache ?? true;
  const out = new Map<string, TypeDiagnostic[]>();
  const misses: string[] = [];
  for (const p of paths) {
    const hit = useCache ? lookup(p) : undefined;
    if (hit === undefined) misses.push(p);
    else out.set(p, hit);
  }
  if (misses.length > 0) {
    const { compileRuleFiles } = await import('./compile.ts');
    for (const [p, r] of compileRuleFiles(misses)) {
      out.set(p, r.diagnostics);
      if (useCache) store(p, r.files, r.diagnostics);
    }
  }
  return out;
}

/** Throws PAL_ERR_TYPECHECK with the errors listed, as an editor shows them, if the file has any. */
export async function requireTypes(path: string): Promise<void> {
  const diagnostics = (await typecheckRuleFiles([path])).get(path) ?? [];
  if (diagnostics.length > 0) throw typeErrors(path, diagnostics);
}

export function typeErrors(path: string, diagnostics: readonly TypeDiagnostic[]): PalisadeError {
  const e = typecheckError(path, diagnostics.length);
  return new PalisadeError(e.code, `${e.message}\n${diagnostics.map(formatDiagnostic).join('\n')}`);
}

export function formatDiagnostic(d: TypeDiagnostic): string {
  return `${d.file}:${d.line}:${d.column} - error TS${d.code}: ${d.message}`;
}
