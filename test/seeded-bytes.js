// Seeded pseudo-random bytes (xorshift32) for the endpoint programs of the namespace tests:
// the same seed gives the same bytes every run, so each side can check what it received.
// Plain JavaScript: the endpoints run under bare `node` inside the namespaces.

/** `n` bytes from `seed`. */
export function seededBytes(seed, n) {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, n);
}
