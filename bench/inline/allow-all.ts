// bench/inline.ts: the smallest rule set that tracks TCP connections (no stream reassembly).
import { defineRules, tcpConnection } from 'palisade';

export default defineRules(({ rule }) => {
  rule({ name: 'allow-all', on: tcpConnection.events.newConnection, eval: () => undefined });
});
