/**
 * A rule's name is the rule author's text: a newline or a bidi control in it must not reach a
 * terminal raw, where it could forge a summary line or reorder what is shown.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, defineRules, tcp } from 'palisade';
import { replay, tcpSession } from 'palisade/testing';
import { printable } from '../../core/printable.ts';
import { palisade } from './run-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-rule-names-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A newline that forges a line of the summary, and a right-to-left override. */
const evil = 'evil\nrule errors 0\u202etxt.exe\u0007';
const shown = 'evil\\nrule errors 0\\u202etxt.exe\\u0007';
/** Whether any of them reached the text raw. */
const raw = (text: string): boolean => /\nrule errors 0/.test(text) || text.includes('\u202e') || text.includes('\u0007');

describe('rule names printed to a terminal', () => {
  it('printable() escapes control characters and bidi controls, JSON-style, and leaves other text alone', () => {
    expect(printable('a\nb\r\tc\u0000\u001b[31m\u007f\u0085')).toBe('a\\nb\\r\\tc\\u0000\\u001b[31m\\u007f\\u0085');
    expect(printable('\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u2028\u2029')).toBe(
      '\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c\\u2028\\u2029',
    );
    expect(printable('http-smuggling · règle 1 ✓')).toBe('http-smuggling · règle 1 ✓');
  });

  it('palisade replay: the summary and PAL_ERR_RULE_ERRORS show the name escaped', () => {
    const rulesFile = join(tmp, 'evil.ts');
    writeFileSync(
      rulesFile,
      `import { defineRules, tcp } from 'palisade';
export default defineRules(({ rule }) => {
  rule({ name: ${JSON.stringify(evil)}, on: tcp.events.receivePacket, eval: () => { throw new Error('boom'); } });
});
`,
    );
    const r = palisade(['replay', rulesFile, 'samples/firewall/capture.pcap', '--log', join(tmp, 'log.jsonl')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`rule errors \\d+ \\(${shown.replace(/\\/g, '\\\\')} \\d+\\)`));
    expect(r.stderr).toContain(`PAL_ERR_RULE_ERRORS: rules threw`);
    expect(r.stderr).toContain(`'${shown}' `);
    expect(raw(r.stderr)).toBe(false);
  });

  it('a rule stopped by rules.timeoutMs is named escaped', async () => {
    const rules = defineRules(({ rule }) => {
      rule({ name: evil, on: tcp.events.receivePacket, eval: () => { for (;;) Math.random(); } });
    });
    const r = await replay({ rules, pcap: tcpSession().handshake().pcap(), config: { rules: { timeoutMs: 100 } } });
    expect(r.error?.code).toBe('PAL_ERR_RULE_TIMEOUT');
    expect(r.error?.message).toContain(`rule '${shown}' ran for`);
    expect(raw(r.error?.message ?? '')).toBe(false);
  });

  it('a malformed rule is named escaped in PAL_ERR_RULE_INVALID', () => {
    const rules = defineRules(({ rule }) => {
      rule({ name: evil, on: tcp.events.receivePacket } as never);
    });
    expect(() => createEngine({ rules })).toThrow(`rule '${shown}' has no eval function`);
  });
});
