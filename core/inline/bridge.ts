/**
 * `palisade run --bridge IFACE`: what the bridge host needs before traffic is queued. The
 * bridge must exist; br_netfilter must be loaded with bridge-nf-call-iptables (and -ip6tables)
 * on, so that bridged frames cross the iptables FORWARD chain; and, for flow.reset(), the host
 * needs a route to the endpoints through the bridge. Sysctls palisade turns on are turned back
 * off when it exits.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { bridgeError } from '../errors.ts';

const SYSCTL_DIR = '/proc/sys/net/bridge';
const CALL_SYSCTLS = ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables'] as const;

/** Interface names as the kernel allows them (IFNAMSIZ 16, no '/' or spaces). */
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

export interface BridgeSetup {
  readonly bridge: string;
  /** Puts back the sysctls palisade changed. Safe to call twice, and from an exit handler. */
  restore(): void;
}

/** Checks the bridge and turns on bridge netfilter; throws PAL_ERR_BRIDGE with what to do. */
export function setUpBridge(bridge: string): BridgeSetup {
  if (!IFNAME.test(bridge)) throw bridgeError(bridge, 'is not a valid interface name');
  if (!existsSync(`/sys/class/net/${bridge}`)) {
    throw bridgeError(bridge, `no such interface in this network namespace; create it first (ip link add ${bridge} type bridge; ip link set PORT master ${bridge})`);
  }
  if (!existsSync(`/sys/class/net/${bridge}/bridge`)) {
    throw bridgeError(bridge, 'is not a Linux bridge; palisade queues bridged traffic (ip link add NAME type bridge)');
  }
  if (!existsSync(`${SYSCTL_DIR}/${CALL_SYSCTLS[0]}`)) loadBrNetfilter(bridge);

  const changed: { file: string; old: string }[] = [];
  for (const name of CALL_SYSCTLS) {
    const file = `${SYSCTL_DIR}/${name}`;
    let old: string;
    try {
      old = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw bridgeError(bridge, `cannot read ${file} (${(err as Error).message})`);
    }
    if (old === '1') continue;
    try {
      writeFileSync(file, '1');
    } catch (err) {
      for (const c of changed) writeFileSync(c.file, c.old);
      throw bridgeError(bridge, `cannot turn on ${name} (${(err as Error).message}); palisade must run as root`);
    }
    changed.push({ file, old });
  }
  let restored = false;
  return {
    bridge,
    restore() {
      if (restored) return;
      restored = true;
      for (const c of changed) {
        try {
          writeFileSync(c.file, c.old);
        } catch {
          // The namespace may be gone already.
        }
      }
    },
  };
}

function loadBrNetfilter(bridge: string): void {
  let why = '';
  try {
    execFileSync('modprobe', ['br_netfilter'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    why = ` (modprobe br_netfilter: ${firstLine(err)})`;
  }
  if (!existsSync(`${SYSCTL_DIR}/${CALL_SYSCTLS[0]}`)) {
    throw bridgeError(
      bridge,
      `br_netfilter is not loaded${why}; without it bridged traffic never reaches iptables. Load it (modprobe br_netfilter) or build it into the kernel`,
    );
  }
}

/**
 * Whether the host can send the RSTs of flow.reset() through the bridge: a route out of it for
 * each address family (an address on the bridge gives one). Returns one warning per family
 * without one: a rule set that never resets does not need it.
 */
export function injectionWarnings(bridge: string): string[] {
  const warnings: string[] = [];
  if (!hasIpv4Route(bridge)) {
    warnings.push(
      `bridge ${bridge} has no IPv4 address or route: the RSTs of flow.reset() cannot reach IPv4 endpoints. Give the bridge an address in the protected subnet (ip addr add 192.0.2.254/24 dev ${bridge}) or a route (ip route add 192.0.2.0/24 dev ${bridge}); see docs/inline.md`,
    );
  }
  if (existsSync('/proc/net/ipv6_route') && !hasIpv6Route(bridge)) {
    warnings.push(
      `bridge ${bridge} has no IPv6 route besides link-local: the RSTs of flow.reset() cannot reach IPv6 endpoints. Give it an address (ip -6 addr add 2001:db8::fe/64 dev ${bridge} nodad) or a route; see docs/inline.md`,
    );
  }
  return warnings;
}

function hasIpv4Route(dev: string): boolean {
  let text: string;
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').slice(1).some((line) => line.split('\t')[0] === dev);
}

function hasIpv6Route(dev: string): boolean {
  let text: string;
  try {
    text = readFileSync('/proc/net/ipv6_route', 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    if (f[9] !== dev) return false;
    const prefix = f[0] ?? '';
    // Link-local (fe80::/10) and multicast (ff00::/8) routes every IPv6 interface has.
    return !/^fe[89ab]/.test(prefix) && !prefix.startsWith('ff');
  });
}

export function firstLine(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const text = (e.stderr === undefined ? '' : e.stderr.toString()).trim() || (e.message ?? String(err));
  return text.split('\n')[0] ?? '';
}
