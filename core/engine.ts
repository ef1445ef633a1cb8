/**
 * The engine: one packet source's dissector chain, clock and verdicts. One frame is fully
 * handled (every event, every rule) before the next; views are reused frame to frame.
 *
 * A frame's walk is one way: push() dissects it layer by layer, raising each layer's events
 * through the dispatch (dispatch.ts), hands TCP segments and UDP datagrams to the trackers, which
 * return a verdict and leave what else they produced in their outboxes; at the end of the turn
 * (dissectors/turn.ts, docs/architecture.md) the outboxes and the frame leave through one path
 * (egress.ts). The rule registry (rule-registry.ts) fills the dispatch lists; the scheduler
 * (scheduler.ts) runs streamed rules between packets.
 */
import type { Logger } from 'pino';
import { Packet, setCreatedSender, type CreatedSender, type CreatedViews } from '../dissectors/packet.ts';
import { Stats } from './stats.ts';
import { PacketClock } from './clock.ts';
import { defaultConfig, validateConfig, type Config } from './config.ts';
import { rewriteError, type PalisadeError } from './errors.ts';
import { allEvents, engineEvents, icmpEvents, ipv4Events, ipv6Events, packetEvents, tcpEvents, udpEvents, type AnyEvent, type Layer } from './events.ts';
import type { FlowStores, RuleSet } from './rules.ts';
import { AlertWriter, type AlertAction, type AlertRecord } from './alert.ts';
import { alertLogger, openDestination, ruleLogger, type Destination, type LogTarget } from './log.ts';
import { RuleErrors } from './rule-errors.ts';
import { Dispatch } from './dispatch.ts';
import { ViewCheckingDispatch } from './view-check.ts';
import { installRules } from './rule-registry.ts';
import { Scheduler } from './scheduler.ts';
import { Egress, type EngineOutput } from './egress.ts';
import { Turn } from '../dissectors/turn.ts';
import { Tracer, type TraceOptions } from './trace/tracer.ts';
import { traceLayer } from './trace/layers.ts';
import { ChecksumPolicy } from './checksums.ts';
import { ACCEPT, DROP, PENDING, policyReason, UNNAMED_REASON, type DropReason, type Verdict } from '../dissectors/verdict.ts';
import { BEAT } from './watchdog/heartbeat.js';
import { LinkLayer, dissectLink, writeLinkEtherType, writeLinkHeader } from '../dissectors/link.ts';
import { LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_RAW } from './link-types.ts';
import { Ipv4Packet, dissectIpv4 } from '../dissectors/ipv4.ts';
import { settleWrites, W_L4_FULL } from '../dissectors/rewrite.ts';
import { Ipv6Packet, dissectIpv6 } from '../dissectors/ipv6.ts';
import { TcpPacket, dissectTcp } from '../dissectors/tcp.ts';
import { UdpPacket, dissectUdp } from '../dissectors/udp.ts';
import { IcmpPacket, dissectIcmp } from '../dissectors/icmp.ts';
import { FragmentReassembler } from '../dissectors/fragments.ts';
import { NO_CONNECTION_REASON, FLOW_BYTES, KEPT_FRAME_OVERHEAD, TcpTracker, type KeptFrame } from '../dissectors/tcp-connection/index.ts';
import type { FlowRecord } from '../dissectors/flow/record.ts';
import { UdpFlow, UdpTracker } from '../dissectors/udp-connection/index.ts';
import { dnsDatagram, dnsEvents, dnsOverTcp, markDnsFlow, type DnsEmit } from '../dissectors/dns/index.ts';
import type { Probe, TcpFlow } from '../dissectors/tcp-connection/index.ts';
import { detectingDissectors, dissectorEmitter, type DissectorPolicy, type FlowDissectorImpl } from './flow-dissector.ts';
// Built-in protocol dissectors: defined (and so detectable) whether or not a rule file imports them.
import '../dissectors/http/index.ts';
import '../dissectors/tls/index.ts';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../dissectors/ethertypes.ts';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../dissectors/ip-protocols.ts';

export type { Verdict, DropReason, DropKind } from '../dissectors/verdict.ts';
export type { EngineOutput } from './egress.ts';
export type { TraceOptions } from './trace/tracer.ts';
export type { FrameTrace, TraceStep } from '../dissectors/trace.ts';

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
   * The traffic is live (inline): the receiver of a stream a rule edited acknowledges what
   * palisade sent it, numbered anew, and its acknowledgments are numbered back for the sender.
   * In a replay the capture's receivers saw the stream as it was recorded: theirs stay.
   */
  live?: boolean;
  /**
   * A rule watchdog's heartbeat (core/watchdog/heartbeat.js): bumped for every packet and every
   * resumed streamed run, armed while streamed runs settle.
   */
  heartbeat?: Int32Array;
  /**
   * Check-views mode (view-check.ts): each receiveData listener gets a copy of the bytes, filled
   * with poison once the event is over, so that a rule keeping `data` fails its tests. A copy per
   * listener call: for tests (`palisade test`, replay()) and `replay --check-views`.
   */
  checkViews?: boolean;
  /** Traces frames (`replay --trace`): each selected frame's trace goes to `onFrame` once its verdict is known. Off, it costs nothing. */
  trace?: TraceOptions;
}

/** Connections ended between two drains of the outbox at the end of input. */
const DRAIN_EVERY = 256;


const isRawIp = (linkType: number): boolean => linkType === LINKTYPE_RAW || linkType === LINKTYPE_IPV4 || linkType === LINKTYPE_IPV6;

export class Engine {
  readonly config: Config;
  readonly stats = new Stats();
  readonly clock = new PacketClock();

  readonly #dispatch: Dispatch;
  readonly #scheduler: Scheduler;
  readonly #egress: Egress;
  readonly #checksums: ChecksumPolicy;
  readonly #alerts: AlertWriter;
  readonly #log: Logger;
  readonly #ruleErrors: RuleErrors;
  /** The installed rules' flowState stores: a flow's state is released from them when it ends. */
  readonly #flowStores: FlowStores = [];
  readonly #dests: Destination[] = [];
  /** The current turn: the one place "now" lives (turn.ts). */
  readonly #turn = new Turn();
  #tracer: Tracer | null = null;

  // Views, reused frame to frame.
  readonly #pkt = new Packet();
  readonly #link = new LinkLayer();
  readonly #ipv4 = new Ipv4Packet();
  readonly #ipv6 = new Ipv6Packet();
  readonly #tcp = new TcpPacket();
  readonly #udp = new UdpPacket();
  readonly #icmp = new IcmpPacket();
  readonly #fragments: FragmentReassembler<KeptFrame>;
  readonly #tracker: TcpTracker;
  readonly #udpTracker: UdpTracker;
  #nextFlowId = 1;

  // Dissectors run only when a rule needs them.
  #needIp = false;
  #needTcp = false;
  #needUdp = false;
  #needIcmp = false;
  /** Dissectors on by use that some rule listens to: protocol detection turns them on. */
  #usedDetectors = new Set<FlowDissectorImpl>();
  #needConnections = false;
  #needUdpConnections = false;

  /** The frame being pushed has no transport checksum to verify yet. */
  #checksumPartial = false;
  #frames = 0;
  /** A frame is being judged (push() has not given its verdict yet): a halt drops it. */
  #inFrame = false;
  /** Where rules' created packets go while this engine's turns run (dissectors/create.ts). */
  readonly #sender: CreatedSender = { send: (packet, views) => this.#sendCreated(packet, views) };
  /** Created packets being sent now, one inside another's sendPacket rules. */
  #sending = 0;
  /** The frame of this turn waits for streamed rules (its alerts say `held`). */
  #held = false;
  /** Turns open: 1 inside a turn, more when an entry joined it. */
  #depth = 0;
  #started = false;
  #closed = false;
  readonly #beat: Int32Array;

  constructor(options: EngineOptions) {
    this.config = options.config === undefined ? defaultConfig() : validateConfig(options.config);
    const passThrough = options.passThrough ?? false;
    this.#pkt.readOnly = passThrough;
    this.#beat = options.heartbeat ?? new Int32Array(2);
    this.#fragments = new FragmentReassembler<KeptFrame>(this.config.fragments, this.stats);

    const alertDest = openDestination(options.alerts ?? 'stdout');
    const logDest = openDestination(options.log ?? 'stderr');
    this.#dests.push(alertDest, logDest);
    const onAlert = options.onAlert;
    this.#alerts = new AlertWriter(alertLogger(alertDest, this.clock), (record) => {
      this.stats.alerts++;
      onAlert?.(record);
    });
    this.#log = ruleLogger(logDest, this.clock, this.config.logLevel);
    this.#ruleErrors = new RuleErrors(this.stats, this.#log, () => this.clock.now);
    this.#checksums = new ChecksumPolicy(this.config, this.stats, this.#log);
    const turn = this.#turn;
    const dispatch = new (options.checkViews === true ? ViewCheckingDispatch : Dispatch)(allEvents().length, this.#pkt, turn, this.#alerts, this.#log, this.#ruleErrors, () => this.config.ruleErrorPolicy === 'drop');
    this.#dispatch = dispatch;
    this.#egress = new Egress(this.#pkt, turn, dispatch, this.stats, this.clock, options.output, passThrough, this.#flowStores, options.onFlow, this.#beat, () => this.#tracer);
    this.#scheduler = new Scheduler(dispatch, turn, this.#log, this.#beat, this.#between, () => this.#closed);
    dispatch.watch = this.#scheduler.watch;
    this.#scheduler.host = {
      anomaly: (flow, kind, policy, policyKey) => {
        this.#dissectorAnomaly(flow, kind, policy, policyKey);
      },
      edit: (flow, direction, at, erase, insert) => {
        this.#tracker.holding.editFlow(flow, direction, at, erase, insert);
      },
      config: this.config,
    };

    const nextId = (): number => this.#nextFlowId++;
    const scheduler = this.#scheduler;
    this.#tracker = new TcpTracker({
      events: dispatch,
      openStreams: (flow, direction, hold) => {
        scheduler.openStreams(flow, direction, hold);
      },
      packet: this.#pkt,
      turn,
      link: this.#link,
      config: this.config.tcp,
      anomalies: this.stats,
      nextId,
      memcap: this.config.memcap,
      passThrough,
      live: options.live === true,
      rewrite: options.output?.rewrites !== false,
      // BEAT: a connection ended is progress, as a packet is (an expiry or a shutdown of a million).
      progress: this.#beat,
      actionReason: dispatch.flowActionReason,
      // What the engine holds outside the tracker (IP fragments; UDP flows, about what a TCP one costs), for the memcap.
      otherMemory: () => this.#fragments.memory + this.#udpTracker.table.size * FLOW_BYTES,
    });
    this.#udpTracker = new UdpTracker(dispatch, this.#pkt, this.config.udp, nextId, this.#beat, dispatch.flowActionReason, turn);
    if (options.trace !== undefined) this.trace(options.trace);

    const sets: readonly RuleSet[] = isRuleSetList(options.rules) ? options.rules : [options.rules];
    for (const set of sets) this.#flowStores.push(...installRules(set, dispatch, this.#alerts, this.#log));
    this.#enableDissectors();
  }

  /** Turns on the dissectors some installed rule needs, and tells the trackers what is listened to. */
  #enableDissectors(): void {
    const lists = this.#dispatch.lists;
    const used = (layer: Layer): boolean => allEvents().some((ev) => ev.layer === layer && (lists[ev.id]?.length ?? 0) > 0);
    const streamed = this.#dispatch.streamed.length > 0;
    this.#needConnections = used('tcpConnection') || streamed;
    this.#tcp.tracked = this.#needConnections;
    const dnsUsed = Object.values(dnsEvents as Record<string, AnyEvent>).some((ev) => (lists[ev.id]?.length ?? 0) > 0);
    // DNS over UDP: a rule on a DNS event tracks UDP flows too.
    this.#needUdpConnections = used('udpConnection') || dnsUsed;
    this.#needTcp = used('tcp') || this.#needConnections;
    this.#needUdp = used('udp') || this.#needUdpConnections;
    this.#needIcmp = used('icmp');
    this.#needIp = this.#needTcp || this.#needUdp || this.#needIcmp || used('ipv4') || used('ipv6');
    // Protocol detection: dissectors on by use turn on where their protocol is seen; the others name the flow's protocol.
    const usedDetectors = new Set(detectingDissectors.filter((d) => Object.values(d.events as Record<string, AnyEvent>).some((ev) => (lists[ev.id]?.length ?? 0) > 0)));
    this.#usedDetectors = usedDetectors;
    this.#tracker.probe = this.#needConnections ? this.#probe : null;
    this.#tracker.probeData = usedDetectors.size > 0;
    // New flows get reassembly (or lose it) as the rules want; open ones keep what they have.
    this.#tracker.rulesChanged(streamed);
    this.#udpTracker.rulesChanged();
    // Port 53 datagrams: parsed for the rules on DNS, or only named for the flow records.
    this.#udpTracker.datagram = dnsUsed ? this.#dnsDatagram : this.#needUdpConnections ? this.#markDns : null;
  }

  /** The protocol of a connection from its client's first bytes (app-detect.ts). */
  readonly #probe: Probe = (flow, head) => {
    if (flow.appProto !== null) return true;
    let undecided = false;
    for (const d of detectingDissectors) {
      const known = (d.detect as NonNullable<typeof d.detect>)(head, flow);
      if (known === true) {
        if (this.#usedDetectors.has(d)) d.enable(flow);
        else flow.appProto = d.appProto;
        return true;
      }
      if (known === undefined) undecided = true;
    }
    return undecided ? undefined : true;
  };

  /** What push-mode dissectors report their anomalies to: counted, then their policy. */
  #dissectorAnomaly(flow: TcpFlow | UdpFlow, kind: string, policy: DissectorPolicy, policyKey: string): void {
    this.stats.anomaly(kind);
    if (policy === 'accept' || flow.dropped) return;
    flow.reason ??= policyReason('policy', policyKey, kind);
    // A UDP flow has nothing to reset: reset-flow drops it.
    if (policy === 'drop-flow' || flow instanceof UdpFlow) flow.drop();
    else flow.reset();
  }

  /** DNS over UDP (dissectors/dns): its events raised as the TCP dissector's are. */
  #dnsEmit: DnsEmit | null = null;
  readonly #dnsDatagram = (flow: UdpFlow, udp: UdpPacket, up: boolean): void => {
    this.#dnsEmit ??= dissectorEmitter(dnsOverTcp, this.#dispatch) as unknown as DnsEmit;
    dnsDatagram(flow, udp.payload, up, this.#dnsEmit, this.#dnsAnomaly, this.config.dns);
  };
  readonly #dnsAnomaly = (flow: TcpFlow | UdpFlow, kind: string, policy: DissectorPolicy, policyKey: string): void => {
    this.#dissectorAnomaly(flow, kind, policy, policyKey);
  };
  readonly #markDns = (flow: UdpFlow, udp: UdpPacket): void => {
    markDnsFlow(flow, udp.payload);
  };

  // ---- the packet path ---------------------------------------------------------------------

  /** Fires `engine.events.started` (also done by the first push). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#begin(null);
    this.#dispatch.emit(engineEvents.started);
    this.#end();
  }

  // ---- the turn ------------------------------------------------------------------------------

  /**
   * Opens a turn (docs/architecture.md, "A turn"); an entry made while one is open (a rule that
   * reaches the engine) joins it. What was done between turns (a rule's timer that reset a flow)
   * waits in the outboxes: this turn's drain carries it out.
   */
  #begin(frame: Packet | null): void {
    if (this.#depth++ > 0) return;
    setCreatedSender(this.#sender);
    const turn = this.#turn;
    turn.frame = frame;
    turn.rule = '';
    turn.datagramFrames = null;
    // Between packets the view still shows the last frame: its drop must not stop listeners now.
    if (frame === null) this.#pkt.clearVerdict();
  }

  /** Closes the turn: every outbox drained, then the alerts it raised written with what was done. */
  #end(): void {
    if (--this.#depth > 0) return;
    this.#drain();
    const turn = this.#turn;
    // Alerts raised since the last turn ended (a streamed rule's among them) and the flow actions
    // taken meanwhile: written with what was done.
    this.#alerts.release(this.#alertAction);
    turn.blocked = null;
    turn.frame = null;
    turn.trace = null;
    setCreatedSender(null);
  }

  /**
   * A packet a rule created goes out: the sendPacket events of its layers, from the inside out
   * (a rule there may write it or drop it), then its checksums, and it is injected behind the
   * current frame's link header (turned around when it goes back to that frame's sender).
   */
  #sendCreated(packet: Packet, views: CreatedViews): void {
    if (this.#sending >= 4) throw rewriteError('send', 'a packet sent from the sendPacket rules of a packet sent four deep: some rule sends a packet for every packet sent');
    const { ip, l4 } = views;
    const turn = this.#turn;
    const outer = turn.releasing;
    this.#sending++;
    packet.clearVerdict();
    turn.releasing = packet;
    try {
      settleWrites(packet, ip);
      const dispatch = this.#dispatch;
      if (l4 !== null) dispatch.emit(l4 instanceof TcpPacket ? tcpEvents.sendPacket : l4 instanceof UdpPacket ? udpEvents.sendPacket : icmpEvents.sendPacket, l4);
      if (!packet.dropped) dispatch.emit(ip.version === 4 ? ipv4Events.sendPacket : ipv6Events.sendPacket, ip);
    } finally {
      turn.releasing = outer;
      this.#sending--;
    }
    if (packet.dropped) return;
    settleWrites(packet, ip);
    this.#egress.inject(this.#framed(ip));
  }

  /** A created IP packet behind the link header of the frame being judged (raw IP when there is none, or it has none). */
  #framed(ip: Ipv4Packet | Ipv6Packet): { bytes: Buffer; linkType: number } {
    const bytes = ip.packet.bytes.subarray(0, ip.end);
    const frame = this.#pkt;
    const link = this.#link;
    if (!this.#inFrame) {
      // Between frames the last one's bytes may be gone (a reader's reused buffer): only raw IP has no header to copy.
      if (isRawIp(frame.linkType)) return { bytes: Buffer.from(bytes), linkType: frame.linkType };
      throw rewriteError('send', 'between packets a created packet has no link header to go behind: send it from a rule on a packet (a receivePacket, sendPacket or receiveData event of the frame being judged)');
    }
    const len = link.offset;
    if (len === 0) return { bytes: Buffer.from(bytes), linkType: frame.linkType };
    const out = Buffer.alloc(len + bytes.length);
    // Back to the frame's sender when it goes to the address that frame came from.
    const version = (frame.bytes[len] as number) >> 4;
    const theirs = version === 4 ? frame.bytes.subarray(len + 12, len + 16) : frame.bytes.subarray(len + 8, len + 24);
    const dst = ip.version === 4 ? bytes.subarray(ip.off + 16, ip.off + 20) : bytes.subarray(ip.off + 24, ip.off + 40);
    writeLinkHeader(out, { frame: frame.bytes, linkType: frame.linkType, linkHeaderLength: len, sameDirection: version !== ip.version || !dst.equals(theirs) });
    if (version !== ip.version) writeLinkEtherType(out, frame.linkType, len, ip.version);
    out.set(bytes, len);
    return { bytes: out, linkType: frame.linkType };
  }

  /** The one drain of the trackers' outboxes (held frames, RSTs, ended flows), in the order they were filled. */
  #drain(): void {
    const tcp = this.#tracker.out;
    if (tcp.kinds.length > 0) this.#egress.drain(tcp);
    const udp = this.#udpTracker.out;
    if (udp.kinds.length > 0) this.#egress.drain(udp);
  }

  /**
   * An alert's `action` (what was done to its packet or flow by the end of its turn): `blocked`
   * with the reason when its frame was dropped or its rule dropped or reset a flow in the turn;
   * `held` when its frame waits for streamed rules; else `allowed`.
   */
  readonly #alertAction = (record: AlertRecord): { action: AlertAction; reason?: DropReason } => {
    const turn = this.#turn;
    const frame = turn.frame;
    if (frame !== null && record.packet === frame.id) {
      if (frame.dropped && frame.reason !== null) return { action: 'blocked', reason: frame.reason };
      if (this.#held) return { action: 'held' };
    }
    const blocked = turn.blocked;
    if (blocked !== null && blocked.rule === record.rule) return { action: 'blocked', reason: blocked };
    return { action: 'allowed' };
  };

  /** A turn between packets (a streamed rule resumed, an async rule settled): what they did goes out now. */
  readonly #between = (): void => {
    if (this.#closed) return;
    this.#begin(null);
    this.#end();
  };

  // ---- the packet path ---------------------------------------------------------------------

  /**
   * Handles one frame: every event and rule, then its verdict. `pending` means the frame is held
   * (an IP fragment waiting for the rest, or a segment waiting for streamed rules); its verdict
   * reaches `output` later. `checksumPartial`: the transport checksum is not computed yet
   * (inline, NFQA_SKB_CSUMNOTREADY: the sending host leaves it to the NIC, or a GSO
   * super-packet), so it is not verified. `wireLength`: the frame's length on the wire, when the
   * capture holds less (a snaplen cut it); only then may an IP length run past its end.
   */
  push(bytes: Buffer, timestamp: { readonly secs: number; readonly nsecs: number }, linkType: number, checksumPartial = false, wireLength = bytes.length): Verdict {
    if (!this.#started) this.start();
    this.#checksumPartial = checksumPartial;
    const id = ++this.#frames;
    // A plain store: the watcher only needs it to change (the trackers bump it too, for each connection ended).
    this.#beat[BEAT] = id;
    this.stats.packets++;
    this.stats.bytes += bytes.length;
    this.clock.advance(timestamp.secs, timestamp.nsecs);
    // What is idle too long ends first, in a turn of its own, before this frame is judged.
    this.#expire();
    const pkt = this.#pkt;
    pkt.point(bytes, timestamp.secs, timestamp.nsecs, linkType, id, wireLength > bytes.length, checksumPartial);
    this.#begin(pkt);
    const tracer = this.#tracer;
    const trace = tracer === null ? null : tracer.begin(id, this.clock.now);
    this.#turn.trace = trace;
    this.#inFrame = true;
    let verdict: Verdict;
    try {
      let v = this.#frame();
      // Earlier frames this one released (or dropped) go before it.
      this.#drain();
      // A frame held for streamed rules: its verdict comes when they have read its bytes.
      if (this.#needConnections && this.#tracker.holding.afterVerdict(v === ACCEPT) !== null && v === ACCEPT) v = PENDING;
      if (v === ACCEPT) this.#egress.forwardCurrent();
      else if (v === DROP) this.#egress.dropCurrent();
      else this.#egress.holdCurrent();
      this.#inFrame = false;
      // packet.sendPacket may have dropped a frame the walk accepted.
      verdict = v === PENDING ? 'pending' : pkt.dropped ? 'drop' : 'accept';
      this.#held = v === PENDING;
    } catch (err) {
      // A fault of palisade's own or of the output (a rule's is caught where it runs): the turn
      // is closed all the same, so that the next frame opens its own (inline goes on after it).
      this.#inFrame = false;
      this.#depth = 1;
      this.#end();
      throw err;
    }
    this.#end();
    this.#held = false;
    if (trace !== null) (tracer as Tracer).end(trace, verdict, pkt.reason);
    return verdict;
  }

  /**
   * Why the frame of the last push() was dropped (null when it was not, or not yet: a held
   * frame's reason reaches `output.drop` with its verdict).
   */
  get reason(): DropReason | null {
    return this.#pkt.dropped ? this.#pkt.reason : null;
  }

  #frame(): number {
    const pkt = this.#pkt;
    const trace = this.#turn.trace;
    this.#dispatch.emit(packetEvents.receivePacket, pkt);
    if (pkt.dropped) return DROP;
    if (!this.#needIp) return ACCEPT;

    const link = this.#link;
    if (!dissectLink(pkt.linkType, pkt.bytes, link, this.stats)) return this.#malformed();
    if (trace !== null) traceLayer(trace, 'link', link);
    if (link.etherType === ETHERTYPE_IPV4) {
      const ip = this.#ipv4;
      if (!dissectIpv4(ip, pkt, pkt.bytes, link.offset, this.stats)) return this.#malformed();
      if (trace !== null) traceLayer(trace, 'ipv4', ip);
      if (this.#checksums.verify && !this.#checksums.ok(ip.verifyChecksum(), 'ipv4-bad-checksum', false)) return this.#badChecksum();
      if (ip.isFragment) return this.#fragment(ip);
      return this.#settle(ip, this.#ip(ip, ipv4Events.receivePacket, ipv4Events.sendPacket));
    }
    if (link.etherType === ETHERTYPE_IPV6) {
      const ip = this.#ipv6;
      if (!dissectIpv6(ip, pkt, pkt.bytes, link.offset, this.stats)) return this.#malformed();
      if (trace !== null) traceLayer(trace, 'ipv6', ip);
      if (ip.isFragment) return this.#fragment(ip);
      return this.#settle(ip, this.#ip(ip, ipv6Events.receivePacket, ipv6Events.sendPacket));
    }
    // ARP, STP, LLDP…: not ours to judge.
    this.stats.nonIp++;
    return ACCEPT;
  }

  /**
   * What rules wrote in the frame owes its checksums, fixed once, before the frame leaves or
   * waits; a copy made to hold it takes the written bytes. Returns the verdict `v`.
   */
  #settle(ip: Ipv4Packet | Ipv6Packet, v: number): number {
    const pkt = this.#pkt;
    if (pkt.writes === 0) return v;
    // Its transport checksum is not computed yet (GSO, checksum offload): the field holds the
    // pseudo header's sum for the NIC to finish. A verdict with new bytes makes the kernel take
    // the field as final, so any write computes it whole.
    if (pkt.checksumPartial) pkt.writes |= W_L4_FULL;
    settleWrites(pkt, ip);
    if (this.#needConnections) this.#tracker.holding.takeWrites();
    return v;
  }

  /** A header failed a check (the anomaly just counted names it). */
  #malformed(): number {
    return this.config.malformedPolicy === 'drop' ? this.#drop(policyReason('malformed', 'malformedPolicy', this.stats.lastAnomaly)) : ACCEPT;
  }

  /** A bad checksum under badChecksumPolicy drop. */
  #badChecksum(): number {
    return this.#drop(policyReason('policy', 'badChecksumPolicy', this.stats.lastAnomaly));
  }

  /** Drops the current frame for `reason` (unless a reason was given before). */
  #drop(reason: DropReason): number {
    this.#pkt.dropFor(reason);
    return DROP;
  }

  /** Read through a call: TypeScript cannot see that a listener may have dropped the packet. */
  #dropped(): boolean {
    return this.#pkt.dropped;
  }

  /** The transport checksum is to be verified: not when the capture cut the segment, nor when it is not computed yet. */
  #verifyTransport(ip: Ipv4Packet | Ipv6Packet): boolean {
    return this.#checksums.verify && !ip.truncated && !this.#checksumPartial;
  }

  /** IP receive, transport, then send events from the inside out. */
  #ip(ip: Ipv4Packet | Ipv6Packet, receive: AnyEvent, send: AnyEvent): number {
    const dispatch = this.#dispatch;
    const trace = this.#turn.trace;
    dispatch.emit(receive, ip);
    if (this.#dropped()) return DROP;
    const proto = ip.proto;
    if (proto === IPPROTO_TCP && this.#needTcp) {
      const tcp = this.#tcp;
      if (!dissectTcp(tcp, ip, this.stats)) return this.#malformed();
      if (trace !== null) traceLayer(trace, 'tcp', tcp);
      if (this.#verifyTransport(ip) && !this.#checksums.ok(tcp.verifyChecksum(), 'tcp-bad-checksum', true)) return this.#badChecksum();
      dispatch.emit(tcpEvents.receivePacket, tcp);
      if (this.#dropped()) return DROP;
      if (this.#needConnections && this.#tracker.receive(tcp) !== ACCEPT) {
        if (this.#pkt.reason === NO_CONNECTION_REASON) this.#alerts.raise('tcp-connection', this.#pkt.id, { description: 'no connection found for tcp packet' });
        return DROP;
      }
      dispatch.emit(tcpEvents.sendPacket, tcp);
    } else if (proto === IPPROTO_UDP && this.#needUdp) {
      const udp = this.#udp;
      if (!dissectUdp(udp, ip, this.stats)) return this.#malformed();
      if (trace !== null) traceLayer(trace, 'udp', udp);
      if (this.#verifyTransport(ip) && !this.#checksums.ok(udp.verifyChecksum(), 'udp-bad-checksum', true)) return this.#badChecksum();
      dispatch.emit(udpEvents.receivePacket, udp);
      if (this.#dropped()) return DROP;
      if (this.#needUdpConnections && this.#udpTracker.receive(udp) !== ACCEPT) return DROP;
      dispatch.emit(udpEvents.sendPacket, udp);
    } else if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && this.#needIcmp) {
      const icmp = this.#icmp;
      if (!dissectIcmp(icmp, ip, this.stats)) return this.#malformed();
      if (trace !== null) traceLayer(trace, 'icmp', icmp);
      if (this.#verifyTransport(ip) && !this.#checksums.ok(icmp.verifyChecksum(), 'icmp-bad-checksum', true)) return this.#badChecksum();
      dispatch.emit(icmpEvents.receivePacket, icmp);
      if (this.#dropped()) return DROP;
      dispatch.emit(icmpEvents.sendPacket, icmp);
    }
    if (this.#dropped()) return DROP;
    dispatch.emit(send, ip);
    return this.#dropped() ? DROP : ACCEPT;
  }

  /** Holds a fragment; when its datagram completes, runs it and settles every fragment. */
  #fragment(ip: Ipv4Packet | Ipv6Packet): number {
    const pkt = this.#pkt;
    const ts = pkt.timestamp;
    const frame: KeptFrame = {
      id: pkt.id,
      bytes: Buffer.from(pkt.bytes),
      secs: ts.secs,
      nsecs: ts.nsecs,
      linkType: pkt.linkType,
      linkOffset: this.#link.offset,
    };
    const r = this.#fragments.add(ip, frame, this.clock.now, frame.bytes.length + KEPT_FRAME_OVERHEAD);
    const trace = this.#turn.trace;
    if (r.status === 'pending') {
      if (trace !== null) trace.steps.push({ step: 'fragment', status: 'held' });
      return PENDING;
    }
    const egress = this.#egress;
    const earlier = r.frames.filter((f) => f.id !== frame.id);
    if (r.status === 'drop') {
      if (trace !== null) trace.steps.push({ step: 'fragment', status: 'dropped', frames: r.frames.map((f) => f.id), anomaly: r.reason });
      const reason = fragmentReason(r.reason);
      egress.dropFrames(earlier, reason);
      return this.#drop(reason);
    }
    if (trace !== null) trace.steps.push({ step: 'fragment', status: 'complete', frames: r.frames.map((f) => f.id) });
    let v: number;
    const turn = this.#turn;
    turn.datagramFrames = r.frames;
    if (ip.version === 4) {
      const view = this.#ipv4;
      v = dissectIpv4(view, pkt, r.datagram, 0, this.stats) ? this.#ip(view, ipv4Events.receivePacket, ipv4Events.sendPacket) : this.#malformed();
    } else {
      const view = this.#ipv6;
      v = dissectIpv6(view, pkt, r.datagram, 0, this.stats) ? this.#ip(view, ipv6Events.receivePacket, ipv6Events.sendPacket) : this.#malformed();
    }
    // The datagram's verdict applies to every fragment; the output keeps the original frames.
    if (v === DROP) {
      egress.dropFrames(earlier, pkt.reason ?? UNNAMED_REASON);
      return DROP;
    }
    // Held for streamed rules: every fragment waits, and goes (or is dropped) with the segment.
    if (this.#needConnections && this.#tracker.holding.heldNow) return ACCEPT;
    for (const f of earlier) {
      pkt.point(f.bytes, f.secs, f.nsecs, f.linkType, f.id);
      egress.forwardCurrent();
    }
    pkt.point(frame.bytes, frame.secs, frame.nsecs, frame.linkType, frame.id);
    return ACCEPT;
  }

  /** Advances the fragment reassembler and the flow trackers to engine time, in a turn: what is idle too long ends. */
  #expire(): void {
    const now = this.clock.now;
    const fragments = this.#fragments.pending > 0;
    const tcp = this.#needConnections && this.#tracker.advance(now);
    const udp = this.#needUdpConnections && this.#udpTracker.advance(now);
    // Most frames: nothing is due, and no turn is opened for it.
    if (!fragments && !tcp && !udp) return;
    this.#begin(null);
    if (fragments) this.#fragments.expire(now, this.#dropIncomplete);
    if (tcp) this.#tracker.expire(now);
    if (udp) this.#udpTracker.expire(now);
    this.#end();
  }

  /** The fragments of a datagram that never completed, past fragments.timeout. */
  readonly #dropIncomplete = (frames: readonly KeptFrame[]): void => {
    this.#egress.dropFrames(frames, fragmentReason('fragment-incomplete'));
  };

  /** The fragments of a datagram still incomplete when palisade stops (the end of input, a shutdown). */
  readonly #dropAtShutdown = (frames: readonly KeptFrame[]): void => {
    this.#egress.dropFrames(frames, FRAGMENT_AT_SHUTDOWN);
  };

  // ---- streamed rules ------------------------------------------------------------------------

  /** Streamed runs are running or ready to resume: `await settle()` before the next packet. */
  get busy(): boolean {
    return this.#scheduler.busy;
  }

  /**
   * Lets streamed rules run until each waits for bytes that have not arrived (or has ended):
   * runs resume one at a time, in the order their bytes came, so a replay is deterministic and
   * each packet is fully judged before the next is read. Also runs by itself after a push.
   */
  settle(): Promise<void> {
    return this.#scheduler.settle();
  }

  // ---- tracing -------------------------------------------------------------------------------

  /**
   * Traces frames from the next push on (`ctl trace`), or stops (null): each selected frame's
   * trace goes to `onFrame` once its verdict is known. Tracing never changes a verdict.
   */
  trace(options: TraceOptions | null): void {
    this.#tracer = options === null ? null : new Tracer(options, () => (this.#tracer = null));
    this.stats.traceTurn = this.#tracer === null ? null : this.#turn;
  }

  // ---- end of input --------------------------------------------------------------------------

  /**
   * End of input: fragments that never completed are dropped, open connections end ('shutdown'),
   * `max` TCP and `max` UDP ones at most, oldest first; true once none is left (call it again
   * until then: a run loop turns the event loop between calls, for signals and timers).
   * Streamed rules then see the end of their streams: `await settle()` before close().
   */
  flush(max = Infinity): boolean {
    if (this.#fragments.pending > 0) {
      this.#begin(null);
      this.#fragments.flush(this.#dropAtShutdown);
      this.#end();
    }
    // In slices, a turn each: the outbox holds one slice's records, not a million.
    for (let left = max; left > 0; left -= DRAIN_EVERY) {
      const n = left < DRAIN_EVERY ? left : DRAIN_EVERY;
      this.#begin(null);
      // UDP flows once every TCP connection has ended.
      const done = this.#tracker.shutdown(n) && this.#udpTracker.shutdown(n);
      this.#end();
      if (done) break;
    }
    return this.#tracker.table.size === 0 && this.#udpTracker.table.size === 0;
  }

  /** Flushes, fires `engine.events.exiting`, and flushes alerts and logs. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#begin(null);
    // Frames still held by streamed rules that never finished (no settle(), or a rule stuck on
    // something else): they go out now, or are dropped with their flow.
    this.#tracker.holding.releaseAll();
    this.#end();
    this.#closed = true;
    this.#begin(null);
    this.#dispatch.emit(engineEvents.exiting);
    this.#end();
    this.#alerts.stopDeferring();
    this.#ruleErrors.flush();
    for (const d of this.#dests) d.flush();
  }

  // ---- state -----------------------------------------------------------------------------------

  /** The frame number the next push() gives its frame (frames are numbered from 1, as in the capture). */
  get nextFrame(): number {
    return this.#frames + 1;
  }

  /** Connections in the table now. */
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
    return { rule: this.#dispatch.ruleName(), frame: this.#dispatch.alertPacket() };
  }

  /**
   * After a rule was stopped mid-run (rules.timeoutMs) or the heap passed its limit: the engine's
   * state is cut mid-packet, so no rule runs again and nothing held is released; what was
   * written (alerts, logs) is flushed. With a `reason`, the frame being judged and the frames
   * held are dropped for it (their verdicts reach the output).
   */
  halt(reason?: DropReason): void {
    if (this.#closed) return;
    this.#closed = true;
    // The frame in hand and those held never get a verdict from rules: dropped for `reason`.
    if (reason !== undefined) {
      if (this.#inFrame) {
        this.#pkt.reason = reason;
        this.#pkt.dropped = true;
        this.#egress.dropCurrent();
        const trace = this.#turn.trace;
        if (trace !== null) this.#tracer?.end(trace, 'drop', reason);
      }
      this.#egress.dropFrames([...this.#tracker.holding.frames()].flatMap((f) => f.parts ?? [f]), reason);
    }
    // The alerts of the turn it was stopped in were raised: they are written, with what was done.
    this.#alerts.release(this.#alertAction);
    this.#alerts.stopDeferring();
    for (const d of this.#dests) d.flush();
  }

  /** Advances the clock with no packet (inline, when the queue is idle): timeouts fire. */
  tick(timestamp: { readonly secs: number; readonly nsecs: number }): void {
    this.clock.advance(timestamp.secs, timestamp.nsecs);
    this.#expire();
  }

  /**
   * Swaps in new rule sets and keeps the flow table (`palisade ctl reload`); call it between
   * packets. A set that fails to install leaves the old rules in place, and its error is thrown.
   */
  replaceRules(rules: RuleSet | readonly RuleSet[]): void {
    const sets: readonly RuleSet[] = isRuleSetList(rules) ? rules : [rules];
    const dispatch = this.#dispatch;
    const lists = dispatch.lists.map((l) => l.slice());
    const streamed = dispatch.streamed.splice(0);
    const stores = this.#flowStores.splice(0);
    for (const l of dispatch.lists) l.length = 0;
    try {
      for (const set of sets) this.#flowStores.push(...installRules(set, dispatch, this.#alerts, this.#log));
    } catch (err) {
      lists.forEach((l, i) => (dispatch.lists[i] = l));
      dispatch.streamed.splice(0, dispatch.streamed.length, ...streamed);
      this.#flowStores.splice(0, this.#flowStores.length, ...stores);
      throw err;
    }
    this.#scheduler.forgetDissectors();
    this.#enableDissectors();
    if (this.#started) {
      this.#begin(null);
      dispatch.emit(engineEvents.started);
      this.#end();
    }
  }

  /**
   * An error a rule file threw where no rule runs (a timer, a promise left without a handler):
   * a rule error under `name`, logged, alerted and counted; it judges no packet.
   */
  strayError(name: string, err: unknown): void {
    this.#begin(null);
    this.#dispatch.ruleError(name, err);
    this.#end();
  }

  /** The level of the rule files' `log` (`palisade ctl loglevel`). */
  setLogLevel(level: Config['logLevel']): void {
    this.config.logLevel = level;
    this.#log.level = level;
  }
}

/** A fragment's drop: fragment handling, or the fragments' memcap. */
function fragmentReason(anomaly: string): DropReason {
  return anomaly === 'fragment-memcap' ? policyReason('memcap', 'fragments.memcap', anomaly) : policyReason('fragment', 'fragments', anomaly);
}

/** Held when palisade stopped: the datagram could not complete. */
const FRAGMENT_AT_SHUTDOWN: DropReason = Object.freeze({ kind: 'shutdown', anomaly: 'fragment-incomplete' });


function isRuleSetList(rules: RuleSet | readonly RuleSet[]): rules is readonly RuleSet[] {
  return Array.isArray(rules);
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}
