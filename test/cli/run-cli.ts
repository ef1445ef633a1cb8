/** Runs the real CLI (bin/palisade.js, as an installed palisade runs) and collects its output. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function palisade(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const env = options.env === undefined ? process.env : { ...process.env, ...options.env };
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: options.cwd ?? root, encoding: 'utf8', timeout: 60_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
