/**
 * The checksum policy (config `checksumValidation`, `badChecksumPolicy`): whether checksums are
 * verified, what a bad one costs the packet, and `auto`'s decision from the first transport
 * packets (Suricata's checksum-validation: auto).
 */
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Stats } from './stats.ts';

/** Transport packets sampled by checksumValidation 'auto' before deciding (Suricata's figure). */
const AUTO_CHECKSUM_SAMPLE = 1000;

export type ChecksumAnomaly = 'ipv4-bad-checksum' | 'tcp-bad-checksum' | 'udp-bad-checksum' | 'icmp-bad-checksum';

export class ChecksumPolicy {
  /** Checksums are verified (a plain field: read per packet). */
  verify: boolean;
  #sampling: boolean;
  #sampled = 0;
  #sampledBad = 0;
  readonly #accept: boolean;
  readonly #stats: Stats;
  readonly #log: Logger;

  constructor(config: Config, stats: Stats, log: Logger) {
    this.verify = config.checksumValidation !== 'never';
    this.#sampling = config.checksumValidation === 'auto';
    this.#accept = config.badChecksumPolicy === 'accept';
    this.#stats = stats;
    this.#log = log;
  }

  /**
   * Counts a bad checksum and applies the policy: false drops the packet. In `auto` mode the
   * first transport packets decide: a capture taken where the NIC computes checksums has most
   * outgoing ones wrong.
   */
  ok(ok: boolean, anomaly: ChecksumAnomaly, transport: boolean): boolean {
    if (transport && this.#sampling) this.#sample(ok);
    if (ok) return true;
    this.#stats.anomaly(anomaly);
    return this.#accept;
  }

  #sample(ok: boolean): void {
    this.#sampled++;
    if (!ok) this.#sampledBad++;
    if (this.#sampled !== AUTO_CHECKSUM_SAMPLE) return;
    this.#sampling = false;
    if (this.#sampledBad * 10 > this.#sampled) {
      this.verify = false;
      this.#log.warn(
        { sampled: this.#sampled, bad: this.#sampledBad },
        'checksum validation turned off: more than 10% of checksums are wrong (checksum offload?); set checksumValidation to "always" to keep it',
      );
    }
  }
}
