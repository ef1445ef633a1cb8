/**
 * Addresses and networks for the rule API, on top of ip-num. IPv4 values are uint32 numbers so
 * that `network.contains(pkt.srcInt)` is two integer operations; strings are accepted too, for
 * rules written against `flow.client.ip` or literal text.
 */
import { createRequire } from 'node:module';
import type * as IpNum from 'ip-num';
import { ruleInvalid } from './errors.ts';
import { ipv4Text } from './address-text.ts';

// ip-num (CommonJS) loads when a rule first parses an address, not at every start: through
// require, it costs a third of what an ESM import of it does (no export scan).
let loaded: typeof IpNum | undefined;
const ipNum = (): typeof IpNum => (loaded ??= createRequire(import.meta.url)('ip-num') as typeof IpNum);

export class Ipv4Addr {
  /** The address as a uint32. */
  readonly value: number;
  constructor(value: number) {
    this.value = value >>> 0;
  }
  toString(): string {
    return ipv4Text(this.value);
  }
  toJSON(): string {
    return this.toString();
  }
  equals(other: Ipv4Addr | string | number): boolean {
    return ipv4Value(other, 'Ipv4Addr.equals') === this.value;
  }
}

function ipv4Value(x: Ipv4Addr | string | number, where: string): number {
  if (typeof x === 'number') return x >>> 0;
  if (x instanceof Ipv4Addr) return x.value;
  if (!ipNum().Validator.isValidIPv4String(x)[0]) throw ruleInvalid(where, `'${x}' is not an IPv4 address`);
  return Number(ipNum().IPv4.fromString(x).value);
}

/** `ipv4.addr('10.0.0.1')` or `ipv4.addr(0x0a000001)`. */
export function ipv4Addr(x: string | number): Ipv4Addr {
  return new Ipv4Addr(ipv4Value(x, 'ipv4.addr'));
}

export class Ipv4Network {
  readonly net: Ipv4Addr;
  readonly mask: Ipv4Addr;
  readonly prefix: number;
  /** Kept as plain numbers for contains(). */
  readonly #net: number;
  readonly #mask: number;
  constructor(net: number, prefix: number) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    this.#mask = mask;
    this.#net = (net & mask) >>> 0;
    this.net = new Ipv4Addr(this.#net);
    this.mask = new Ipv4Addr(mask);
    this.prefix = prefix;
  }
  /** Address as a uint32 (fast: `pkt.srcInt`), an Ipv4Addr, or dotted text. */
  contains(x: Ipv4Addr | string | number): boolean {
    const v = typeof x === 'number' ? x : ipv4Value(x, 'Ipv4Network.contains');
    return ((v & this.#mask) >>> 0) === this.#net;
  }
  toString(): string {
    return `${this.net.toString()}/${this.prefix}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** `ipv4.network('10.0.0.0/8')` or `ipv4.network(addr, 8)`. */
export function ipv4Network(cidr: string | Ipv4Addr | number, prefix?: number): Ipv4Network {
  if (typeof cidr === 'string' && prefix === undefined) {
    if (!ipNum().Validator.isValidIPv4CidrNotation(cidr)[0]) {
      throw ruleInvalid('ipv4.network', `'${cidr}' is not an IPv4 network (write it as '10.0.0.0/8')`);
    }
    const range = ipNum().IPv4CidrRange.fromCidr(cidr);
    return new Ipv4Network(Number(range.getFirst().value), Number(range.cidrPrefix.value));
  }
  if (prefix === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) {
    throw ruleInvalid('ipv4.network', `prefix ${String(prefix)} must be an integer from 0 to 32`);
  }
  return new Ipv4Network(ipv4Value(cidr, 'ipv4.network'), prefix);
}

export class Ipv6Addr {
  readonly value: bigint;
  constructor(value: bigint) {
    this.value = value;
  }
  /** RFC 5952 text. */
  toString(): string {
    return ipNum().collapseIPv6Number(ipNum().IPv6.fromBigInt(this.value).toString());
  }
  toJSON(): string {
    return this.toString();
  }
  equals(other: Ipv6Addr | string): boolean {
    return ipv6Value(other, 'Ipv6Addr.equals') === this.value;
  }
}

function ipv6Value(x: Ipv6Addr | string | bigint, where: string): bigint {
  if (typeof x === 'bigint') return x;
  if (x instanceof Ipv6Addr) return x.value;
  if (!ipNum().Validator.isValidIPv6String(x)[0]) throw ruleInvalid(where, `'${x}' is not an IPv6 address`);
  return ipNum().IPv6.fromString(x).value;
}

export function ipv6Addr(x: string | bigint): Ipv6Addr {
  return new Ipv6Addr(ipv6Value(x, 'ipv6.addr'));
}

export class Ipv6Network {
  readonly net: Ipv6Addr;
  readonly prefix: number;
  readonly #net: bigint;
  readonly #mask: bigint;
  constructor(net: bigint, prefix: number) {
    const all = (1n << 128n) - 1n;
    this.#mask = prefix === 0 ? 0n : (all << BigInt(128 - prefix)) & all;
    this.#net = net & this.#mask;
    this.net = new Ipv6Addr(this.#net);
    this.prefix = prefix;
  }
  contains(x: Ipv6Addr | string | bigint): boolean {
    return (ipv6Value(x, 'Ipv6Network.contains') & this.#mask) === this.#net;
  }
  toString(): string {
    return `${this.net.toString()}/${this.prefix}`;
  }
  toJSON(): string {
    return this.toString();
  }
}

export function ipv6Network(cidr: string | Ipv6Addr, prefix?: number): Ipv6Network {
  if (typeof cidr === 'string' && prefix === undefined) {
    if (!ipNum().Validator.isValidIPv6CidrNotation(cidr)[0]) {
      throw ruleInvalid('ipv6.network', `'${cidr}' is not an IPv6 network (write it as '2001:db8::/32')`);
    }
    const range = ipNum().IPv6CidrRange.fromCidr(cidr);
    return new Ipv6Network(range.getFirst().value, Number(range.cidrPrefix.value));
  }
  if (prefix === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) {
    throw ruleInvalid('ipv6.network', `prefix ${String(prefix)} must be an integer from 0 to 128`);
  }
  return new Ipv6Network(ipv6Value(cidr, 'ipv6.network'), prefix);
}
