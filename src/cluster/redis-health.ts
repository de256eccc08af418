/**
 * Health views shared through Redis (core/quorum.ts SharedHealth; docs/cluster.md). Each node
 * keeps its view of every target it checks in a hash of its own, `<prefix>health:<node>`, and
 * says it is alive in the sorted set `<prefix>nodes` every heartbeat. A change of view is written
 * and published at once (batched per event-loop turn); the others apply the message, and read the
 * whole hash when a node says hello (it started or came back) or when they come back themselves.
 *
 * Freshness is judged on this node's clock only: a node counts while its heartbeat has moved
 * within `stale_after`, whatever its own clock says. So when Redis is lost, the others' last views
 * count for `stale_after`, then this node goes by its own checks until Redis returns.
 */
import type { ClusterOptions } from '../config/model.js'
import type { Clock } from '../core/clock.js'
import type { HealthState, HealthStatus } from '../core/health-state.js'
import type { NodeView, QuorumOptions, SharedHealth } from '../core/quorum.js'
import type { Logger } from '../log.js'
import type { RedisLink } from './redis-link.js'

/** A node not heard from for this long is removed from the set, and its views with it. */
export const FORGET_AFTER_MS = 3_600_000

interface Peer {
  /** Its last heartbeat score as read (its own clock: only compared with itself). */
  score: number
  /** When this node saw that score change, or a message from it (this node's clock). */
  heardAt: number
  views: Map<string, { status: HealthStatus, reason: string }>
  /** Its whole hash has been read since it (or we) last came up. */
  loaded: boolean
  fresh: boolean
}

interface Wire { s: HealthStatus, r: string }

export interface ClusterStatus {
  readonly node: string
  readonly redis: { readonly url: string, readonly up: boolean, readonly down_since: string | null }
  readonly quorum: QuorumOptions
  readonly nodes: ReadonlyArray<{ node: string, fresh: boolean, heard_ms_ago: number | null, views: number }>
}

export class RedisHealth implements SharedHealth {
  readonly node: string
  readonly quorum: QuorumOptions
  readonly #link: RedisLink
  readonly #opts: ClusterOptions
  readonly #clock: Clock
  readonly #log: Logger
  readonly #peers = new Map<string, Peer>()
  readonly #listeners: Array<() => void> = []
  #own: () => Iterable<readonly [string, HealthState]> = () => []
  readonly #dirty = new Map<string, HealthState>()
  #needFull = true
  #flushing = false
  #flushQueued = false
  #beatTimer: NodeJS.Timeout | undefined
  #beating = false
  #closed = false

  constructor (link: RedisLink, opts: ClusterOptions, clock: Clock, log: Logger) {
    this.node = opts.node
    this.quorum = { rule: opts.quorum, minNodes: opts.minNodes }
    this.#link = link
    this.#opts = opts
    this.#clock = clock
    this.#log = log
    link.onMessage(m => this.#onMessage(m))
    link.onEvent(e => {
      if (e !== 'up') return
      // Back: send our whole view again, and read everyone's.
      this.#needFull = true
      for (const p of this.#peers.values()) p.loaded = false
      this.#scheduleFlush()
      void this.#beat()
    })
  }

  attach (own: () => Iterable<readonly [string, HealthState]>): void { this.#own = own }

  start (): void {
    this.#scheduleFlush()
    void this.#beat()
    this.#beatTimer = setInterval(() => { void this.#beat() }, this.#opts.heartbeatMs)
    this.#beatTimer.unref()
  }

  share (key: string, state: HealthState): void {
    this.#dirty.set(key, state)
    this.#scheduleFlush()
  }

  targetsChanged (): void {
    this.#needFull = true
    this.#scheduleFlush()
  }

  views (key: string): readonly NodeView[] {
    const out: NodeView[] = []
    for (const [node, p] of this.#peers) {
      if (!p.fresh) continue
      const v = p.views.get(key)
      if (v !== undefined) out.push({ node, status: v.status, reason: v.reason, heardAt: p.heardAt })
    }
    return out
  }

  onChange (fn: () => void): void { this.#listeners.push(fn) }

  status (): ClusterStatus {
    const now = this.#clock.now()
    const down = this.#link.downSince
    return {
      node: this.node,
      redis: { url: this.#link.where, up: this.#link.up, down_since: down === undefined ? null : new Date(down).toISOString() },
      quorum: this.quorum,
      nodes: [
        { node: this.node, fresh: true, heard_ms_ago: 0, views: [...this.#own()].length },
        ...[...this.#peers].map(([node, p]) => ({ node, fresh: p.fresh, heard_ms_ago: p.heardAt === 0 ? null : now - p.heardAt, views: p.views.size })),
      ],
    }
  }

  /** For metrics: this node, whether Redis answers, and how many other nodes count now. */
  counts (): { node: string, redisUp: boolean, fresh: number, stale: number } {
    const fresh = [...this.#peers.values()].filter(p => p.fresh).length
    return { node: this.node, redisUp: this.#link.up, fresh, stale: this.#peers.size - fresh }
  }

  close (): void {
    this.#closed = true
    clearInterval(this.#beatTimer)
  }

  /** Stop, and tell the others: they stop counting this node at once, not after stale_after. */
  async leave (): Promise<void> {
    this.close()
    if (!this.#link.up) return
    await this.#link.cmd.multi().zrem(this.#nodesKey, this.node).publish(this.#link.channel, JSON.stringify({ type: 'bye', node: this.node })).exec().catch(() => {})
  }

  get #nodesKey (): string { return `${this.#link.prefix}nodes` }
  #hashOf (node: string): string { return `${this.#link.prefix}health:${node}` }

  #changed (): void { for (const fn of this.#listeners) fn() }

  #scheduleFlush (): void {
    if (this.#flushQueued || this.#closed) return
    this.#flushQueued = true
    setImmediate(() => { this.#flushQueued = false; void this.#flush() })
  }

  /** Write and publish what changed (or everything, after a start, a reload or a reconnect). */
  async #flush (): Promise<void> {
    if (this.#flushing || !this.#link.up || this.#closed) return
    this.#flushing = true
    const full = this.#needFull
    const entries = full ? [...this.#own()] : [...this.#dirty]
    this.#needFull = false
    this.#dirty.clear()
    try {
      const hash = this.#hashOf(this.node)
      const m = this.#link.cmd.multi()
      if (full) m.del(hash)
      const fields: Record<string, string> = {}
      const views: Record<string, Wire> = {}
      for (const [key, st] of entries) {
        const w: Wire = { s: st.status, r: st.reason }
        fields[key] = JSON.stringify(w)
        views[key] = w
      }
      if (entries.length > 0) m.hset(hash, fields)
      m.zadd(this.#nodesKey, this.#clock.now(), this.node)
      m.publish(this.#link.channel, JSON.stringify(full ? { type: 'hello', node: this.node } : { type: 'health', node: this.node, views }))
      const res = await m.exec()
      const failed = res?.find(([err]) => err !== null)
      if (res === null || failed !== undefined) throw (failed?.[0] as Error | undefined) ?? new Error('transaction aborted')
    } catch (err) {
      // Sent again when Redis is back (the reconnect asks for everything).
      this.#needFull = true
      this.#log.debug({ err: (err as Error).message }, 'cluster: cannot share health views now')
    } finally {
      this.#flushing = false
      if (this.#dirty.size > 0 || (this.#needFull && this.#link.up && !full)) this.#scheduleFlush()
    }
  }

  /** Say we are alive; read who else is, and how fresh; read the views of nodes we have not read. */
  async #beat (): Promise<void> {
    if (this.#beating || this.#closed) return
    this.#beating = true
    const now = this.#clock.now()
    let changed = false
    try {
      if (this.#link.up) {
        const cmd = this.#link.cmd
        const res = await cmd.multi()
          .zadd(this.#nodesKey, now, this.node)
          .zremrangebyscore(this.#nodesKey, '-inf', String(now - FORGET_AFTER_MS))
          .zrange(this.#nodesKey, '0', '-1', 'WITHSCORES')
          .exec()
        const list = (res?.[2]?.[1] ?? []) as string[]
        const seen = new Set<string>()
        for (let i = 0; i + 1 < list.length; i += 2) {
          const node = list[i] as string
          const score = Number(list[i + 1])
          if (node === this.node) continue
          seen.add(node)
          let p = this.#peers.get(node)
          if (p === undefined) {
            p = { score, heardAt: 0, views: new Map(), loaded: false, fresh: false }
            this.#peers.set(node, p)
          } else if (score !== p.score) {
            p.score = score
            p.heardAt = now
          }
          if (!p.loaded) {
            const fields = await cmd.hgetall(this.#hashOf(node))
            p.views = decodeViews(fields)
            p.loaded = true
            p.heardAt = p.heardAt === 0 ? now : p.heardAt
            changed = true
          }
        }
        for (const node of [...this.#peers.keys()]) if (!seen.has(node)) { this.#peers.delete(node); changed = true }
      }
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'cluster: heartbeat failed')
    } finally {
      this.#beating = false
    }
    // Freshness moves with this node's clock, Redis or not.
    for (const [node, p] of this.#peers) {
      const fresh = p.heardAt > 0 && now - p.heardAt <= this.#opts.staleAfterMs
      if (fresh !== p.fresh) {
        p.fresh = fresh
        changed = true
        this.#log.info({ node, fresh }, fresh ? 'cluster: node counts again' : 'cluster: node stale; its views no longer count')
      }
    }
    if (changed) this.#changed()
  }

  #onMessage (m: Record<string, unknown>): void {
    const node = typeof m.node === 'string' ? m.node : undefined
    if (node === undefined || node === this.node) return
    const now = this.#clock.now()
    const p = this.#peers.get(node) ?? { score: 0, heardAt: now, views: new Map(), loaded: false, fresh: false }
    this.#peers.set(node, p)
    p.heardAt = now
    if (m.type === 'bye') {
      this.#peers.delete(node)
      this.#changed()
    } else if (m.type === 'hello') {
      p.loaded = false
      void this.#beat()
    } else if (m.type === 'health' && typeof m.views === 'object' && m.views !== null) {
      for (const [key, v] of Object.entries(m.views as Record<string, Wire>)) {
        if (isWire(v)) p.views.set(key, { status: v.s, reason: v.r })
      }
      if (p.fresh) this.#changed()
    }
  }
}

function isWire (v: unknown): v is Wire {
  const w = v as Wire
  return typeof w === 'object' && w !== null && (w.s === 'up' || w.s === 'down' || w.s === 'unknown') && typeof w.r === 'string'
}

function decodeViews (fields: Record<string, string>): Map<string, { status: HealthStatus, reason: string }> {
  const out = new Map<string, { status: HealthStatus, reason: string }>()
  for (const [key, text] of Object.entries(fields)) {
    try {
      const v = JSON.parse(text) as unknown
      if (isWire(v)) out.set(key, { status: v.s, reason: v.r })
    } catch { /* a field this version cannot read is skipped */ }
  }
  return out
}
