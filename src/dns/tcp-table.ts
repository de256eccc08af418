/**
 * The open TCP DNS connections of one process, and which one to close when a cap is reached
 * (RFC 7766 §6.2.2 lets a server close connections to manage its resources).
 *
 * Two caps: `maxPerClient` connections per client network (clientPrefix: /24, /56) and `maxTotal`
 * in all. A new connection is always admitted; to make room one existing connection is closed:
 * - at the per-client cap, that client's connection that made progress longest ago;
 * - at the total cap, the connection that made progress longest ago among the client networks
 *   holding the most connections.
 * "Progress" is a complete message received (or the connection opening). So one client cannot
 * take the table: holding connections open with partial messages only churns its own, while a
 * new client elsewhere is answered.
 */

export interface TableEntry {
  readonly prefix: string
  /** When the connection opened or last completed a message (ms). */
  readonly lastProgressAt: number
}

export class TcpTable<C extends TableEntry> {
  readonly #maxTotal: number
  readonly #maxPerClient: number
  readonly #byPrefix = new Map<string, Set<C>>()
  #size = 0

  constructor (maxTotal: number, maxPerClient: number) {
    this.#maxTotal = maxTotal
    this.#maxPerClient = maxPerClient
  }

  get size (): number { return this.#size }

  /** The connection to close so that one more from `prefix` fits, and which cap asked for it. */
  victimFor (prefix: string): { victim: C, cap: 'client' | 'total' } | undefined {
    const own = this.#byPrefix.get(prefix)
    if (own !== undefined && own.size >= this.#maxPerClient) return { victim: stalest(own), cap: 'client' }
    if (this.#size < this.#maxTotal) return undefined
    // Among the networks holding the most connections, the stalest connection of any of them: so
    // many networks with one connection each (cheap with IPv6) cannot push out an older client.
    let most = 0
    for (const set of this.#byPrefix.values()) if (set.size > most) most = set.size
    let victim: C | undefined
    for (const set of this.#byPrefix.values()) {
      if (set.size !== most) continue
      const c = stalest(set)
      if (victim === undefined || c.lastProgressAt < victim.lastProgressAt) victim = c
    }
    return victim === undefined ? undefined : { victim, cap: 'total' }
  }

  add (c: C): void {
    let set = this.#byPrefix.get(c.prefix)
    if (set === undefined) this.#byPrefix.set(c.prefix, set = new Set())
    set.add(c)
    this.#size++
  }

  delete (c: C): void {
    const set = this.#byPrefix.get(c.prefix)
    if (set === undefined || !set.delete(c)) return
    this.#size--
    if (set.size === 0) this.#byPrefix.delete(c.prefix)
  }

  * [Symbol.iterator] (): IterableIterator<C> {
    for (const set of this.#byPrefix.values()) yield * set
  }
}

function stalest<C extends TableEntry> (set: Set<C>): C {
  let out: C | undefined
  for (const c of set) if (out === undefined || c.lastProgressAt < out.lastProgressAt) out = c
  return out as C
}
