/**
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash RFC 9018 §4.4 puts in interoperable DNS
 * server cookies. 64-bit lanes are kept as pairs of 32-bit halves so that no BigInt is allocated
 * on the query path; test/cookies.test.ts checks it against the reference vectors.
 */

// The state v0..v3, each 64-bit lane as a high and a low unsigned 32-bit half, in a typed array:
// module-level numbers at 2^31 and above would be boxed on every store (4x slower). Module
// scratch: the hash runs synchronously and never reenters.
const S = new Uint32Array(8)

/** One SipRound on the module state (additions carry from the low half into the high one). */
function round (): void {
  // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
  let lo = ((S[1] as number) + (S[3] as number)) >>> 0
  S[0] = ((S[0] as number) + (S[2] as number) + (lo < (S[1] as number) ? 1 : 0)) >>> 0; S[1] = lo
  let h = (S[2] as number); let l = (S[3] as number)
  S[2] = ((h << 13) | (l >>> 19)) >>> 0; S[3] = ((l << 13) | (h >>> 19)) >>> 0
  S[2] = ((S[2] as number) ^ (S[0] as number)) >>> 0; S[3] = ((S[3] as number) ^ (S[1] as number)) >>> 0
  h = (S[0] as number); S[0] = (S[1] as number); S[1] = h
  // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
  lo = ((S[5] as number) + (S[7] as number)) >>> 0
  S[4] = ((S[4] as number) + (S[6] as number) + (lo < (S[5] as number) ? 1 : 0)) >>> 0; S[5] = lo
  h = (S[6] as number); l = (S[7] as number)
  S[6] = ((h << 16) | (l >>> 16)) >>> 0; S[7] = ((l << 16) | (h >>> 16)) >>> 0
  S[6] = ((S[6] as number) ^ (S[4] as number)) >>> 0; S[7] = ((S[7] as number) ^ (S[5] as number)) >>> 0
  // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
  lo = ((S[1] as number) + (S[7] as number)) >>> 0
  S[0] = ((S[0] as number) + (S[6] as number) + (lo < (S[1] as number) ? 1 : 0)) >>> 0; S[1] = lo
  h = (S[6] as number); l = (S[7] as number)
  S[6] = ((h << 21) | (l >>> 11)) >>> 0; S[7] = ((l << 21) | (h >>> 11)) >>> 0
  S[6] = ((S[6] as number) ^ (S[0] as number)) >>> 0; S[7] = ((S[7] as number) ^ (S[1] as number)) >>> 0
  // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
  lo = ((S[5] as number) + (S[3] as number)) >>> 0
  S[4] = ((S[4] as number) + (S[2] as number) + (lo < (S[5] as number) ? 1 : 0)) >>> 0; S[5] = lo
  h = (S[2] as number); l = (S[3] as number)
  S[2] = ((h << 17) | (l >>> 15)) >>> 0; S[3] = ((l << 17) | (h >>> 15)) >>> 0
  S[2] = ((S[2] as number) ^ (S[4] as number)) >>> 0; S[3] = ((S[3] as number) ^ (S[5] as number)) >>> 0
  h = (S[4] as number); S[4] = (S[5] as number); S[5] = h
}

function compress (mh: number, ml: number): void {
  S[6] = ((S[6] as number) ^ mh) >>> 0; S[7] = ((S[7] as number) ^ ml) >>> 0
  round(); round()
  S[0] = ((S[0] as number) ^ mh) >>> 0; S[1] = ((S[1] as number) ^ ml) >>> 0
}

/**
 * SipHash-2-4 of `data[start, end)` under the 16-byte `key`, written as 8 bytes (the 64-bit result
 * little-endian, as the reference implementation outputs it) at `out[at]`.
 */
export function siphash24 (key: Uint8Array, data: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  const k0l = le32(key, 0); const k0h = le32(key, 4); const k1l = le32(key, 8); const k1h = le32(key, 12)
  S[0] = (k0h ^ 0x736f6d65) >>> 0; S[1] = (k0l ^ 0x70736575) >>> 0
  S[2] = (k1h ^ 0x646f7261) >>> 0; S[3] = (k1l ^ 0x6e646f6d) >>> 0
  S[4] = (k0h ^ 0x6c796765) >>> 0; S[5] = (k0l ^ 0x6e657261) >>> 0
  S[6] = (k1h ^ 0x74656462) >>> 0; S[7] = (k1l ^ 0x79746573) >>> 0
  const len = end - start
  const whole = start + (len & ~7)
  let p = start
  for (; p < whole; p += 8) compress(le32(data, p + 4), le32(data, p))
  // The last block: the remaining bytes, then the length's low byte in the top byte.
  let ml = 0; let mh = ((len & 0xff) << 24) >>> 0
  const rest = end - p
  for (let i = 0; i < rest; i++) {
    const b = data[p + i] as number
    if (i < 4) ml = (ml | (b << (8 * i))) >>> 0
    else mh = (mh | (b << (8 * (i - 4)))) >>> 0
  }
  compress(mh, ml)
  S[5] = ((S[5] as number) ^ 0xff) >>> 0
  round(); round(); round(); round()
  const rh = ((S[0] as number) ^ (S[2] as number) ^ (S[4] as number) ^ (S[6] as number)) >>> 0
  const rl = ((S[1] as number) ^ (S[3] as number) ^ (S[5] as number) ^ (S[7] as number)) >>> 0
  for (let i = 0; i < 4; i++) { out[at + i] = (rl >>> (8 * i)) & 0xff; out[at + 4 + i] = (rh >>> (8 * i)) & 0xff }
}

function le32 (b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0
}
