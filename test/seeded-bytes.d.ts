/** Types of seeded-bytes.js for the TypeScript suites. */
export function seededBytes(seed: number, n: number): Buffer;
