/**
 * A frame's verdict: numbers on the packet path (dissectors/verdict.ts), their names at the API
 * (`engine.push()`, the replay result).
 */
import { ACCEPT, DROP, PENDING } from '../dissectors/verdict.ts';

export { ACCEPT, DROP, PENDING };

export type Verdict = 'accept' | 'drop' | 'pending';

/** The API's name of each numeric verdict. */
export const verdictNames: readonly Verdict[] = ['accept', 'drop', 'pending'];
