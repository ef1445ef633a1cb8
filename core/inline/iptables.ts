/**
 * The iptables rules that queue a bridge's traffic to palisade, and their removal. Each rule
 * carries the comment `palisade:<pid>`, so palisade deletes exactly the rules it inserted, and
 * a later start can tell the rules of a palisade that died (kill -9) from a running one's.
 * `--queue-bypass` makes the kernel accept packets while no program listens on the queue: a
 * palisade that crashed does not black-hole the bridge.
 */
import { execFileSync } from 'node:child_process';
import { iptablesError } from '../errors.ts';
import { firstLine } from './bridge.ts';

export interface QueueRange {
  first: number;
  last: number;
}

export interface InstalledRules {
  /** The rules as `iptables -S` would print them, one per command (iptables, ip6tables). */
  readonly lines: readonly string[];
  /** Deletes them. Safe to call twice, and from an exit handler (synchronous). */
  remove(): string[];
  /** Packets the rules have sent to the queues so far (their iptables counters), or null. */
  packets(): number | null;
}

const COMMENT_PREFIX = 'palisade:';

/** The match and target of one rule, without the chain operation. */
export function ruleSpec(bridge: string, queues: QueueRange, pid: number): string[] {
  const target =
    queues.first === queues.last
      ? ['--queue-num', String(queues.first)]
      : ['--queue-balance', `${queues.first}:${queues.last}`];
  return [
    'FORWARD',
    '-i', bridge,
    '-o', bridge,
    '-m', 'physdev', '--physdev-is-bridged',
    '-m', 'comment', '--comment', `${COMMENT_PREFIX}${pid}`,
    '-j', 'NFQUEUE', ...target, '--queue-bypass',
  ];
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function available(command: string): boolean {
  try {
    run(command, ['-V']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Inserts the rule for IPv4 (iptables) and IPv6 (ip6tables, when installed) at the head of
 * FORWARD. Returns what to undo; `warn` hears about a missing ip6tables.
 */
export function installRules(bridge: string, queues: QueueRange, warn: (message: string) => void): InstalledRules {
  const commands = ['iptables'];
  if (!available('iptables')) throw iptablesError('iptables -V', 'iptables is not installed (apt-get install iptables)');
  if (available('ip6tables')) commands.push('ip6tables');
  else warn('ip6tables is not installed: IPv6 traffic on the bridge is not queued to palisade');

  const spec = ruleSpec(bridge, queues, process.pid);
  const done: string[] = [];
  let removed = false;
  const remove = (): string[] => {
    const errors: string[] = [];
    if (removed) return errors;
    removed = true;
    for (const command of done) {
      try {
        run(command, ['-w', '-D', ...spec]);
      } catch (err) {
        errors.push(`${command} -D ${spec.join(' ')}: ${firstLine(err)}`);
      }
    }
    return errors;
  };
  for (const command of commands) {
    try {
      run(command, ['-w', '-I', ...spec]);
    } catch (err) {
      remove();
      const why = firstLine(err);
      const hint = /physdev|comment|NFQUEUE|No chain|Extension/i.test(why)
        ? ' (the kernel lacks xt_physdev, xt_comment or xt_NFQUEUE?)'
        : /Permission denied|not permitted/i.test(why)
          ? ' (palisade must run as root)'
          : '';
      throw iptablesError(`${command} -I ${spec.join(' ')}`, `${why}${hint}`);
    }
    done.push(command);
  }
  const comment = `${COMMENT_PREFIX}${process.pid}`;
  const packets = (): number | null => {
    let n = 0;
    for (const command of done) {
      let listing: string;
      try {
        listing = run(command, ['-w', '-nvxL', 'FORWARD']);
      } catch {
        return null;
      }
      // `-v -x`: the first column is the rule's exact packet count.
      for (const line of listing.split('\n')) if (line.includes(`/* ${comment} */`)) n += Number(line.trim().split(/\s+/)[0]) || 0;
    }
    return n;
  };
  return { lines: done.map((c) => `${c} -I ${spec.join(' ')}`), remove, packets };
}

/**
 * Removes rules left by a palisade that no longer runs (killed with -9: its rules stay, and
 * `--queue-bypass` keeps the bridge open meanwhile). Returns the rules it removed.
 */
export function removeStaleRules(): string[] {
  const removedLines: string[] = [];
  for (const command of ['iptables', 'ip6tables']) {
    let listing: string;
    try {
      listing = run(command, ['-w', '-S', 'FORWARD']);
    } catch {
      continue;
    }
    for (const line of listing.split('\n')) {
      const m = /--comment "?palisade:(\d+)"?/.exec(line);
      if (m === null || !line.startsWith('-A FORWARD ')) continue;
      if (isAlive(Number(m[1]))) continue;
      const args = line.slice('-A '.length).split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'));
      try {
        run(command, ['-w', '-D', ...args]);
        removedLines.push(`${command} ${line}`);
      } catch {
        // Someone else removed it meanwhile.
      }
    }
  }
  return removedLines;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
