/**
 * The engine: one packet source's dissector chain, rule registry, clock and verdicts. One frame
 * is fully handled (every event, every rule) before the next; views are reused frame to frame.
 */
import type { Logger } from 'pino';
import { Packet } from './packet.ts';
import { Stats } from './stats.ts';
import { PacketClock } from './clock.ts';
import { defaultConfig, validateConfig, type Config } from './config.ts';
import { ruleInvalid, ruleLoadError, PalisadeError } from './errors.ts';
import {
  allEvents,
  engineEvents,
  icmpEvents,
  ipv4Events,
  ipv6Events,
  isEventDescriptor,
  packetEvents,
  tcpEvents,
  udpEvents,
  type AnyEvent,
  type Layer,
} from './events.ts';
import { callerLocation, flowState, releaseFlowState, runSetup, type FlowStores, type RuleContext, type RuleFunction, type RuleSet, type RuleSpec, type StreamedRuleSpec } from './rules.ts';
import { AlertWriter, type AlertHandle, type AlertInput, type AlertRecord } from './alert.ts';
import { alertLogger, openDestination, ruleLogger, type Destination, type LogTarget } from './log.ts';
import { LinkLayer, dissectLink } from '../dissectors/link.ts';
import { Ipv4Packet, dissectIpv4 } from '../dissectors/ipv4.ts';
import { Ipv6Packet, dissectIpv6 } from '../dissectors/ipv6.ts';
import { TcpPacket, dissectTcp } from '../dissectors/tcp.ts';
import { UdpPacket, dissectUdp } from '../dissectors/udp.ts';
import { IcmpPacket, dissectIcmp } from '../dissectors/icmp.ts';
import { FragmentReassembler } from '../dissectors/fragments.ts';
import { FLOW_BYTES, TcpTracker, TcpStream, tcpConnectionEvents, type Direction, type HeldFrame, type TrackerHost } from '../dissectors/tcp-connection/index.ts';
import type { Hold } from '../dissectors/tcp-connection/hold.ts';
import { dissectorEmitter, enabledDissectors, type FlowDissector } from '../dissectors/tcp-connection/flow-dissector.ts';
import { flowRecord } from '../dissectors/tcp-connection/flow-log.ts';
import type { FlowRecord } from '../dissectors/flow/record.ts';
import { ARMED, BEAT } from './watchdog/heartbeat.js';
import { RuleErrors } from './rule-errors.ts';
import { UdpTracker, udpFlowRecord } from '../dissectors/udp-connection/index.ts';
import { UdpFlow } from '../dissectors/udp-connection/flow.ts';
import { TcpFlow } from '../dissectors/tcp-connection/flow.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../dissectors/ethertypes.ts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../dissectors/ip-protocols.ts';

export type Verdict = 'accept' | 'drop' | 'pending';

/** Where settled frames go: the output capture in replay, NFQUEUE verdicts inline. */
export interface EngineOutput {
  /** A frame that passes. `bytes` is valid only during the call. */
  forward(bytes: Buffer, secs: number, nsecs: number, linkType: number, id: number): void;
  /** A frame that is dropped. */
  drop?(id: number): void;
  /** A frame palisade crafted (a RST), sent now. `bytes` is palisade's own copy. */
  inject?(bytes: Buffer, secs: number, nsecs: number, linkType: number): void;
}

export interface EngineOptions {
  rules: RuleSet | readonly RuleSet[];
  /** A full or partial configuration; validated. */
  config?: unknown;
  output?: EngineOutput;
  /** Alert JSON lines: stdout by default. */
  alerts?: LogTarget;
  /** Rule file logs: stderr by default. */
  log?: LogTarget;
  /** Called with each alert record as it is written. */
  onAlert?: (record: AlertRecord) => void;
  /** One record per finished connection (Zeek conn.log fields), e.g. for --flows. */
  onFlow?: (record: FlowRecord) => void;
  /** Run every rule and alert, forward every frame (monitor only). */
  passThrough?: boolean;
  /**
   * A rule watchdog's heartbeat (core/watchdog/heartbeat.js): bumped for every packet and every
   * resumed streamed run, armed while streamed runs settle.
   */
  heartbeat?: Int32Array;
}

interface Listener {
  readonly name: string;
  readonly fn: (a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown;
}

interface StreamedListener {
  readonly name: string;
  readonly fn: StreamedRuleSpec['eval'];
}

const ACCEPT = 0;
const DROP = 1;
const PENDING = 2;
const verdictNames: readonly Verdict[] = ['accept', 'drop', 'pending'];

/** Transport packets sampled by checksumValidation 'auto' before deciding (Suricata's figure). */
const AUTO_CHECKSUM_SAMPLE = 1000;
/** What a held fragment costs beyond its bytes: its frame record and the Buffer objects (measured ~460 B for tiny fragments, Buffer pool slabs included, so a round figure below it). */
const HELD_FRAME_OVERHEAD = 256;

/** How long settle() waits for a streamed rule that awaits something other than its stream. */
const SETTLE_LIMIT_MS = 1000;

/** An `eval` that returned a promise (an async rule). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * What a rule threw, as text, whatever it was: an Error, a string, an object without toString
 * (Object.create(null)), an Error whose message getter throws. Never throws itself: it runs in
 * the handler that keeps a rule's fault from ending the engine.
 */
function describeThrown(err: unknown): { message: string; stack?: string } {
  const text = (read: () => unknown): string | undefined => {
    try {
      return String(read());
    } catch {
      return undefined;
    }
  };
  // A coded error (a rule misusing palisade's API) keeps its code in the message.
  if (err instanceof PalisadeError) return { message: err.toString(), stack: text(() => err.stack ?? '') };
  if (err instanceof Error) {
    return { message: text(() => err.message) ?? text(() => Object.prototype.toString.call(err)) ?? 'an Error', stack: text(() => err.stack ?? '') };
  }
  return { message: text(() => err) ?? text(() => Object.prototype.toString.call(err)) ?? 'a value that cannot be printed' };
}

export class Engine {
  readonly config: Config;
  readonly stats = new Stats();
  readonly clock = new PacketClock();

  readonly #lists: Listener[][];
  readonly #output: EngineOutput | undefined;
  readonly #passThrough: boolean;
  readonly #alerts: AlertWriter;
  readonly #log: Logger;
  readonly #ruleErrors: RuleErrors;
  /** The installed rules' flowState stores: a flow's state is released from them when it ends. */
  readonly #flowStores: FlowStores = [];
  readonly #dests: Destination[] = [];
  readonly #onAlert: ((record: AlertRecord) => void) | undefined;

  // Views, reused frame to frame.
  readonly #pkt = new Packet();
  readonly #link = new LinkLayer();
  readonly #ipv4 = new Ipv4Packet();
  readonly #ipv6 = new Ipv6Packet();
  readonly #tcp = new TcpPacket();
  readonly #udp = new UdpPacket();
  readonly #icmp = new IcmpPacket();
  readonly #fragments: FragmentReassembler<HeldFrame>;
  readonly #tracker: TcpTracker;
  readonly #udpTracker: UdpTracker;
  #nextFlowId = 1;
  readonly #onFlow: ((record: FlowRecord) => void) | undefined;

  // Dissectors run only when a rule needs them.
  #needIp = false;
  #needTcp = false;
  #needUdp = false;
  #needIcmp = false;
  #needConnections = false;
  #needUdpConnections = false;

  #checksums: boolean;
  #checksumSampling: boolean;
  /** The frame being pushed has no transport checksum to verify yet. */
  #checksumPartial = false;
  #sampled = 0;
  #sampledBad = 0;

  #frames = 0;
  #rule = '';
  /** Inside push(): rules run for a packet (streamed rules run between pushes). */
  #pushing = false;
  /** The fragments of the datagram being handled (reassembled from IP fragments), or null. */
  #datagramFrames: readonly HeldFrame[] | null = null;
  readonly #streamed: StreamedListener[] = [];
  /** Streamed runs running now (not waiting for bytes). */
  #runnable = 0;
  /** Streams whose waiting run can resume, in the order their bytes came. */
  readonly #ready: TcpStream[] = [];
  /** The streamed rule (or dissector) resumed last: runs resume one at a time. */
  #running = '';
  /** The frame that brought the bytes it resumed for. */
  #runningFrame = 0;
  #settling: Promise<void> | null = null;
  #settleWarned = false;
  readonly #emitters = new Map<FlowDissector, Record<string, (...args: unknown[]) => void>>();
  #started = false;
  #closed = false;
  readonly #beat: Int32Array;

  constructor(options: EngineOptions) {
    this.config = options.config === undefined ? defaultConfig() : validateConfig(options.config);
    this.#output = options.output;
    this.#passThrough = options.passThrough ?? false;
    this.#onAlert = options.onAlert;
    this.#beat = options.heartbeat ?? new Int32Array(2);
    this.#lists = allEvents().map(() => []);
    this.#fragments = new FragmentReassembler<HeldFrame>(this.config.fragments, this.stats);
    this.#checksums = this.config.checksumValidation !== 'never';
    this.#checksumSampling = this.config.checksumValidation === 'auto';

    const alertDest = openDestination(options.alerts ?? 'stdout');
    const logDest = openDestination(options.log ?? 'stderr');
    this.#dests.push(alertDest, logDest);
    this.#alerts = new AlertWriter(alertLogger(alertDest, this.clock), (record) => {
      this.stats.alerts++;
      this.#onAlert?.(record);
    });
    this.#log = ruleLogger(logDest, this.clock, this.config.logLevel);
    this.#ruleErrors = new RuleErrors(this.stats, this.#log, () => this.clock.now);
    this.#onFlow = options.onFlow;
    const nextId = (): number => this.#nextFlowId++;
    const host = this.#trackerHost();
    this.#tracker = new TcpTracker(host, this.config.tcp, this.stats, nextId, this.config.memcap);
    this.#udpTracker = new UdpTracker(
      {
        packet: host.packet,
        clock: host.clock,
        emit: host.emit,
        listening: host.listening,
        flowEnded: (flow: UdpFlow) => {
          releaseFlowState(this.#flowStores, flow);
          this.stats.connections++;
          this.#onFlow?.(udpFlowRecord(flow, this.clock.now));
        },
      },
      this.config.udp,
      nextId,
    );

    const sets: readonly RuleSet[] = isRuleSetList(options.rules) ? options.rules : [options.rules];
    for (const set of sets) this.#install(set);
    this.#enableDissectors();
  }

  // ---- rule registration -------------------------------------------------------------------

  #install(set: RuleSet): void {
    const ctx = this.#context(set);
    try {
      this.#flowStores.push(...runSetup(set, ctx));
    } catch (err) {
      if (err instanceof PalisadeError) throw err;
      throw ruleLoadError(set.source, `its defineRules() setup threw: ${(err as Error).message}`, err);
    }
  }

  #context(set: RuleSet): RuleContext {
    const log = this.#log.child({ rules: set.source });
    const check = (where: string, kind: string, spec: unknown): { on: AnyEvent; name: string } => {
      if (typeof spec !== 'object' || spec === null) throw ruleInvalid(where, `${kind}() needs an object`);
      const s = spec as { on?: unknown; name?: unknown };
      const name = typeof s.name === 'string' && s.name !== '' ? s.name : where;
      if (!isEventDescriptor(s.on)) {
        throw ruleInvalid(
          where,
          `${kind} '${name}': 'on' is ${s.on === undefined ? 'missing' : 'not a palisade event'}; use an event such as tcp.events.receivePacket`,
        );
      }
      return { on: s.on, name };
    };
    const isFn = (f: unknown): f is (...args: unknown[]) => unknown => typeof f === 'function';

    const rule = (spec: StreamedRuleSpec | RuleSpec<AnyEvent>): void => {
      const where = callerLocation().text;
      const { on, name } = check(where, 'rule', spec);
      if (!isFn(spec.eval)) throw ruleInvalid(where, `rule '${name}' has no eval function; add eval: (...) => { … }`);
      if (spec.options?.streamed === true) {
        if (on !== tcpConnectionEvents.receiveData) {
          throw ruleInvalid(where, `rule '${name}': options.streamed needs on: tcpConnection.events.receiveData, not ${on.name}`);
        }
        this.#streamed.push({ name, fn: spec.eval as StreamedRuleSpec['eval'] });
        return;
      }
      (this.#lists[on.id] ??= []).push({ name, fn: spec.eval });
    };
    return {
      rule: rule as RuleFunction,
      ruleGroup: (spec) => {
        const where = callerLocation().text;
        const { on, name } = check(where, 'ruleGroup', spec);
        for (const key of ['init', 'continue', 'final'] as const) {
          if (spec[key] !== undefined && !isFn(spec[key])) throw ruleInvalid(where, `ruleGroup '${name}': ${key} must be a function`);
        }
        const rules: Listener[] = [];
        (this.#lists[on.id] ??= []).push({ name, fn: this.#groupRunner(name, spec, rules) });
        return {
          name,
          rule: (r) => {
            const at = callerLocation().text;
            if (typeof r !== 'object' || !isFn(r.eval)) {
              throw ruleInvalid(at, `rule in group '${name}' has no eval function; add eval: (...) => { … }`);
            }
            rules.push({ name: typeof r.name === 'string' && r.name !== '' ? r.name : at, fn: r.eval });
          },
        };
      },
      alert: (input: AlertInput): AlertHandle =>
        this.#alerts.raise(this.#ruleName(), this.#alertPacket(), input),
      log,
      flowState,
    };
  }

  get #inPacket(): boolean {
    return this.#pushing;
  }

  /** The frame an alert names: the packet being judged, or the one whose bytes a streamed rule just read. */
  #alertPacket(): number | undefined {
    if (this.#inPacket) return this.#pkt.id;
    return this.#running !== '' && this.#runningFrame > 0 ? this.#runningFrame : undefined;
  }

  /** The rule running now: a listener of the current event, or a streamed rule across its awaits. */
  #ruleName(): string {
    return this.#rule !== '' ? this.#rule : this.#running;
  }

  /** Haka's group: init, then each rule with `continue` after it; `final` if none stopped it. */
  #groupRunner(
    name: string,
    spec: { init?: unknown; continue?: unknown; final?: unknown },
    rules: Listener[],
  ): Listener['fn'] {
    const init = spec.init as Listener['fn'] | undefined;
    const cont = (spec.continue as ((ret: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown) | undefined) ??
      ((ret: unknown) => !ret);
    const final = spec.final as Listener['fn'] | undefined;
    const pkt = this.#pkt;
    return (a, b, c, d) => {
      if (init) {
        this.#rule = name;
        init(a, b, c, d);
        if (pkt.dropped) return;
      }
      for (const r of rules) {
        this.#rule = r.name;
        let ret: unknown;
        try {
          ret = r.fn(a, b, c, d);
          if (isThenable(ret)) this.#watch(r.name, ret, a);
        } catch (err) {
          this.#ruleError(r.name, err);
        }
        if (pkt.dropped) return;
        this.#rule = name;
        if (!cont(ret, a, b, c, d)) return;
      }
      if (final) {
        this.#rule = name;
        final(a, b, c, d);
      }
    };
  }

  #enableDissectors(): void {
    const used = (layer: Layer): boolean => allEvents().some((ev) => ev.layer === layer && (this.#lists[ev.id]?.length ?? 0) > 0);
    this.#needConnections = used('tcpConnection') || this.#streamed.length > 0;
    this.#needUdpConnections = used('udpConnection');
    this.#needTcp = used('tcp') || this.#needConnections;
    this.#needUdp = used('udp') || this.#needUdpConnections;
    this.#needIcmp = used('icmp');
    this.#needIp = this.#needTcp || this.#needUdp || this.#needIcmp || used('ipv4') || used('ipv6');
  }

  // ---- dispatch ----------------------------------------------------------------------------

  #emit(ev: AnyEvent, a?: unknown, b?: unknown, c?: unknown, d?: unknown): void {
    const list = this.#lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const pkt = this.#pkt;
    for (const l of list) {
      this.#rule = l.name;
      try {
        const ret = l.fn(a, b, c, d);
        if (isThenable(ret)) this.#watch(l.name, ret, a);
      } catch (err) {
        this.#ruleError(l.name, err);
      }
      // Haka: once the packet is dropped, later listeners do not see it.
      if (pkt.dropped) break;
    }
    this.#rule = '';
  }

  /**
   * An async `eval` on a plain (not streamed) event: the packet's verdict did not wait for it, so
   * a rejection is counted as a rule error when it comes and `ruleErrorPolicy` applies to the
   * flow the event was about (dropped under `drop`), never an unhandled rejection. Replay settles
   * it before the next packet, so the outcome does not depend on timing.
   */
  #watch(name: string, pending: PromiseLike<unknown>, subject: unknown): void {
    // Counted as running, so that settle() (replay, after each such packet) waits for it.
    this.#runnable++;
    const done = (): void => {
      this.#runnable = Math.max(0, this.#runnable - 1);
    };
    pending.then(done, (err: unknown) => {
      done();
      if (this.#closed) return;
      const flow = subject instanceof TcpFlow || subject instanceof UdpFlow ? subject : undefined;
      this.#ruleError(name, err, flow);
    });
  }

  /** Read through a call: TypeScript cannot see that a listener may have dropped the packet. */
  #dropped(): boolean {
    return this.#pkt.dropped;
  }

  #has(ev: AnyEvent): boolean {
    return (this.#lists[ev.id]?.length ?? 0) > 0;
  }

  #ruleError(name: string, err: unknown, flow?: TcpFlow | UdpFlow): void {
    const { message, stack } = describeThrown(err);
    // A rule's first few errors in full; the rest counted and summarised (core/rule-errors.ts).
    if (this.#ruleErrors.record(name, message)) {
      this.#log.error({ rule: name, err: { message, stack }, packet: this.#inPacket ? this.#pkt.id : undefined }, `rule '${name}' threw: ${message}`);
      this.#alerts.raise(name, this.#alertPacket(), { description: `rule error: ${message}` }, { error: message });
    }
    if (this.config.ruleErrorPolicy !== 'drop') return;
    // Between packets (a streamed rule) there is no packet to drop: fail closed on its flow.
    if (this.#inPacket) this.#pkt.drop();
    else flow?.drop();
  }

  // ---- streamed rules and flow dissectors -------------------------------------------------------

  /** A direction's first byte: one stream and one run per streamed rule and enabled dissector. */
  #openStreams(flow: TcpFlow, direction: Direction, hold: Hold): void {
    for (const r of this.#streamed) this.#run(r.name, flow, hold, (stream) => r.fn(flow, stream, direction));
    for (const d of enabledDissectors(flow)) {
      let emit = this.#emitters.get(d);
      if (emit === undefined) {
        emit = dissectorEmitter(d, (ev, args) => {
          this.#emitFlowEvent(ev, args);
        });
        this.#emitters.set(d, emit);
      }
      const e = emit;
      this.#run(d.name, flow, hold, (stream) => d.receiveStreamed(flow, stream, direction, e));
    }
    if (hold.streams.length === 0) hold.active = false;
  }

  #run(name: string, flow: TcpFlow, hold: Hold, body: (stream: TcpStream) => Promise<void> | void): void {
    const stream = new TcpStream(hold, hold.next);
    stream.runName = name;
    hold.streams.push(stream);
    this.#runnable++;
    // The body runs now, inside the packet, up to its first wait.
    const outer = this.#running;
    this.#running = name;
    void (async () => {
      try {
        await body(stream);
      } catch (err) {
        this.#ruleError(name, err, flow);
      } finally {
        this.#runnable = Math.max(0, this.#runnable - 1);
        stream.finish();
      }
    })();
    this.#running = outer;
  }

  /** A flow dissector's event, raised from its run: once the flow is dropped, later listeners skip it. */
  #emitFlowEvent(ev: AnyEvent, args: readonly unknown[]): void {
    const list = this.#lists[ev.id];
    if (list === undefined || list.length === 0) return;
    const flow = args[0] as TcpFlow | undefined;
    // Read through a call: a listener may drop the flow between two reads.
    const stopped = (): boolean => flow?.dropped === true || (this.#inPacket && this.#pkt.dropped);
    // A dropped or reset flow's later events (bytes its dissector had buffered) reach no rule.
    if (stopped()) return;
    const outer = this.#rule;
    for (const l of list) {
      this.#rule = l.name;
      try {
        l.fn(...args);
      } catch (err) {
        this.#ruleError(l.name, err, flow);
      }
      if (stopped()) break;
    }
    this.#rule = outer;
  }

  /** Streamed runs are running or ready to resume: `await settle()` before the next packet. */
  get busy(): boolean {
    return this.#runnable > 0 || this.#ready.length > 0;
  }

  /**
   * Lets streamed rules run until each waits for bytes that have not arrived (or has ended):
   * runs resume one at a time, in the order their bytes came, so a replay is deterministic and
   * each packet is fully judged before the next is read. Also runs by itself after a push.
   */
  settle(): Promise<void> {
    if (this.#settling === null && this.busy) this.#settling = this.#settleLoop();
    return this.#settling ?? Promise.resolve();
  }

  /**
   * Resumes ready runs one at a time, each until it waits again: microtask turns first (a run
   * resumed by a read), then whole event-loop turns for a rule that awaits something else (a
   * timer, I/O), up to SETTLE_LIMIT_MS: a rule awaiting what never comes must not stop the engine.
   * One loop, no nested async calls: replay settles after every packet that fed a stream.
   */
  async #settleLoop(): Promise<void> {
    let turns = 0;
    let since = 0;
    // Never finishes synchronously: settle() must have stored this promise before it ends.
    await Promise.resolve();
    // Armed while runs resume (inline they resume after the batch that fed them); every turn is progress.
    const beat = this.#beat;
    Atomics.add(beat, ARMED, 1);
    for (;;) {
      Atomics.add(beat, BEAT, 1);
      if (this.#runnable > 0) {
        if (turns++ < 64) {
          await Promise.resolve();
          continue;
        }
        if (since === 0) since = performance.now();
        else if (performance.now() - since > SETTLE_LIMIT_MS) {
          if (!this.#settleWarned) {
            this.#settleWarned = true;
            this.#log.warn({ rule: this.#running, limitMs: SETTLE_LIMIT_MS }, 'a rule awaits something other than its stream; going on without waiting for it');
          }
          // Counted as waiting from now on; when it waits on its stream, the count stays at 0.
          this.#runnable = 0;
          continue;
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const stream = this.#ready.shift();
      if (stream === undefined) break;
      turns = 0;
      since = 0;
      this.#running = stream.runName;
      this.#runningFrame = stream.lastFrame;
      if (stream.resume()) this.#runnable++;
    }
    Atomics.sub(beat, ARMED, 1);
    this.#running = '';
    this.#runningFrame = 0;
    this.#settling = null;
  }

  // ---- the packet path ---------------------------------------------------------------------

  /** Fires `engine.events.started` (also done by the first push). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#emit(engineEvents.started);
  }

  /**
   * Handles one frame: every event and rule, then its verdict. `pending` means the frame is held
   * (an IP fragment waiting for the rest); its verdict reaches `output` later. `checksumPartial`:
   * the transport checksum is not computed yet (inline, NFQA_SKB_CSUMNOTREADY: the sending host
   * leaves it to the NIC, or a GSO super-packet), so it is not verified.
   */
  push(bytes: Buffer, timestamp: { readonly secs: number; readonly nsecs: number }, linkType: number, checksumPartial = false): Verdict {
    if (!this.#started) this.start();
    this.#checksumPartial = checksumPartial;
    const id = ++this.#frames;
    // A plain store: the watcher only needs it to change.
    this.#beat[BEAT] = id;
    this.stats.packets++;
    this.stats.bytes += bytes.length;
    this.clock.advance(timestamp.secs, timestamp.nsecs);
    if (this.#fragments.pending > 0) this.#fragments.expire(this.clock.now, this.#dropHeld);
    if (this.#needConnections) this.#tracker.expire(this.clock.now);
    if (this.#needUdpConnections) this.#udpTracker.expire(this.clock.now);
    const pkt = this.#pkt;
    pkt.reset(bytes, timestamp.secs, timestamp.nsecs, linkType, id);
    this.#pushing = true;
    let v: number;
    try {
      v = this.#frame();
    } finally {
      this.#pushing = false;
    }
    // A frame held for streamed rules: its verdict comes when they have read its bytes.
    if (this.#needConnections && this.#tracker.settleHeld(v === ACCEPT) !== null && v === ACCEPT) return 'pending';
    if (v === ACCEPT) this.#forwardCurrent();
    else if (v === DROP) this.#dropCurrent();
    return verdictNames[v] as Verdict;
  }

  #frame(): number {
    const pkt = this.#pkt;
    this.#emit(packetEvents.receivePacket, pkt);
    if (pkt.dropped) return DROP;
    if (!this.#needIp) return ACCEPT;

    const link = this.#link;
    if (!dissectLink(pkt.linkType, pkt.bytes, link, this.stats)) return this.#malformed();
    if (link.etherType === ETHERTYPE_IPV4) {
      const ip = this.#ipv4;
      if (!dissectIpv4(ip, pkt, pkt.bytes, link.offset, this.stats)) return this.#malformed();
      if (this.#checksums && !this.#checksumOk(ip.verifyChecksum(), 'ipv4-bad-checksum', false)) return DROP;
      if (ip.isFragment) return this.#fragment(ip);
      return this.#ip(ip, ipv4Events.receivePacket, ipv4Events.sendPacket);
    }
    if (link.etherType === ETHERTYPE_IPV6) {
      const ip = this.#ipv6;
      if (!dissectIpv6(ip, pkt, pkt.bytes, link.offset, this.stats)) return this.#malformed();
      if (ip.isFragment) return this.#fragment(ip);
      return this.#ip(ip, ipv6Events.receivePacket, ipv6Events.sendPacket);
    }
    // ARP, STP, LLDP…: not ours to judge.
    this.stats.nonIp++;
    return ACCEPT;
  }

  #malformed(): number {
    return this.config.malformedPolicy === 'drop' ? DROP : ACCEPT;
  }

  /** IP receive, transport, then send events from the inside out. */
  #ip(ip: Ipv4Packet | Ipv6Packet, receive: AnyEvent, send: AnyEvent): number {
    this.#emit(receive, ip);
    if (this.#dropped()) return DROP;
    const proto = ip.proto;
    if (proto === IPPROTO_TCP && this.#needTcp) {
      const tcp = this.#tcp;
      if (!dissectTcp(tcp, ip, this.stats)) return this.#malformed();
      // A segment the capture cut cannot be verified: that is no bad checksum.
      if (this.#checksums && !ip.truncated && !this.#checksumPartial && !this.#checksumOk(tcp.verifyChecksum(), 'tcp-bad-checksum', true)) return DROP;
      this.#emit(tcpEvents.receivePacket, tcp);
      if (this.#dropped()) return DROP;
      if (this.#needConnections && this.#tracker.receive(tcp)) return DROP;
      this.#emit(tcpEvents.sendPacket, tcp);
    } else if (proto === IPPROTO_UDP && this.#needUdp) {
      const udp = this.#udp;
      if (!dissectUdp(udp, ip, this.stats)) return this.#malformed();
      if (this.#checksums && !ip.truncated && !this.#checksumPartial && !this.#checksumOk(udp.verifyChecksum(), 'udp-bad-checksum', true)) return DROP;
      this.#emit(udpEvents.receivePacket, udp);
      if (this.#dropped()) return DROP;
      if (this.#needUdpConnections && this.#udpTracker.receive(udp)) return DROP;
      this.#emit(udpEvents.sendPacket, udp);
    } else if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && this.#needIcmp) {
      const icmp = this.#icmp;
      if (!dissectIcmp(icmp, ip, this.stats)) return this.#malformed();
      if (this.#checksums && !ip.truncated && !this.#checksumPartial && !this.#checksumOk(icmp.verifyChecksum(), 'icmp-bad-checksum', true)) return DROP;
      this.#emit(icmpEvents.receivePacket, icmp);
      if (this.#dropped()) return DROP;
      this.#emit(icmpEvents.sendPacket, icmp);
    }
    if (this.#dropped()) return DROP;
    this.#emit(send, ip);
    return this.#dropped() ? DROP : ACCEPT;
  }

  /**
   * Counts a bad checksum and applies the policy. In `auto` mode the first transport packets
   * decide: a capture taken where the NIC computes checksums has most outgoing ones wrong.
   */
  #checksumOk(ok: boolean, anomaly: 'ipv4-bad-checksum' | 'tcp-bad-checksum' | 'udp-bad-checksum' | 'icmp-bad-checksum', transport: boolean): boolean {
    if (transport && this.#checksumSampling) {
      this.#sampled++;
      if (!ok) this.#sampledBad++;
      if (this.#sampled === AUTO_CHECKSUM_SAMPLE) {
        this.#checksumSampling = false;
        if (this.#sampledBad * 10 > this.#sampled) {
          this.#checksums = false;
          this.#log.warn(
            { sampled: this.#sampled, bad: this.#sampledBad },
            'checksum validation turned off: more than 10% of checksums are wrong (checksum offload?); set checksumValidation to "always" to keep it',
          );
        }
      }
    }
    if (ok) return true;
    this.stats.anomaly(anomaly);
    return this.config.badChecksumPolicy === 'accept';
  }

  /** Holds a fragment; when its datagram completes, runs it and settles every fragment. */
  #fragment(ip: Ipv4Packet | Ipv6Packet): number {
    const pkt = this.#pkt;
    const ts = pkt.timestamp;
    const frame: HeldFrame = {
      id: pkt.id,
      bytes: Buffer.from(pkt.bytes),
      secs: ts.secs,
      nsecs: ts.nsecs,
      linkType: pkt.linkType,
      linkOffset: this.#link.offset,
    };
    const r = this.#fragments.add(ip, frame, this.clock.now, frame.bytes.length + HELD_FRAME_OVERHEAD);
    if (r.status === 'pending') return PENDING;
    const earlier = r.frames.filter((f) => f.id !== frame.id);
    if (r.status === 'drop') {
      this.#dropHeld(earlier);
      return DROP;
    }
    let v: number;
    this.#datagramFrames = r.frames;
    try {
      if (ip.version === 4) {
        const view = this.#ipv4;
        v = dissectIpv4(view, pkt, r.datagram, 0, this.stats)
          ? this.#ip(view, ipv4Events.receivePacket, ipv4Events.sendPacket)
          : this.#malformed();
      } else {
        const view = this.#ipv6;
        v = dissectIpv6(view, pkt, r.datagram, 0, this.stats)
          ? this.#ip(view, ipv6Events.receivePacket, ipv6Events.sendPacket)
          : this.#malformed();
      }
    } finally {
      this.#datagramFrames = null;
    }
    // The datagram's verdict applies to every fragment; the output keeps the original frames.
    if (v === DROP) {
      this.#dropHeld(earlier);
      return DROP;
    }
    // Held for streamed rules: every fragment waits, and goes (or is dropped) with the segment.
    if (this.#needConnections && this.#tracker.heldNow) return ACCEPT;
    for (const f of earlier) {
      pkt.reset(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
      this.#forwardCurrent();
    }
    pkt.reset(frame.bytes, frame.secs, frame.nsecs, frame.linkType, frame.id);
    return ACCEPT;
  }

  readonly #dropHeld = (frames: readonly HeldFrame[]): void => {
    for (const f of frames) {
      this.stats.dropped++;
      if (this.#passThrough) this.#output?.forward(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
      else this.#output?.drop?.(f.id);
    }
  };

  /** `packet.sendPacket`, then the frame goes out (or is dropped there). */
  #forwardCurrent(): void {
    const pkt = this.#pkt;
    if (this.#has(packetEvents.sendPacket)) {
      this.#emit(packetEvents.sendPacket, pkt);
      if (pkt.dropped) {
        this.#dropCurrent();
        return;
      }
    }
    this.stats.accepted++;
    const ts = pkt.timestamp;
    this.#output?.forward(pkt.bytes, ts.secs, ts.nsecs, pkt.linkType, pkt.id);
  }

  #dropCurrent(): void {
    const pkt = this.#pkt;
    this.stats.dropped++;
    if (this.#passThrough) {
      const ts = pkt.timestamp;
      this.#output?.forward(pkt.bytes, ts.secs, ts.nsecs, pkt.linkType, pkt.id);
    } else {
      this.#output?.drop?.(pkt.id);
    }
  }

  /**
   * End of input: fragments that never completed are dropped, open connections end ('shutdown').
   * Streamed rules then see the end of their streams: `await settle()` before close().
   */
  flush(): void {
    this.#fragments.flush(this.#dropHeld);
    this.#pkt.dropped = false;
    this.#tracker.shutdown();
    this.#udpTracker.shutdown();
  }

  /** Connections in the table now. */
  /** The frame number the next push() gives its frame (frames are numbered from 1, as in the capture). */
  get nextFrame(): number {
    return this.#frames + 1;
  }

  get flows(): number {
    return this.#tracker.table.size;
  }

  /** Bytes held by stream reassembly now. */
  get reassemblyMemory(): number {
    return this.#tracker.reassemblyMemory;
  }

  /** The first write error of the alert or log output, or null (the run loop ends the run with it). */
  get outputFailure(): PalisadeError | null {
    for (const d of this.#dests) {
      const f = d.failure();
      if (f !== null) return f;
    }
    return null;
  }

  /** Bytes the engine holds now, as `memcap` counts them. */
  get memory(): number {
    return this.#tracker.memory;
  }

  /** Past `memcap`: emergency timeouts until back under three quarters of it. */
  get emergency(): boolean {
    return this.#tracker.emergency;
  }

  /** Bytes held by IP fragment reassembly now (fragment data and the frames kept with it). */
  get fragmentMemory(): number {
    return this.#fragments.memory;
  }

  /** Bytes of frames held for streamed rules now. */
  get heldMemory(): number {
    return this.#tracker.heldMemory;
  }

  // ---- inline: idle timers, ctl reload, ctl loglevel ------------------------------------------

  /** The rule running now and the frame it is about, for a watchdog that stopped it. */
  get running(): { rule: string; frame: number | undefined } {
    return { rule: this.#ruleName(), frame: this.#alertPacket() };
  }

  /**
   * After a rule was stopped mid-run (rules.timeoutMs) or the heap passed its limit: the engine's
   * state is cut mid-packet, so no rule runs again and nothing held is released; what was
   * written (alerts, logs) is flushed.
   */
  halt(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of this.#dests) d.flush();
  }

  /** Advances the clock with no packet (inline, when the queue is idle): timeouts fire. */
  tick(timestamp: { readonly secs: number; readonly nsecs: number }): void {
    this.clock.advance(timestamp.secs, timestamp.nsecs);
    // The last packet's verdict is settled: its drop must not skip listeners of expiring flows.
    this.#pkt.dropped = false;
    if (this.#fragments.pending > 0) this.#fragments.expire(this.clock.now, this.#dropHeld);
    if (this.#needConnections) this.#tracker.expire(this.clock.now);
    if (this.#needUdpConnections) this.#udpTracker.expire(this.clock.now);
  }

  /**
   * Swaps in new rule sets and keeps the flow table (`palisade ctl reload`); call it between
   * packets. A set that fails to install leaves the old rules in place, and its error is thrown.
   */
  replaceRules(rules: RuleSet | readonly RuleSet[]): void {
    const sets: readonly RuleSet[] = isRuleSetList(rules) ? rules : [rules];
    const lists = this.#lists.map((l) => l.slice());
    const streamed = this.#streamed.splice(0);
    const stores = this.#flowStores.splice(0);
    for (const l of this.#lists) l.length = 0;
    try {
      for (const set of sets) this.#install(set);
    } catch (err) {
      lists.forEach((l, i) => (this.#lists[i] = l));
      this.#streamed.splice(0, this.#streamed.length, ...streamed);
      this.#flowStores.splice(0, this.#flowStores.length, ...stores);
      throw err;
    }
    this.#enableDissectors();
    // New flows get reassembly (or lose it) as the new rules want; open ones keep what they have.
    this.#tracker.rulesChanged();
    this.#udpTracker.rulesChanged();
    if (this.#started) {
      this.#pkt.dropped = false;
      this.#emit(engineEvents.started);
    }
  }

  /** The level of the rule files' `log` (`palisade ctl loglevel`). */
  setLogLevel(level: Config['logLevel']): void {
    this.config.logLevel = level;
    this.#log.level = level;
  }

  #trackerHost(): TrackerHost {
    const pkt = this.#pkt;
    const clock = this.clock;
    const link = this.#link;
    return {
      packet: pkt,
      clock,
      link,
      emit: (ev, a, b, c, d) => {
        this.#emit(ev, a, b, c, d);
      },
      listening: (ev) => this.#has(ev),
      inject: (frame, linkType) => {
        this.stats.injected++;
        const ts = this.#pkt.timestamp;
        this.#output?.inject?.(frame, ts.secs, ts.nsecs, linkType);
      },
      alert: (description) => {
        this.#alerts.raise('tcp-connection', this.#pkt.id, { description });
      },
      flowEnded: (flow: TcpFlow) => {
        releaseFlowState(this.#flowStores, flow);
        this.stats.connections++;
        this.#onFlow?.(flowRecord(flow, this.clock.now));
      },
      streaming: () => this.#streamed.length > 0,
      openStreams: (flow, direction, hold) => {
        this.#openStreams(flow, direction, hold);
      },
      copyCurrent: () => {
        // Monitor-only forwards everything at once.
        if (this.#passThrough) return null;
        const parts = this.#datagramFrames;
        // A segment of a reassembled datagram: its fragments (copies already) are what waits.
        if (parts !== null) return { ...(parts[parts.length - 1] as HeldFrame), id: pkt.id, parts };
        const ts = pkt.timestamp;
        return { id: pkt.id, bytes: Buffer.from(pkt.bytes), secs: ts.secs, nsecs: ts.nsecs, linkType: pkt.linkType, linkOffset: link.offset };
      },
      release: (frame) => {
        for (const f of frame.parts ?? [frame]) {
          this.stats.accepted++;
          this.#output?.forward(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
        }
      },
      discard: (frame) => {
        for (const f of frame.parts ?? [frame]) {
          this.stats.dropped++;
          this.#output?.drop?.(f.id);
        }
      },
      blocked: () => {
        this.#runnable = Math.max(0, this.#runnable - 1);
      },
      ready: (stream) => {
        this.#ready.push(stream);
        // Nobody may call settle() (a library user): the runs still go on, after this packet.
        if (this.#settling === null) queueMicrotask(() => void this.settle());
      },
      // Read only when a connection opens: UDP flows cost about what a TCP one does.
      otherMemory: () => this.#fragments.memory + this.#udpTracker.table.size * FLOW_BYTES,
    };
  }

  /** Flushes, fires `engine.events.exiting`, and flushes alerts and logs. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    // Frames still held by streamed rules that never finished (no settle(), or a rule stuck on
    // something else): they go out now, or are dropped with their flow.
    this.#tracker.releaseAll();
    this.#closed = true;
    this.#pkt.dropped = false;
    this.#emit(engineEvents.exiting);
    this.#ruleErrors.flush();
    for (const d of this.#dests) d.flush();
  }
}

function isRuleSetList(rules: RuleSet | readonly RuleSet[]): rules is readonly RuleSet[] {
  return Array.isArray(rules);
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}
