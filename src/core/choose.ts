/**
 * The one member choice: for a pool, a family and a client, which members answer, in which order,
 * for how long, and for which client prefix (the ECS scope). The DNS responder, the redirect
 * handler and `explain` all call choose(), so they cannot disagree.
 *
 * Steps: the pool's decision (for geo and nearest, the decision for the client's site list) →
 * a fallback pool that depends on the client is asked for this client → the front end's filter
 * (redirects: scheme, address family), cached per decision → the ordering policy (rotation,
 * weights, hash) with the front end's cursor. Nothing here allocates on a repeat query except the
 * answer array.
 */
import type { FamilyKey, FamilyDecision, MemberView, PoolView } from './pool-view.js'
import { familyOf } from './pool-view.js'
import type { ClientAddress } from './client.js'
import type { GeoLocator, Placement } from './geo.js'
import { orderingOf, rotate, rotationStart, select, type DecisionState, type SelectionState } from './select.js'

/** What choose() needs of the snapshot. */
export interface ChoiceContext {
  readonly byName: ReadonlyMap<string, PoolView>
  readonly geo: GeoLocator | undefined
}

/** A front end's restriction of the candidates (redirects: https only, IPv6 only). */
export interface CandidateFilter {
  /** A small integer naming this filter: the filtered list is kept per decision under it. */
  readonly key: number
  readonly keep: (m: MemberView) => boolean
}

export interface ChooseOptions {
  /** Members in the answer. @default the pool's `answers` */
  readonly answers?: number
  readonly filter?: CandidateFilter
  /** The hash policy's key when it is not the client's subnet (redirects with path affinity). */
  readonly hash?: number
  /**
   * geo and nearest: when the chosen site has fewer candidates than `answers`, go on with the
   * eligible members of the client's next sites, in order (redirect alternates). DNS answers stay
   * within the chosen site.
   */
  readonly spill?: boolean
}

export interface Choice {
  /** The decision that served: the pool's, its site list's, or a fallback's. */
  readonly decision: FamilyDecision
  /** The pool whose members serve (a fallback pool, or this one). */
  readonly pool: PoolView
  /** The members the answer is ordered from, after the front end's filter. */
  readonly candidates: readonly MemberView[]
  /** The answer: at most `answers` members, in order. */
  readonly members: readonly MemberView[]
  /** Where the answer starts in `candidates` for a rotating policy; -1 for hash. A front end may cache per start. */
  readonly start: number
  readonly ttl: number
  /** The ECS scope: how many bits of the client's address this answer holds for; 0 when it does not depend on the client. */
  readonly scope: number
  /** geo and nearest: the client's site list and how it was found. */
  readonly place: Placement | undefined
}

export function choose (ctx: ChoiceContext, view: PoolView, family: FamilyKey, client: ClientAddress | undefined,
  state: SelectionState, opts: ChooseOptions = NO_OPTIONS, explain?: string[]): Choice {
  let decision = familyOf(view, family)
  let place: Placement | undefined
  let scope = 0
  if (view.geo !== undefined) {
    place = view.geo.plan.place(client, ctx.geo)
    decision = view.geo.decision(place.list, family)
    scope = place.scope
    explain?.push(placementReason(view, place))
  }
  // The precomputed fallback stands for client-independent pools; a geo pool anywhere down the
  // fallback chain is asked for this client.
  for (let name = decision.fallback; name !== undefined;) {
    const fb = ctx.byName.get(name)
    if (fb === undefined) break
    if (fb.geo !== undefined) {
      // The steps down to this pool; it explains its own choice for the client.
      explain?.push(...decision.reasons.slice(0, decision.reasons.indexOf(`on_insufficient: fallback to pool ${fb.name}`) + 1))
      const inner = choose(ctx, fb, family, client, state, opts, explain)
      return { decision: inner.decision, pool: inner.pool, candidates: inner.candidates, members: inner.members, start: inner.start, ttl: Math.min(inner.ttl, view.config.degradedTtl), scope: Math.max(scope, inner.scope), place: inner.place }
    }
    name = familyOf(fb, family).fallback
  }
  explain?.push(...decision.reasons)
  const pool = decision.servedBy === view.name ? view : ctx.byName.get(decision.servedBy) ?? view
  const ordering = orderingOf(pool.config)
  const st = state.get(decision, ordering === 'hash')
  const candidates = opts.filter === undefined ? decision.members : st.filtered[opts.filter.key] ??= decision.members.filter(opts.filter.keep)
  // One object literal of one shape per call: a spread here cost more than the whole choice.
  if (candidates.length === 0) {
    // The front end's filter emptied the chosen site (no https mirror there): redirects go on to the next sites.
    const members = opts.spill === true ? spill([], opts.answers ?? pool.config.answers, opts, view, decision, place, st) : NONE
    return { decision, pool, candidates, members, start: -1, ttl: decision.ttl, scope: clamp(scope, client), place }
  }
  const wanted = opts.answers ?? (family === 'host' ? 1 : pool.config.answers)
  const answers = wanted < candidates.length ? wanted : candidates.length
  const cursor = st.cursor++
  const start = rotationStart(candidates, ordering, cursor)
  let members: MemberView[]
  if (start >= 0) {
    members = rotate(candidates, start, answers)
    if (explain !== undefined) select(candidates, { policy: ordering, answers, cursor, clientHash: 0, balanceFactor: 1, load: undefined }, explain)
  } else {
    members = select(candidates, {
      policy: ordering,
      answers,
      cursor,
      clientHash: opts.hash ?? client?.subnetHash ?? 0,
      balanceFactor: pool.config.hashBalanceFactor,
      load: st.load,
    }, explain)
    if (opts.hash === undefined && client !== undefined && client.hashScope > scope) scope = client.hashScope
  }
  if (opts.spill === true) members = spill(members, wanted, opts, view, decision, place, st)
  return { decision, pool, candidates, members, start, ttl: decision.ttl, scope: clamp(scope, client), place }
}

const NONE: readonly MemberView[] = Object.freeze([])
const NO_OPTIONS: ChooseOptions = Object.freeze({})

/** `members`, followed by the eligible members of the client's later sites when asked and short. */
function spill (members: MemberView[], wanted: number, opts: ChooseOptions, view: PoolView, decision: FamilyDecision,
  place: Placement | undefined, st: DecisionState): MemberView[] {
  if (place === undefined || members.length >= wanted || decision.site === undefined) return members
  const key = opts.filter?.key ?? -1
  let later = st.spilled.get(key)
  if (later === undefined) {
    const after = place.sites.slice(place.sites.indexOf(decision.site) + 1)
    later = after.flatMap(site => view.members.filter(m => m.config.site === site && m.eligible && (opts.filter === undefined || opts.filter.keep(m))))
      .filter(m => !decision.members.includes(m))
    st.spilled.set(key, later)
  }
  return later.length === 0 ? members : [...members, ...later.slice(0, wanted - members.length)]
}

/** Whether a pool's answer depends on who asks: front ends build a client only then. */
export function dependsOnClient (view: PoolView): boolean {
  return view.geo !== undefined || orderingOf(view.config) === 'hash' || view.clientFallback
}

/** A scope never claims more of the address than the client gave. */
function clamp (scope: number, client: ClientAddress | undefined): number {
  if (client === undefined) return 0
  return scope < client.bits ? scope : client.bits
}

function placementReason (view: PoolView, p: Placement): string {
  const sites = p.sites.join(', ')
  const loc = p.hit?.location
  const where = loc === undefined ? '' : [loc.continent, loc.country, loc.subdivision].filter(x => x !== undefined).join('/')
  switch (p.by) {
    case 'nets': return `${view.name}: client in nets ${p.rule ?? ''} → sites ${sites}`
    case 'map': return `${view.name}: client in ${where}, map ${p.rule ?? ''} → sites ${sites}`
    case 'distance': return `${view.name}: client at ${where}, nearest sites ${p.sites.map((s, i) => `${s} (${p.distancesKm?.[i] ?? '?'} km)`).join(', ')}`
    case 'default': return `${view.name}: ${p.hit === undefined ? 'no location for the client' : loc === undefined ? 'the database has no record for the client' : `client in ${where} has no map entry`} → ${p.rule ?? 'default'} sites ${sites}`
  }
}
