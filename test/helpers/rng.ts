/** xorshift32: a small deterministic PRNG for the fuzz tests, so a failure replays exactly. */
export function rng (seed: number): () => number {
  let x = seed >>> 0
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x / 0x100000000
  }
}
