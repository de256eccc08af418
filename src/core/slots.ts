/**
 * Stable small numbers for names that counters are kept by: `pool/member` keys, pool names, route
 * keys. A name keeps its number for the life of the process, across reloads, so a front end can
 * count in a flat array by number on the hot path and a scrape can name each count. Numbers are
 * never reused; the registry only grows with names ever configured.
 */
export class Slots {
  readonly #byName = new Map<string, number>()
  readonly #names: string[] = []

  /** The number of `name`, given on first sight. */
  of (name: string): number {
    let n = this.#byName.get(name)
    if (n === undefined) {
      n = this.#names.length
      this.#names.push(name)
      this.#byName.set(name, n)
    }
    return n
  }

  name (slot: number): string | undefined { return this.#names[slot] }
  get size (): number { return this.#names.length }
}

/** A growable array of counts indexed by slot. */
export class SlotCounts {
  #counts = new Float64Array(64)

  add (slot: number, n = 1): void {
    if (slot >= this.#counts.length) this.#grow(slot)
    this.#counts[slot] = (this.#counts[slot] as number) + n
  }

  get (slot: number): number { return this.#counts[slot] ?? 0 }

  #grow (slot: number): void {
    let size = this.#counts.length
    while (size <= slot) size *= 2
    const next = new Float64Array(size)
    next.set(this.#counts)
    this.#counts = next
  }
}
