/**
 * What palisade run checks of a rule file before it goes inline, at start-up and for each
 * `ctl reload`: its types, and a trial load that builds an engine on it, so that nothing of a
 * broken file reaches a worker.
 */
import { Writable } from 'node:stream';
import { createEngine } from '../engine.ts';
import { fileNotFound } from '../errors.ts';
import { isFile } from '../io/is-file.ts';
import { loadRuleFile } from '../rule-loader.ts';

export async function checkTypes(path: string): Promise<void> {
  if (!isFile(path)) throw fileNotFound('rule file', path);
  // Loaded only here: a command that does not type-check never pays for it.
  await (await import('../typecheck/index.ts')).requireTypes(path);
}

/** Loads the file (its top-level code runs) and installs its rules in an engine that is closed at once. */
export async function trialLoad(path: string): Promise<void> {
  if (!isFile(path)) throw fileNotFound('rule file', path);
  const rules = await loadRuleFile(path);
  const sink = new Writable({
    write: (_chunk, _enc, done) => {
      done();
    },
  });
  createEngine({ rules, alerts: sink, log: sink }).close();
}
