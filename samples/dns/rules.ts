/**
 * A DNS filter in front of a resolver, and passive DNS behind it.
 *
 * - `nameList`, on DNS only, refuses queries for blocked.example and every name below it (an
 *   ad or tracker zone, a malware domain). The query never reaches the resolver: over UDP its
 *   datagram is dropped with its flow, so the client hears nothing and gives up (or asks
 *   again, and is dropped again); over TCP the connection is reset before the query, held until
 *   it is whole, leaves.
 * - `passiveDns` logs every record of every response it sees, the answers and the additional
 *   section (the address of an MX's host comes there), and a line for a response with no
 *   record (NXDOMAIN): what each name resolved to, for which client, and when, to look up after
 *   an incident without asking DNS again. A refused query has no response, so no line.
 */
import { defineRules } from 'palisade';
import { nameList, passiveDns } from 'palisade/rules';

export default defineRules((ctx) => {
  nameList(ctx, { name: 'dns-blocklist', deny: ['*.blocked.example'], on: ['dns'] });
  passiveDns(ctx, { sections: ['answers', 'additional'], unanswered: true });
});
