/**
 * The shared health and scheduling core. It owns the health monitor, the admin state and the
 * current Snapshot: a frozen view of every pool with its members' state and per-family decisions
 * precomputed. Health results and admin expiries arrive at any time; they are folded into the next
 * snapshot after `health.coalesce` (one publish per burst), admin changes and config changes
 * publish at once. Front ends (DNS, HTTP) read `snapshot` once per query and never wait on it.
 * Imports nothing from dns2, fastify or maxmind.
 */
import { isIP } from 'node:net'
import type { CheckConfig, GslbConfig, MemberConfig, PoolConfig } from '../config/model.js'
import { DEFAULT_CHECK_PORT } from '../config/checks.js'
import type { Logger } from '../log.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { AdminChange, AdminEntry, AdminStore } from './admin-state.js'
import { MemoryAdminStore } from './admin-memory-store.js'
import type { Clock } from './clock.js'
import type { HealthState, HealthStatus } from './health-state.js'
import { quorumHealth, type NodeView, type QuorumResult, type SharedHealth } from './quorum.js'
import { HealthMonitor, type TargetSpec } from './health-monitor.js'
import { decideFamily, familyOf, memberView, type FamilyDecision, type FamilyKey, type MemberView, type PoolView } from './pool-view.js'
import type { Probe } from './probe.js'
import { ipToBytes, nameWire } from './wire-bytes.js'
import { deepFreeze } from '../freeze.js'
import { GeoPlan, type GeoLocator } from './geo.js'
import { Slots } from './slots.js'

export interface Snapshot {
  readonly version: number
  readonly config: GslbConfig
  /** Same order as config.pools: front ends index pools by position. */
  readonly pools: readonly PoolView[]
  readonly byName: ReadonlyMap<string, PoolView>
  readonly publishedAt: number
  /** True once the first round of checks finished (or the startup wait passed). */
  readonly ready: boolean
  /** The location database in use (swapped whole when its file changes); undefined: none configured or loaded. */
  readonly geo: GeoLocator | undefined
}

export interface CoreOptions {
  readonly clock: Clock
  readonly log: Logger
  readonly random?: () => number
  /** The probe for a check: src/probes/ (injected by app.ts), or fakes in tests. */
  readonly probeFor: (check: CheckConfig) => Probe
  /** Where admin state is kept (the state file, or the primary process's for --workers). @default none kept: in memory */
  readonly admin?: AdminStore
  /** Run no checks and take every member as up: `gslb explain --offline` evaluates a configuration this way. */
  readonly assumeUp?: boolean
  /** Told of what metrics count: probes and health transitions. */
  readonly events?: CoreEvents
  /** Other gslb nodes' views of health (a cluster, docs/cluster.md); none: this node's checks alone. */
  readonly sharedHealth?: SharedHealth
}

export interface CoreEvents {
  probe: (check: string, ok: boolean, ms: number) => void
  transition: (check: string, to: HealthStatus) => void
}

export class GslbCore {
  readonly #opts: CoreOptions
  #config: GslbConfig
  readonly monitor: HealthMonitor
  readonly admin: AdminStore
  /** Numbers for counters by member and pool, stable across reloads (core/slots.ts). */
  readonly slots = { members: new Slots(), pools: new Slots() }
  #snapshot: Snapshot
  #version = 0
  #ready = false
  #pending: unknown
  #expiryTimer: unknown
  #geo: GeoLocator | undefined
  #plans: { config: GslbConfig, plans: Map<string, GeoPlan> } | undefined
  readonly #listeners: Array<(s: Snapshot) => void> = []

  constructor (config: GslbConfig, opts: CoreOptions) {
    this.#opts = opts
    this.#config = config
    this.monitor = new HealthMonitor({
      clock: opts.clock,
      maxInFlight: config.health.maxInFlight,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      probeFor: opts.probeFor,
      onChange: (key, status, reported) => this.#onHealthChange(key, status, reported),
      ...(opts.events === undefined ? {} : { onProbe: (t, ok, ms) => opts.events?.probe(t.spec.check.name, ok, ms) }),
    })
    this.admin = opts.admin ?? new MemoryAdminStore()
    this.admin.onChange(() => this.#publishNow())
    const shared = opts.sharedHealth
    if (shared !== undefined) {
      shared.attach(() => [...this.monitor.targets()].map(t => [t.spec.key, t.health] as const))
      // Other nodes' views change health as this node's checks do: coalesced into one publish.
      shared.onChange(() => this.#schedulePublish())
    }
    this.#snapshot = this.#build()
  }

  get snapshot (): Snapshot { return this.#snapshot }
  get clock (): Clock { return this.#opts.clock }
  get config (): GslbConfig { return this.#config }

  onPublish (fn: (s: Snapshot) => void): void { this.#listeners.push(fn) }

  /** Load the admin state, start checking, and wait for the first round (bounded). */
  async start (): Promise<boolean> {
    await this.admin.load()
    this.#reportUnknownAdminKeys()
    if (this.#opts.assumeUp === true) {
      this.#ready = true
      this.#publishNow()
      return true
    }
    this.monitor.setTargets(targetsOf(this.#config))
    this.#publishNow()
    const complete = await this.monitor.waitFirstRound(this.#config.health.startupWaitMs)
    this.#ready = true
    this.#publishNow()
    this.#opts.log.info({ complete, targets: this.monitor.stats.targets }, complete ? 'first round of health checks complete' : 'startup wait passed before every check answered; serving with health.initial_state for the rest')
    return complete
  }

  /** Switch to a new configuration: targets that remain keep their state; publish at once. */
  applyConfig (config: GslbConfig): void {
    this.#config = config
    if (this.#opts.assumeUp !== true) {
      this.monitor.setTargets(targetsOf(config))
      this.#opts.sharedHealth?.targetsChanged()
    }
    this.#reportUnknownAdminKeys()
    this.#publishNow()
  }

  /** Use another location database (or none) from the next snapshot on, published at once. */
  setGeo (locator: GeoLocator | undefined): void {
    this.#geo = locator
    this.#publishNow()
  }

  /** The admin entry in force now for `pool/member`. */
  adminEntry (key: string): AdminEntry | undefined { return this.admin.table.get(key, this.#opts.clock.now()) }

  /**
   * Change a member's admin state. Resolves with the entry in force (undefined: back to ready) once
   * it is kept and every snapshot shows it; rejects with a GslbError (GSLB_E_NO_MEMBER, or the
   * store's) and changes nothing otherwise. Logged as an audit line (who, what, when, note).
   */
  async setAdmin (key: string, change: Omit<AdminChange, 'setAt'>): Promise<AdminEntry | undefined> {
    const parts = key.split('/')
    const [pool, member] = parts
    const p = parts.length === 2 ? this.#config.pools.find(x => x.name === pool) : undefined
    if (p === undefined || !p.members.some(m => m.name === member)) throw new GslbError(ErrorCode.NO_MEMBER, `no member "${key}" (use pool/member)`)
    await this.#change([key], change, { member: key })
    return this.adminEntry(key)
  }

  /**
   * Change every member of a site, in every pool, at once (one write): drain or maint a whole site.
   * Resolves with the members changed; GSLB_E_NO_MEMBER when the site has none.
   */
  async setSiteAdmin (site: string, change: Omit<AdminChange, 'setAt'>): Promise<string[]> {
    const keys = this.#config.pools.flatMap(p => p.members.filter(m => m.site === site).map(m => `${p.name}/${m.name}`))
    if (keys.length === 0) {
      const sites = this.#config.sites.map(s => s.name)
      throw new GslbError(ErrorCode.NO_MEMBER, `site "${site}" has no members (sites: ${sites.join(', ') || 'none'})`)
    }
    await this.#change(keys, change, { site })
    return keys
  }

  async #change (keys: readonly string[], change: Omit<AdminChange, 'setAt'>, what: Record<string, unknown>): Promise<void> {
    const at = this.#opts.clock.now()
    await this.admin.update(keys, { ...change, setAt: at })
    this.#opts.log.info({
      audit: true,
      ...what,
      members: keys,
      by: change.setBy ?? 'unknown',
      at: new Date(at).toISOString(),
      state: change.state,
      force: change.force,
      weight: change.weight,
      expiresAt: change.expiresAt === undefined ? undefined : new Date(change.expiresAt).toISOString(),
      note: change.note,
    }, 'admin state changed')
  }

  /** Stop checking and timers. The admin store stays open for requests still in flight: its owner closes it. */
  stop (): void {
    this.monitor.stop()
    this.#opts.clock.clearTimeout(this.#pending)
    this.#opts.clock.clearTimeout(this.#expiryTimer)
  }

  #onHealthChange (key: string, statusChanged: boolean, reportedChanged: boolean): void {
    const changed = statusChanged || reportedChanged
    const t = this.monitor.get(key)
    if (t !== undefined) {
      // A new reason alone (a different failure, a count toward rise/fall) is a debug line.
      const fields = { target: key, status: t.health.status, reason: t.health.reason, reported: t.reported }
      if (changed) this.#opts.log.info(fields, 'health changed')
      else this.#opts.log.debug(fields, 'health reason changed')
      if (statusChanged) this.#opts.events?.transition(t.spec.check.name, t.health.status)
      this.#opts.sharedHealth?.share(key, t.health)
    }
    this.#schedulePublish()
  }

  /** One publish for a burst of health changes, health.coalesce after the first. */
  #schedulePublish (): void {
    if (this.#pending !== undefined) return
    this.#pending = this.#opts.clock.setTimeout(() => { this.#pending = undefined; this.#publishNow() }, this.#config.health.coalesceMs)
  }

  #publishNow (): void {
    this.#opts.clock.clearTimeout(this.#pending)
    this.#pending = undefined
    const prev = this.#snapshot
    this.#snapshot = this.#build()
    this.#reportPools(prev, this.#snapshot)
    this.#armExpiry()
    for (const fn of this.#listeners) fn(this.#snapshot)
  }

  #armExpiry (): void {
    this.#opts.clock.clearTimeout(this.#expiryTimer)
    const now = this.#opts.clock.now()
    const next = this.admin.table.nextExpiry(now)
    if (next === undefined) return
    const delay = next - now + 1
    // Node's timers hold at most 2^31-1 ms (24.8 days): a later expiry re-arms on the way.
    if (delay > MAX_TIMER_MS) {
      this.#expiryTimer = this.#opts.clock.setTimeout(() => this.#armExpiry(), MAX_TIMER_MS)
      return
    }
    this.#expiryTimer = this.#opts.clock.setTimeout(() => {
      this.#opts.log.info('admin state expired')
      this.#publishNow()
    }, delay)
  }

  #build (): Snapshot {
    const config = this.#config
    const table = this.admin.table
    const now = this.#opts.clock.now()
    const checks = new Map(config.checks.map(c => [c.name, c]))
    const views = new Map<string, MemberView[]>()
    const shared = this.#opts.assumeUp === true ? undefined : this.#opts.sharedHealth
    /** A target's quorum health, once per target per snapshot (members of several pools share it). */
    const quorums = new Map<string, QuorumResult & { nodes: readonly NodeView[] }>()
    const quorumOf = (key: string, own: HealthState, sh: SharedHealth): QuorumResult & { nodes: readonly NodeView[] } => {
      let q = quorums.get(key)
      if (q === undefined) {
        const nodes = sh.views(key)
        q = { ...quorumHealth(own, sh.node, nodes, sh.quorum), nodes }
        quorums.set(key, q)
      }
      return q
    }
    for (const pool of config.pools) {
      const check = pool.check === undefined ? undefined : checks.get(pool.check)
      views.set(pool.name, pool.members.map(m => {
        const spec = check === undefined ? undefined : targetOf(check, m)
        const t = spec === undefined ? undefined : this.monitor.get(spec.key)
        const agent = t?.reported.agentState
        const q = shared === undefined || t === undefined ? undefined : quorumOf(t.spec.key, t.health, shared)
        return memberView(pool, m, {
          health: check === undefined || this.#opts.assumeUp === true ? 'up' : q?.status ?? t?.health.status ?? 'unknown',
          healthReason: check === undefined ? 'no check configured' : this.#opts.assumeUp === true ? 'offline: taken as up' : q?.reason ?? t?.health.reason ?? 'no check result yet',
          cluster: q === undefined || t === undefined ? undefined : { local: t.health.status, localReason: t.health.reason, nodes: q.nodes },
          checkKey: spec?.key,
          reportedWeight: t?.reported.weight,
          agentState: agent,
          admin: table.get(`${pool.name}/${m.name}`, now),
          rdata: m.address !== undefined ? ipToBytes(m.address) : m.host !== undefined ? nameWire(m.host) : Buffer.alloc(0),
          slot: this.slots.members.of(`${pool.name}/${m.name}`),
        }, config.health)
      }))
    }
    const memo = new Map<string, FamilyDecision>()
    const byConfig = new Map(config.pools.map(p => [p.name, p]))
    const plans = this.#plansFor(config)
    /** A pool's decision for a family and, for geo pools, a site list (default: the one used without a location). */
    const decide = (name: string, family: FamilyKey, list?: number): FamilyDecision => {
      const plan = plans.get(name)
      const l = plan === undefined ? -1 : list ?? plan.place(undefined, undefined).list
      const key = `${name}|${family}|${l}`
      let d = memo.get(key)
      if (d === undefined) {
        d = deepFreeze(decideFamily(byConfig.get(name) as PoolConfig, views.get(name) ?? [], family, fb => decide(fb, family), plan?.lists[l]))
        memo.set(key, d)
      }
      return d
    }
    const clientFallback = (p: PoolConfig): boolean => {
      for (let q: PoolConfig | undefined = p; q !== undefined; q = q.onInsufficient.action === 'fallback' ? byConfig.get(q.onInsufficient.pool) : undefined) {
        if (q !== p && plans.has(q.name)) return true
      }
      return false
    }
    const pools = config.pools.map((p): PoolView => {
      const plan = plans.get(p.name)
      return Object.freeze({
        name: p.name,
        slot: this.slots.pools.of(p.name),
        config: p,
        members: deepFreeze(views.get(p.name) ?? []),
        v4: decide(p.name, 4),
        v6: decide(p.name, 6),
        host: decide(p.name, 'host'),
        url: decide(p.name, 'url'),
        geo: plan === undefined ? undefined : Object.freeze({ plan, decision: listDecisions((family, list) => decide(p.name, family, list)) }),
        clientFallback: clientFallback(p),
      })
    })
    return Object.freeze({
      version: ++this.#version,
      config,
      pools: Object.freeze(pools),
      byName: new Map(pools.map(p => [p.name, p])),
      publishedAt: now,
      ready: this.#ready,
      geo: this.#geo,
    })
  }

  /** The geo plans of a configuration's geo and nearest pools, built once per configuration. */
  #plansFor (config: GslbConfig): Map<string, GeoPlan> {
    if (this.#plans?.config === config) return this.#plans.plans
    const sites = new Map(config.sites.map(s => [s.name, s]))
    const plans = new Map(config.pools.filter(p => p.policy === 'geo' || p.policy === 'nearest').map(p => [p.name, new GeoPlan(p, sites)]))
    this.#plans = { config, plans }
    return plans
  }

  /**
   * One log line per change of how a pool serves a family, not per query: losing a pool, failing
   * open and falling back are warn; coming back to normal is info. Quiet until the first round of
   * checks is done, then measured against normal.
   */
  #reportPools (prev: Snapshot | undefined, next: Snapshot): void {
    if (!next.ready) return
    const before = prev?.ready === true ? prev.byName : undefined
    for (const pool of next.pools) {
      for (const family of FAMILIES) {
        const d = familyOf(pool, family)
        const was = before?.get(pool.name)
        const from = was === undefined ? 'normal' : servingState(familyOf(was, family))
        const to = servingState(d)
        if (from === to || d.mode === 'empty') continue
        const fields = { pool: pool.name, family: FAMILY_LABEL[family], from, to, reasons: d.reasons }
        if (d.mode === 'normal') this.#opts.log.info(fields, 'pool back to normal')
        else this.#opts.log.warn(fields, POOL_MESSAGE[d.mode])
      }
    }
  }

  /** Admin entries for members the configuration no longer has are kept (the member may come back), and said. */
  #reportUnknownAdminKeys (): void {
    const known = new Set(this.#config.pools.flatMap(p => p.members.map(m => `${p.name}/${m.name}`)))
    const now = this.#opts.clock.now()
    const unknown = [...this.admin.table.entries.keys()].filter(k => !known.has(k) && this.admin.table.get(k, now) !== undefined)
    if (unknown.length > 0) this.#opts.log.warn({ members: unknown }, 'admin state kept for members not in the configuration; it applies again if they come back')
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A geo pool's decision per site list and family, memoised in arrays indexed by list and family
 * (a query looks two up, no string keys). Filled on first use, for this snapshot only.
 */
function listDecisions (decide: (family: FamilyKey, list: number) => FamilyDecision): (list: number, family: FamilyKey) => FamilyDecision {
  const memo: Array<Array<FamilyDecision | undefined> | undefined> = []
  return (list, family) => {
    const f = family === 4 ? 0 : family === 6 ? 1 : family === 'host' ? 2 : 3
    const row = memo[list] ??= []
    return row[f] ??= decide(family, list)
  }
}

const FAMILIES: readonly FamilyKey[] = [4, 6, 'host', 'url']
const FAMILY_LABEL: Record<string, string> = { 4: 'IPv4', 6: 'IPv6', host: 'CNAME', url: 'redirects' }
const POOL_MESSAGE: Record<'fail-open' | 'fallback' | 'none', string> = {
  'fail-open': 'pool failing open: too few healthy members, answering with all of them',
  fallback: 'pool served by its fallback pool',
  none: 'pool has no member to serve',
}

/** The mode, and for a fallback the pool actually serving: a change between fallbacks is a change. */
function servingState (d: FamilyDecision): string {
  if (d.mode === 'empty') return 'normal'
  return d.mode === 'fallback' ? `fallback:${d.servedBy}` : d.mode
}

/** The probe target of a member: its check address and port, or its own address. */
export function targetOf (check: CheckConfig, m: MemberConfig): TargetSpec {
  const url = m.url === undefined ? undefined : new URL(m.url)
  const address = m.checkAddress ?? m.address ?? m.host ?? url?.hostname.replace(/^\[|\]$/g, '') ?? ''
  const urlPort = url === undefined ? undefined : Number(url.port !== '' ? url.port : url.protocol === 'https:' ? 443 : 80)
  const port = m.checkPort ?? check.port ?? urlPort ?? DEFAULT_CHECK_PORT[check.type] ?? 0
  const host = isIP(address) === 6 ? `[${address}]` : address
  return { key: `${check.name}|${host}:${port}`, check, address, port }
}

export function targetsOf (config: GslbConfig): TargetSpec[] {
  const checks = new Map(config.checks.map(c => [c.name, c]))
  const out = new Map<string, TargetSpec>()
  for (const pool of config.pools) {
    const check = pool.check === undefined ? undefined : checks.get(pool.check)
    if (check === undefined) continue
    for (const m of pool.members) {
      const t = targetOf(check, m)
      out.set(t.key, t)
    }
  }
  return [...out.values()]
}
