/**
 * The admin state of a cluster, kept in Redis so every node applies the same drains, forces and
 * weights (docs/cluster.md). One hash holds an entry per `pool/member` (the state file's JSON form
 * of that member), a counter its version; every change is published on the cluster's channel and
 * every node reads the whole hash again on the message, on reconnecting, and every RESYNC_MS (a
 * missed message heals by itself).
 *
 * Changes are optimistic transactions: WATCH the hash, read it, apply the one merge rule
 * (core/admin-state.ts applyChange), write in MULTI/EXEC; if another node changed the hash in
 * between, EXEC fails and the change is applied again on top of theirs. So two nodes changing one
 * member at once end in the order Redis committed them, each applied whole. A change made while
 * Redis is unreachable is refused (GSLB_E_STATE_UNAVAILABLE), never queued.
 *
 * Each node keeps a copy of the last state it read in its state file (health.state_file), and
 * starts from it when Redis is unreachable at start: a restart never forgets a drain.
 */
import { AdminTable, applyChange, decodeTable, encodeEntry, encodeTable, type AdminChange, type AdminStore } from '../core/admin-state.js'
import type { FileAdminStore } from '../core/admin-file-store.js'
import type { Clock } from '../core/clock.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import type { RedisLink } from './redis-link.js'

/** How often a node re-reads the version to catch a missed message. */
export const RESYNC_MS = 5000
const MAX_ATTEMPTS = 20

export class RedisAdminStore implements AdminStore {
  readonly #link: RedisLink
  readonly #cache: FileAdminStore
  readonly #clock: Clock
  readonly #log: Logger
  readonly #hash: string
  readonly #versionKey: string
  readonly #listeners: Array<() => void> = []
  #table = AdminTable.EMPTY
  #version: string | undefined
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined
  #again = false
  /** Transactions and reads run one at a time on the transaction connection. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor (link: RedisLink, cache: FileAdminStore, clock: Clock, log: Logger) {
    this.#link = link
    this.#cache = cache
    this.#clock = clock
    this.#log = log
    this.#hash = `${link.prefix}admin`
    this.#versionKey = `${link.prefix}admin:version`
    link.onMessage(m => { if (m.type === 'admin' && String(m.version) !== this.#version) this.#sync() })
    link.onEvent(e => { if (e === 'up') this.#sync() })
  }

  get table (): AdminTable { return this.#table }
  /** The shared state's version last read; undefined before the first read. */
  get version (): string | undefined { return this.#version }

  onChange (fn: () => void): void { this.#listeners.push(fn) }

  async load (): Promise<void> {
    await this.#cache.load()
    this.#table = this.#cache.table
    if (this.#link.up) {
      await this.#readAll()
    } else {
      this.#log.warn({ redis: this.#link.where, members: this.#table.entries.size }, 'cluster: Redis unreachable at start; admin state from this node\'s copy until it answers')
    }
    this.#timer = setInterval(() => this.#checkVersion(), RESYNC_MS)
    this.#timer.unref()
  }

  update (keys: readonly string[], change: AdminChange): Promise<void> {
    if (!this.#link.up) return Promise.reject(this.#link.unavailable())
    return this.#serial(async () => await this.#transact(keys, change))
  }

  async #transact (keys: readonly string[], change: AdminChange): Promise<void> {
    const cmd = this.#link.tx
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await cmd.watch(this.#hash)
        const current = this.#decode(await cmd.hgetall(this.#hash))
        const now = this.#clock.now()
        const multi = cmd.multi()
        for (const key of keys) {
          const entry = applyChange(current.get(key, now), change)
          // An entry that expires before it is written is as good as none (encodeTable drops it too).
          if (entry === undefined || (entry.expiresAt !== undefined && entry.expiresAt <= now)) multi.hdel(this.#hash, key)
          else multi.hset(this.#hash, key, JSON.stringify(encodeEntry(entry)))
        }
        // Expired entries go when anything is written.
        for (const [key, e] of current.entries) if (!keys.includes(key) && e.expiresAt !== undefined && e.expiresAt <= now) multi.hdel(this.#hash, key)
        multi.incr(this.#versionKey)
        const done = await multi.exec()
        if (done === null) continue // another node changed the hash first: apply on top of theirs
        const failed = done.find(([err]) => err !== null)
        if (failed !== undefined) throw failed[0] as Error
        const version = String(done[done.length - 1]?.[1])
        await cmd.publish(this.#link.channel, JSON.stringify({ type: 'admin', version })).catch(() => {})
        await this.#readNow()
        return
      }
      throw new GslbError(ErrorCode.STATE_UNAVAILABLE, `the shared admin state kept changing under this change (${MAX_ATTEMPTS} attempts); it was not applied`)
    } catch (err) {
      await cmd.unwatch().catch(() => {})
      if (err instanceof GslbError) throw err
      throw new GslbError(ErrorCode.STATE_UNAVAILABLE, `the shared state (Redis at ${this.#link.where}) failed: ${(err as Error).message}; the change was not applied`)
    }
  }

  close (): void {
    clearInterval(this.#timer)
    this.#listeners.length = 0
  }

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn)
    this.#tail = run.catch(() => {})
    return run
  }

  async #readAll (): Promise<void> { await this.#serial(async () => await this.#readNow()) }

  /** Read the hash and version together; apply, copy to the cache file, tell the core. */
  async #readNow (): Promise<void> {
    const res = await this.#link.tx.multi().hgetall(this.#hash).get(this.#versionKey).exec()
    if (res === null) return
    const [[e1, fields], [e2, version]] = res as [[Error | null, Record<string, string>], [Error | null, string | null]]
    if (e1 !== null || e2 !== null) throw (e1 ?? e2) as Error
    if (version === null && this.#table.entries.size > 0 && await this.#seed()) return
    const table = this.#decode(fields)
    this.#version = version ?? '0'
    if (sameTable(table, this.#table)) return
    this.#table = table
    for (const fn of this.#listeners) fn()
    await this.#cache.replace(table).catch(err => this.#log.warn({ err: (err as Error).message }, 'cluster: cannot keep this node\'s copy of the shared admin state'))
  }

  /**
   * A Redis without the cluster's admin state (a new Redis, or one restarted without persistence)
   * gets this node's copy, so drains survive it: the first node to see the empty Redis writes,
   * the others read what it wrote. Returns true when this node wrote it.
   */
  async #seed (): Promise<boolean> {
    const cmd = this.#link.tx
    await cmd.watch(this.#versionKey)
    if (await cmd.get(this.#versionKey) !== null) { await cmd.unwatch(); return false }
    const now = this.#clock.now()
    const members = encodeTable(this.#table, now).members
    const m = cmd.multi().del(this.#hash)
    for (const [key, entry] of Object.entries(members)) m.hset(this.#hash, key, JSON.stringify(entry))
    const done = await m.set(this.#versionKey, '1').exec()
    if (done === null) return false
    this.#version = '1'
    this.#log.warn({ redis: this.#link.where, members: Object.keys(members).length }, 'cluster: Redis had no admin state; wrote this node\'s copy')
    await cmd.publish(this.#link.channel, JSON.stringify({ type: 'admin', version: '1' })).catch(() => {})
    return true
  }

  #decode (fields: Record<string, string>): AdminTable {
    const members: Record<string, unknown> = {}
    for (const [key, text] of Object.entries(fields)) {
      try { members[key] = JSON.parse(text) } catch { members[key] = text }
    }
    const table = decodeTable({ version: 1, members })
    if (typeof table === 'string') throw new GslbError(ErrorCode.STATE_FILE, `the shared admin state in Redis (${this.#hash}) cannot be used: ${table}`)
    return table
  }

  /**
   * A read in the background (a message, a reconnect); one at a time, errors logged. A message
   * that arrives during a read asks for one more after it: that read may have missed its change.
   */
  #sync (): void {
    if (!this.#link.up) return
    if (this.#reading !== undefined) { this.#again = true; return }
    this.#reading = this.#readAll()
      .catch(err => this.#log.warn({ err: (err as Error).message }, 'cluster: cannot read the shared admin state; keeping the last one'))
      .finally(() => {
        this.#reading = undefined
        if (this.#again) { this.#again = false; this.#sync() }
      })
  }

  #checkVersion (): void {
    if (!this.#link.up) return
    this.#link.cmd.get(this.#versionKey).then(v => { if ((v ?? '0') !== this.#version) this.#sync() }, () => {})
  }
}

function sameTable (a: AdminTable, b: AdminTable): boolean {
  if (a.entries.size !== b.entries.size) return false
  for (const [k, e] of a.entries) if (JSON.stringify(e) !== JSON.stringify(b.entries.get(k))) return false
  return true
}
