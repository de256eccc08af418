/**
 * "Did you mean": the closest candidate to a mistyped word, by Damerau–Levenshtein distance
 * (adjacent transpositions count as one edit). Used for unknown config keys, commands and flags.
 */

/** The candidate nearest to `word`, if it is close enough to be a likely typo; else undefined. */
export function closest (word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  // A third of the word's length, at least 1 and at most 3 edits: "lisen" → "listen", not "ttl" → "ip".
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const d = distance(w, candidate.toLowerCase())
    if (d < bestDistance) { best = candidate; bestDistance = d }
  }
  return best
}

/** Optimal string alignment distance between a and b. */
export function distance (a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d = new Uint16Array(rows * cols)
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1)
      d[i * cols + j] = v
    }
  }
  return at(rows - 1, cols - 1)
}
