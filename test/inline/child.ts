/**
 * A process inside a test namespace (`ip netns exec`), its output, and a way to wait for what it
 * prints: the inline tests' clients, servers and palisade itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A child inside a namespace, its output, and a way to wait for what it prints. */
export class Child {
  stdout = '';
  stderr = '';
  readonly started = performance.now();
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(ns: string, command: string, args: readonly string[]) {
    this.proc = spawn('ip', ['netns', 'exec', ns, command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stdout?.on('data', (c: string) => (this.stdout += c));
    this.proc.stderr?.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.proc.on('close', (code) => resolve(code)));
  }

  /** JSON lines printed on stdout so far. */
  get records(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async waitFor(pred: (c: Child) => boolean, ms: number, what: string): Promise<void> {
    const deadline = performance.now() + ms;
    while (!pred(this)) {
      const exited = (this.proc.exitCode ?? this.proc.signalCode) !== null;
      if (exited || performance.now() > deadline) {
        throw new Error(`${exited ? 'exited' : `timed out after ${ms} ms`} waiting for ${what}; stdout ${this.stdout.slice(-800)} stderr ${this.stderr.slice(-800)}`);
      }
      await sleep(20);
    }
  }
}

