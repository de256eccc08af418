/**
 * What the dashboard watches, as a stream: a timeline of changes (health, admin state, served or
 * not, pool modes) found by comparing each published snapshot with the one before, and once a
 * second the answers and redirects each member got in that second. Subscribers get each event as
 * it happens; a new one first gets the recent timeline. Nothing here is on the query path: the
 * shares are read from the counters the front ends keep anyway (docs/metrics.md).
 */
import type { Clock } from '../core/clock.js'
import type { Snapshot } from '../core/core.js'
import type { MemberView, PoolView } from '../core/pool-view.js'
import type { SlotCounts } from '../core/slots.js'

export interface TimelineEntry {
  readonly at: string
  /** health, admin, served, pool, config */
  readonly kind: string
  /** `pool/member`, or the pool's name for pool entries. */
  readonly subject: string
  readonly site: string | null
  readonly from: string | null
  readonly to: string
  readonly detail: string
}

export interface ShareSample {
  readonly at: string
  /** Per `pool/member`: DNS answers and redirects in the last interval. */
  readonly members: Record<string, { readonly site: string | null, readonly dns: number, readonly http: number }>
}

export type FeedEvent = { type: 'timeline', data: TimelineEntry } | { type: 'shares', data: ShareSample } | { type: 'changed', data: { version: number } }

export interface FeedSources {
  readonly clock: Clock
  /** Counters by member slot, when metrics are on: DNS answers, redirects. */
  readonly dnsAnswers?: SlotCounts | undefined
  readonly redirects?: SlotCounts | undefined
  /** How often a share sample is taken. @default 1000 ms */
  readonly intervalMs?: number
}

/** The recent timeline a new subscriber gets first. */
export const TIMELINE_KEPT = 500

interface Seen { health: string, admin: string, served: boolean, site: string | null }

export class DashboardFeed {
  readonly #sources: FeedSources
  readonly #subscribers = new Set<(e: FeedEvent) => void>()
  readonly #timeline: TimelineEntry[] = []
  #seen = new Map<string, Seen>()
  #modes = new Map<string, string>()
  #snapshot: Snapshot
  #last = new Map<number, { dns: number, http: number }>()
  #timer: unknown
  #closed = false

  constructor (first: Snapshot, sources: FeedSources) {
    this.#sources = sources
    this.#snapshot = first
    this.#remember(first)
    this.#sample(false)
    this.#timer = sources.clock.setTimeout(() => this.#tick(), sources.intervalMs ?? 1000)
  }

  get timeline (): readonly TimelineEntry[] { return this.#timeline }
  get counting (): boolean { return this.#sources.dnsAnswers !== undefined }

  /** Call with each published snapshot (core.onPublish). */
  publish (s: Snapshot): void {
    const now = new Date(this.#sources.clock.now()).toISOString()
    if (s.config !== this.#snapshot.config) this.#add({ at: now, kind: 'config', subject: s.config.file, site: null, from: this.#snapshot.config.version, to: s.config.version, detail: 'configuration reloaded' })
    for (const pool of s.pools) {
      for (const m of pool.members) this.#compare(m, now)
      const mode = modeOf(pool)
      const before = this.#modes.get(pool.name)
      if (before !== undefined && before !== mode) this.#add({ at: now, kind: 'pool', subject: pool.name, site: null, from: before, to: mode, detail: reasonOf(pool) })
    }
    this.#snapshot = s
    this.#remember(s)
    this.#emit({ type: 'changed', data: { version: s.version } })
  }

  subscribe (fn: (e: FeedEvent) => void): () => void {
    this.#subscribers.add(fn)
    return () => { this.#subscribers.delete(fn) }
  }

  close (): void {
    this.#closed = true
    this.#sources.clock.clearTimeout(this.#timer)
    this.#subscribers.clear()
  }

  #compare (m: MemberView, at: string): void {
    const before = this.#seen.get(m.key)
    if (before === undefined) return
    const now = seenOf(m)
    const site = m.config.site ?? null
    if (before.health !== now.health) this.#add({ at, kind: 'health', subject: m.key, site, from: before.health, to: now.health, detail: m.healthReason })
    if (before.admin !== now.admin) this.#add({ at, kind: 'admin', subject: m.key, site, from: before.admin, to: now.admin, detail: m.adminEntry?.note ?? '' })
    if (before.served !== now.served) this.#add({ at, kind: 'served', subject: m.key, site, from: before.served ? 'served' : 'out', to: now.served ? 'served' : 'out', detail: m.why })
  }

  #remember (s: Snapshot): void {
    this.#seen = new Map(s.pools.flatMap(p => p.members.map(m => [m.key, seenOf(m)] as const)))
    this.#modes = new Map(s.pools.map(p => [p.name, modeOf(p)]))
  }

  #add (e: TimelineEntry): void {
    this.#timeline.push(e)
    if (this.#timeline.length > TIMELINE_KEPT) this.#timeline.splice(0, this.#timeline.length - TIMELINE_KEPT)
    this.#emit({ type: 'timeline', data: e })
  }

  #tick (): void {
    if (this.#closed) return
    this.#sample(true)
    this.#timer = this.#sources.clock.setTimeout(() => this.#tick(), this.#sources.intervalMs ?? 1000)
  }

  /** Counts since the last sample, per member; the first call only sets the baseline. */
  #sample (emit: boolean): void {
    const { dnsAnswers, redirects } = this.#sources
    if (dnsAnswers === undefined && redirects === undefined) return
    const members: Record<string, { site: string | null, dns: number, http: number }> = {}
    const next = new Map<number, { dns: number, http: number }>()
    for (const pool of this.#snapshot.pools) {
      for (const m of pool.members) {
        const now = { dns: dnsAnswers?.get(m.slot) ?? 0, http: redirects?.get(m.slot) ?? 0 }
        const was = this.#last.get(m.slot) ?? now
        next.set(m.slot, now)
        members[m.key] = { site: m.config.site ?? null, dns: now.dns - was.dns, http: now.http - was.http }
      }
    }
    this.#last = next
    if (emit) this.#emit({ type: 'shares', data: { at: new Date(this.#sources.clock.now()).toISOString(), members } })
  }

  #emit (e: FeedEvent): void {
    for (const fn of this.#subscribers) fn(e)
  }
}

function seenOf (m: MemberView): Seen {
  const admin = m.force === undefined ? m.admin : `${m.admin}, forced ${m.force}`
  return { health: m.health, admin, served: m.eligible, site: m.config.site ?? null }
}

/** A pool's mode for the timeline: its IPv4 (else IPv6, else redirect) decision's. */
function modeOf (p: PoolView): string {
  const d = p.v4.kind === 'members' ? p.v4 : p.v6.kind === 'members' ? p.v6 : p.url
  return d.mode
}

function reasonOf (p: PoolView): string {
  const d = p.v4.kind === 'members' ? p.v4 : p.v6.kind === 'members' ? p.v6 : p.url
  return d.reasons[d.reasons.length - 1] ?? ''
}
