/** What a rule threw, as text (logs, alerts, traces). */
import { PalisadeError } from './errors.ts';

/**
 * What a rule threw, as text, whatever it was: an Error, a string, an object without toString
 * (Object.create(null)), an Error whose message getter throws. Never throws itself: it runs in
 * the handler that keeps a rule's fault from ending the engine.
 */
export function describeThrown(err: unknown): { message: string; stack?: string } {
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
