/**
 * Builds the immutable per-pool view that answers read: each member's effective state, and per
 * address family (plus host names for CNAME pools) the precomputed outcome of eligibility,
 * `min_healthy`, failover groups and `on_insufficient`, with a reason for every step. Only the
 * ordering policy (rotation, weights, hashing) is left for query time (select.ts). Pure: the same
 * inputs give the same view.
 */
import type { Family, HealthOptions, MemberConfig, PoolConfig } from '../config/model.js'
import type { AdminEntry, AdminState } from './admin-state.js'
import type { GeoPlan } from './geo.js'
import type { HealthStatus } from './health-state.js'
import type { NodeView } from './quorum.js'
import { fnv1a } from './select.js'

export interface MemberView {
  readonly pool: string
  readonly name: string
  /** `pool/member`: the admin key. */
  readonly key: string
  /** fnv1a(key), computed once for the hash policy. */
  readonly keyHash: number
  /** The member's number for counters (core/slots.ts): stable across snapshots and reloads. */
  readonly slot: number
  readonly config: MemberConfig
  /** Wire bytes of the address (4 or 16) or of the host name (CNAME pools). */
  readonly rdata: Buffer
  readonly health: HealthStatus
  readonly healthReason: string
  readonly checkKey: string | undefined
  readonly admin: AdminState
  readonly adminSource: 'operator' | 'agent' | 'default'
  /** The operator's entry in force (note, expiry, who and when), if any. */
  readonly adminEntry: AdminEntry | undefined
  readonly force: 'up' | 'down' | undefined
  /** The weight in effect: an operator's run-time weight, else the backend's report, else the configured one. */
  readonly weight: number
  readonly eligible: boolean
  /** Why the member is or is not eligible. */
  readonly why: string
  /** In a cluster: this node's own checked health, and the other nodes' fresh views (`health` is the quorum's). */
  readonly cluster?: { readonly local: HealthStatus, readonly localReason: string, readonly nodes: readonly NodeView[] } | undefined
}

/** IPv4 and IPv6 addresses and host names answer DNS; `url` members answer HTTP redirects. */
export type FamilyKey = 4 | 6 | 'host' | 'url'

/**
 * How a pool is serving one family: `normal` (enough eligible members, possibly degraded),
 * `fail-open` (too few: every member not taken out by an operator, health ignored; DNS only),
 * `fallback` (another pool's members), `none` (nothing: NODATA, SERVFAIL, or for redirects 503 /
 * the fallback URL), `empty` (the pool has no member of this kind).
 */
export type ServingMode = 'normal' | 'fail-open' | 'fallback' | 'none' | 'empty'

export interface FamilyDecision {
  /** members: answer from `members`; empty: the pool has no member of this kind (NODATA). */
  readonly kind: 'members' | 'empty' | 'nodata' | 'servfail'
  readonly mode: ServingMode
  /** The chosen set in config order; the policy orders it per query. */
  readonly members: readonly MemberView[]
  readonly degraded: boolean
  readonly ttl: number
  /** The pool whose members are served (this pool, or a fallback). */
  readonly servedBy: string
  /** Set when this pool's own members were not enough: the fallback pool named by on_insufficient. */
  readonly fallback: string | undefined
  /** geo and nearest: the site whose members serve. */
  readonly site?: string | undefined
  readonly reasons: readonly string[]
}

export interface PoolView {
  readonly name: string
  /** The pool's number for counters (core/slots.ts). */
  readonly slot: number
  readonly config: PoolConfig
  readonly members: readonly MemberView[]
  /** The decisions per family; for geo and nearest pools, those of the site list used without a client location. */
  readonly v4: FamilyDecision
  readonly v6: FamilyDecision
  readonly host: FamilyDecision
  readonly url: FamilyDecision
  /** geo and nearest pools: the placement plan and the decision per site list. */
  readonly geo: PoolGeo | undefined
  /** True when on_insufficient falls back (maybe through other pools) to a geo or nearest pool. */
  readonly clientFallback: boolean
}

export interface PoolGeo {
  readonly plan: GeoPlan
  /**
   * The decision for site list `list` (an index into plan.lists). Computed on first use and kept
   * with the snapshot: a pure function of the snapshot, so the snapshot stays a value.
   */
  decision: (list: number, family: FamilyKey) => FamilyDecision
}

export interface MemberInputs {
  readonly health: HealthStatus
  readonly healthReason: string
  readonly checkKey: string | undefined
  readonly reportedWeight: { absolute: number } | { percent: number } | undefined
  readonly agentState: AdminState | undefined
  readonly admin: AdminEntry | undefined
  readonly rdata: Buffer
  readonly slot: number
  readonly cluster?: MemberView['cluster']
}

export function memberView (pool: PoolConfig, m: MemberConfig, input: MemberInputs, health: HealthOptions): MemberView {
  const admin = input.admin?.state ?? input.agentState ?? 'ready'
  const adminSource = input.admin !== undefined ? 'operator' : input.agentState !== undefined ? 'agent' : 'default'
  const force = input.admin?.force
  const w = input.reportedWeight
  const reported = w === undefined ? m.weight : 'absolute' in w ? w.absolute : percentOf(m.weight, w.percent)
  // An operator's weight (admin state) wins over the backend's report, which wins over the config.
  const weight = input.admin?.weight ?? reported
  let eligible: boolean
  let why: string
  if (admin === 'maint') { eligible = false; why = `maint (${adminSource})` } else if (force === 'down') { eligible = false; why = 'forced down' } else if (admin === 'drain') { eligible = false; why = `drain (${adminSource})` } else if (force === 'up') { eligible = true; why = `forced up (health: ${input.health})` } else if (input.health === 'up') { eligible = true; why = 'up' } else if (input.health === 'unknown') {
    eligible = health.initialState === 'up'
    why = `no check result yet: ${eligible ? 'served' : 'not served'} (health.initial_state: ${health.initialState})`
  } else { eligible = false; why = `down: ${input.healthReason}` }
  return {
    pool: pool.name, name: m.name, key: `${pool.name}/${m.name}`, keyHash: fnv1a(`${pool.name}/${m.name}`), slot: input.slot, config: m, rdata: input.rdata,
    health: input.health, healthReason: input.healthReason, checkKey: input.checkKey,
    admin, adminSource, adminEntry: input.admin, force, weight, eligible, why,
    // Always present, undefined outside a cluster: one object shape for the query path.
    cluster: input.cluster,
  }
}

/**
 * A reported percentage of a configured weight, rounded, but never down to 0 from a positive
 * weight and percentage: weight 0 means "only when nothing with a weight is eligible", so a
 * backend reporting some capacity (an agent's "up 30%", an HAProxy farm with 1 of 4 servers up)
 * is not turned into a standby by rounding. Configure weights such as 100 for finer shares.
 */
export function percentOf (weight: number, percent: number): number {
  const w = Math.round(weight * percent / 100)
  return w === 0 && weight > 0 && percent > 0 ? 1 : w
}

/** Members needed for a set of `size`: a count (capped at the size) or a percentage, at least 1. */
export function needed (min: PoolConfig['minHealthy'], size: number): number {
  if ('count' in min) return Math.max(1, Math.min(min.count, size))
  return Math.max(1, Math.ceil(min.percent * size / 100 - 1e-9))
}

/**
 * The outcome for one family. `resolveFallback` gives the decision of another pool for the same
 * family (config validation guarantees fallbacks form no loop). `sites`, for geo and nearest
 * pools, is the client's ordered site list: the first site with enough eligible members serves.
 */
/** Whether `m` can serve `family`: an address of that family, a host name, or a URL. */
export function inFamily (m: MemberView, family: FamilyKey): boolean {
  return family === 'host' ? m.config.host !== undefined : family === 'url' ? m.config.url !== undefined : m.config.family === family
}

export function decideFamily (pool: PoolConfig, members: readonly MemberView[], family: FamilyKey,
  resolveFallback: (name: string) => FamilyDecision, sites?: readonly string[]): FamilyDecision {
  const label = family === 'host' ? 'host names' : family === 'url' ? 'URL' : `IPv${family}`
  const candidates = members.filter(m => inFamily(m, family))
  const base = { servedBy: pool.name, fallback: undefined }
  if (candidates.length === 0) {
    return { ...base, kind: 'empty', mode: 'empty', members: [], degraded: false, ttl: pool.ttl, reasons: [`pool ${pool.name} has no ${label} members: NODATA`] }
  }
  const groups = groupsOf(pool, candidates, sites)
  const reasons: string[] = []
  for (const m of candidates) if (!m.eligible) reasons.push(`${m.name} excluded: ${m.why}`)
  for (const [i, g] of groups.entries()) {
    const eligible = g.members.filter(m => m.eligible)
    const need = needed(pool.minHealthy, g.members.length)
    const where = g.label === '' ? `${pool.name} ${label}` : `${pool.name} ${label} ${g.label}`
    if (eligible.length >= need) {
      const active = eligible.filter(m => m.weight > 0)
      const chosen = active.length > 0 ? active : eligible
      // Degraded: a member that should serve is down, or the client is served past its first site.
      const degraded = (sites !== undefined && i > 0) || g.members.some(m => !m.eligible && m.admin === 'ready' && m.force !== 'down') ||
        (sites === undefined && candidates.some(m => !m.eligible && m.admin === 'ready' && m.force !== 'down'))
      reasons.push(`${where}: ${eligible.length}/${g.members.length} eligible, at least ${need} needed`)
      if (active.length === 0) reasons.push(`${where}: only weight-0 members are eligible: serving them`)
      if (degraded) reasons.push(`degraded: TTL ${pool.degradedTtl} instead of ${pool.ttl}`)
      return { ...base, kind: 'members', mode: 'normal', members: chosen, degraded, ttl: degraded ? pool.degradedTtl : pool.ttl, reasons, site: g.site }
    }
    reasons.push(`${where}: ${eligible.length}/${g.members.length} eligible, fewer than the ${need} needed`)
  }
  const action = pool.onInsufficient
  const none = { ...base, kind: 'nodata', mode: 'none', members: [], degraded: true, ttl: pool.degradedTtl } as const
  if (family === 'url' && action.action !== 'fallback') {
    // A redirect never goes to a member that is not eligible: failing open is for DNS only. Below
    // min_healthy, redirects go to the eligible members of the first group that has any.
    for (const g of groups) {
      const eligible = g.members.filter(m => m.eligible)
      if (eligible.length === 0) continue
      return { ...base, kind: 'members', mode: 'normal', members: eligible, degraded: true, ttl: pool.degradedTtl, site: g.site, reasons: [...reasons, `redirects go to the ${eligible.length} eligible member${eligible.length === 1 ? '' : 's'}${g.label === '' ? '' : ` of ${g.label}`} only (on_insufficient ${action.action} applies to DNS)`] }
    }
    return { ...none, reasons: [...reasons, 'no eligible member: redirects answer 503, or the route\'s fallback_url'] }
  }
  switch (action.action) {
    case 'serve-all': {
      // Fail open, and for a site list toward the client's first site that an operator left in.
      const open = (g: { members: readonly MemberView[] }): MemberView[] => g.members.filter(m => m.admin === 'ready' && m.force !== 'down')
      const group = sites === undefined ? { members: candidates, label: '', site: undefined } : groups.find(g => open(g).length > 0)
      const all = group === undefined ? [] : open(group)
      if (all.length === 0) return { ...none, reasons: [...reasons, 'on_insufficient serve-all: every member is drained, in maint or forced down: NODATA'] }
      return { ...base, kind: 'members', mode: 'fail-open', members: all, degraded: true, ttl: pool.degradedTtl, site: group?.site, reasons: [...reasons, `on_insufficient serve-all: failing open with ${all.length} members${group?.label === '' || group === undefined ? '' : ` of ${group.label}`}, health ignored`] }
    }
    case 'nodata':
      return { ...none, reasons: [...reasons, 'on_insufficient nodata'] }
    case 'servfail':
      return { ...none, kind: 'servfail', reasons: [...reasons, 'on_insufficient servfail'] }
    case 'fallback': {
      const fb = resolveFallback(action.pool)
      const mode = fb.mode === 'none' || fb.mode === 'empty' ? 'none' : 'fallback'
      return { ...fb, mode, fallback: action.pool, degraded: true, ttl: Math.min(fb.ttl, pool.degradedTtl), reasons: [...reasons, `on_insufficient: fallback to pool ${action.pool}`, ...fb.reasons] }
    }
  }
}

/** The groups tried in order: failover groups, the client's sites, or the whole set. */
function groupsOf (pool: PoolConfig, candidates: readonly MemberView[], sites: readonly string[] | undefined): Array<{ label: string, site: string | undefined, members: readonly MemberView[] }> {
  if (sites !== undefined) {
    return sites.map(site => ({ label: `site ${site}`, site, members: candidates.filter(m => m.config.site === site) })).filter(g => g.members.length > 0)
  }
  if (pool.policy === 'failover') {
    return [...new Set(candidates.map(m => m.config.group))].sort((a, b) => a - b).map(g => ({ label: `group ${g}`, site: undefined, members: candidates.filter(m => m.config.group === g) }))
  }
  return [{ label: '', site: undefined, members: candidates }]
}

export function familyOf (view: PoolView, family: FamilyKey): FamilyDecision {
  return family === 4 ? view.v4 : family === 6 ? view.v6 : family === 'host' ? view.host : view.url
}

export type { Family }
