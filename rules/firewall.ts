/**
 * A default-deny firewall for TCP connections, as Haka's firewall sample and a stateful
 * firewall's allow list: each new connection is checked against the allow entries in order
 * (a rule group: the first entry that allows it ends the check); a connection no entry allows is
 * refused (its SYN dropped, so it never opens) with an alert.
 *
 *   firewall(ctx, { allow: [{ name: 'web', clients: '192.168.10.0/24', servers: '192.168.20.0/24', ports: [80, 443] }] });
 */
import { tcpConnection, type AlertLevel, type RuleContext, type TcpFlow } from '../index.ts';
import { addressMatcher, type AddressList } from './networks.ts';
import { OptionCheck } from './options.ts';
import { portMatcher, type PortList } from './ports.ts';

export interface FirewallAllow {
  /** The entry's rule name (in logs and rule errors). Default `allow-N`, N from 1. */
  name?: string;
  /** The client's address: an address or a CIDR network ('192.168.10.0/24', 'fd00::/8'), or a list of them. Default: any client. */
  clients?: AddressList;
  /** The server's address, as `clients`. Default: any server. */
  servers?: AddressList;
  /** The server's port: one port, a list, or `{ from, to }` (inclusive). Default: any port. */
  ports?: PortList;
}

export interface FirewallOptions {
  /** The group's name: the `rule` of its alerts. Default 'firewall'. */
  name?: string;
  /** Required. What may connect, checked in order: the first entry that matches allows; `[]` refuses every TCP connection. */
  allow: readonly FirewallAllow[];
  /** Alert on each refused connection. Default true. */
  alert?: boolean;
  /** The refusal alert's severity: 'low', 'medium' or 'high'. Default 'low'. */
  severity?: AlertLevel;
  /** The refusal alert's description. Default 'connection refused by the firewall'. */
  description?: string;
}

/** Installs the firewall group into the rule set being defined. */
export function firewall(ctx: Pick<RuleContext, 'ruleGroup' | 'alert' | 'log'>, options: FirewallOptions): void {
  const check = new OptionCheck('firewall', 'firewall', options, ['name', 'allow', 'alert', 'severity', 'description']);
  const description = check.text('description', options.description, 'connection refused by the firewall');
  const severity = check.severity(options.severity, 'low');
  const alerting = check.flag('alert', options.alert, true);
  const entries = check.list('allow', options.allow).map((entry, i) => allowed(check, i, entry));
  const group = ctx.ruleGroup({
    name: check.name,
    on: tcpConnection.events.newConnection,
    init: (flow) => {
      ctx.log.debug({ client: flow.client, server: flow.server }, 'filtering new connection');
    },
    // Stop at the first entry that allows the connection (Haka's default).
    continue: (allows) => !allows,
    final: (flow) => {
      if (alerting) {
        ctx.alert({
          description,
          severity,
          sources: [flow.client.ip],
          targets: [{ address: flow.server.ip, service: `tcp/${flow.server.port}` }],
          flow,
        });
      }
      flow.drop();
    },
  });
  for (const e of entries) group.rule({ name: e.name, eval: e.allows });
}

/** One allow entry: its rule name and test. A misspelt key fails here: it must not mean "any". */
function allowed(check: OptionCheck, i: number, value: unknown): { name: string; allows: (flow: TcpFlow) => boolean } {
  const option = `allow[${i}]`;
  const entry = check.keys(option, value, ['name', 'clients', 'servers', 'ports']);
  const name = check.text(`${option}.name`, entry.name, `allow-${i + 1}`);
  const clients = addressMatcher(check, `${option}.clients`, entry.clients);
  const servers = addressMatcher(check, `${option}.servers`, entry.servers);
  const port = portMatcher(check, `${option}.ports`, entry.ports);
  return {
    name,
    allows: (flow) => (port === null || port(flow.server.port)) && (clients === null || clients(flow.client.ip)) && (servers === null || servers(flow.server.ip)),
  };
}
