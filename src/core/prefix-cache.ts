/**
 * A bounded cache in two generations: lookups try the current generation, then the previous one
 * (an entry found there moves forward); when the current one is full it becomes the previous and
 * a new one starts. Evicting is then dropping a whole Map, never deleting keys one by one (V8
 * scans deleted slots on each delete from the front of a Map: at 65,536 entries one such eviction
 * cost 16 us, more than a whole DNS answer).
 */
export class PrefixCache<K, V> {
  readonly #limit: number
  #current = new Map<K, V>()
  #previous = new Map<K, V>()

  /** At most about 2 x `limit` entries are kept. */
  constructor (limit: number) { this.#limit = limit }

  get (key: K): V | undefined {
    const v = this.#current.get(key)
    if (v !== undefined) return v
    const old = this.#previous.get(key)
    if (old !== undefined) this.set(key, old)
    return old
  }

  set (key: K, value: V): void {
    if (this.#current.size >= this.#limit) {
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(key, value)
  }
}
