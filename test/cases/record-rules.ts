/**
 * The recording rule set most replay cases share: one log line per tcpConnection event, from
 * which test/cases.test.ts rebuilds each flow's streams and the ordered list of events that
 * each case's trace.json describes.
 */
import { defineRules, tcpConnection, type RuleContext } from 'palisade';

/**
 * Registers the recording rules. A case with rules of its own (a reset, a drop) calls this
 * first: listeners run in registration order, so the record shows what every rule saw.
 */
export function recordEvents({ rule, log }: Pick<RuleContext, 'rule' | 'log'>): void {
  rule({
    name: 'record-newConnection',
    on: tcpConnection.events.newConnection,
    eval: (flow) => {
      log.info({ event: 'newConnection', flow: flow.id, midstream: flow.midstream }, 'newConnection');
    },
  });
  rule({
    name: 'record-receiveData',
    on: tcpConnection.events.receiveData,
    eval: (flow, data, dir, offset) => {
      log.info({ event: 'receiveData', flow: flow.id, dir, offset, data: data.toString('latin1') }, 'receiveData');
    },
  });
  rule({
    name: 'record-anomaly',
    on: tcpConnection.events.anomaly,
    eval: (flow, anomaly) => {
      log.info({ event: 'anomaly', flow: flow.id, dir: anomaly.direction, kind: anomaly.kind }, 'anomaly');
    },
  });
  rule({
    name: 'record-endConnection',
    on: tcpConnection.events.endConnection,
    eval: (flow) => {
      log.info({ event: 'endConnection', flow: flow.id, endReason: flow.endReason }, 'endConnection');
    },
  });
}

export default defineRules(recordEvents);
