/**
 * The fuzzer's rule set: a rule on every event palisade raises, each reading what its arguments
 * offer (fields, addresses, payload, stream lines), alerting now and then so that alert
 * formatting sees hostile values, and keeping flow state. None of it judges: every packet the
 * engine can pass goes on to the next dissector.
 */
import { defineRules, engine, flowState, icmp, ipv4, ipv6, packet, tcp, tcpConnection, udp, udpConnection } from '../../index.ts';

export default defineRules(({ rule, alert, log }) => {
  const seen = flowState(() => ({ bytes: 0, anomalies: 0 }));
  let packets = 0;
  /** What the rules read lands here, so that reading it is not optimised away. */
  let sink = 0;
  rule({ name: 'started', on: engine.events.started, eval: () => log.info('fuzz run started') });
  rule({
    name: 'frame',
    on: packet.events.receivePacket,
    eval: (pkt) => {
      packets += pkt.bytes.length;
    },
  });
  rule({
    name: 'ipv4',
    on: ipv4.events.receivePacket,
    eval: (pkt) => {
      if (pkt.ttl === 1) alert({ description: `ttl 1 from ${pkt.src} id ${pkt.id}`, sources: [pkt.src], targets: [pkt.dst] });
    },
  });
  rule({
    name: 'ipv6',
    on: ipv6.events.receivePacket,
    eval: (pkt) => {
      if (pkt.hopLimit === 1) alert({ description: `hop limit 1 from ${pkt.src}`, sources: [pkt.src], targets: [pkt.dst] });
    },
  });
  rule({
    name: 'tcp',
    on: tcp.events.receivePacket,
    eval: (pkt) => {
      sink += pkt.payload.length;
    },
  });
  rule({
    name: 'udp',
    on: udp.events.receivePacket,
    eval: (pkt) => {
      sink += pkt.payload.length;
    },
  });
  rule({
    name: 'icmp',
    on: icmp.events.receivePacket,
    eval: (pkt) => {
      sink += pkt.type;
    },
  });
  rule({
    name: 'connection',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      if (flow.server.port === 0) alert({ description: 'port 0', targets: [flow.server.ip] });
    },
  });
  rule({ name: 'segment', on: tcpConnection.events.receivePacket, eval: (flow, pkt, direction) => {
      seen(flow).bytes += direction === 'up' ? pkt.payload.length : 0;
    },
  });
  rule({
    name: 'data',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, direction, offset) => {
      seen(flow).bytes += data.length;
      if (offset === 0 && data.length > 0 && data[0] === 0) alert({ description: `${direction} stream starts with a zero byte: ${data.subarray(0, 16).toString('latin1')}` });
    },
  });
  rule({
    name: 'lines',
    on: tcpConnection.events.receiveData,
    options: { streamed: true },
    eval: async (flow, stream) => {
      let n = 0;
      for await (const line of stream.lines()) if (++n % 16 === 0 && line.length > 200) log.info(`long line on flow ${flow.id}: ${line.slice(0, 40)}`);
    },
  });
  rule({
    name: 'anomaly',
    on: tcpConnection.events.anomaly,
    eval: (flow, anomaly) => {
      if (++seen(flow).anomalies === 1) alert({ description: `anomaly ${anomaly.kind}`, severity: 'low' });
    },
  });
  rule({
    name: 'end',
    on: tcpConnection.events.endConnection,
    eval: (flow) => {
      sink += flow.state.length;
    },
  });
  rule({
    name: 'udp-flow',
    on: udpConnection.events.newConnection,
    eval: (flow) => {
      sink += flow.server.port;
    },
  });
  rule({
    name: 'udp-data',
    on: udpConnection.events.receiveData,
    eval: (_flow, data) => {
      sink += data.length;
    },
  });
  rule({
    name: 'udp-end',
    on: udpConnection.events.endConnection,
    eval: (flow) => {
      sink += flow.id;
    },
  });
  rule({ name: 'exiting', on: engine.events.exiting, eval: () => log.info(`fuzz run saw ${packets} bytes (${sink})`) });
});
