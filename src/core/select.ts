/**
 * Query-time ordering policies. Each takes the precomputed chosen set and returns the members to
 * answer with, in order, at most `answers` of them. Pure apart from the state passed in: the
 * rotation cursor and the hash load tracker belong to the caller (one per front end and process),
 * never to the shared snapshot. `explain` receives a reason for each step when given.
 *
 * - round-robin, failover: rotate the set by the cursor, so each response starts one further.
 * - first: config order, no rotation.
 * - weighted: the first record is chosen in proportion to weight by a low-discrepancy sequence
 *   over the cursor (frac(n·φ)), so shares match the weights closely after a few hundred answers,
 *   with no randomness to seed; further records follow in rotation.
 * - hash: rendezvous (highest random weight) hashing of the client's subnet: a client keeps its
 *   member while others come and go, and a lost member's clients spread over the rest. Bounded
 *   load: once the window holds 1,000 decisions, a member already above `factor` × the average
 *   recent load is passed over for the next.
 */
import type { OrderPolicy, PoolConfig } from '../config/model.js'
import type { FamilyDecision, MemberView } from './pool-view.js'

const PHI_FRACTION = 0.6180339887498949
/** Decisions in the load window before the hash policy's load bound applies. */
export const BOUNDED_LOAD_MIN = 1000

export class LoadTracker {
  readonly counts = new Map<string, number>()
  total = 0

  add (key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    // Keep a recent window: halve everything every 10,000 decisions.
    if (++this.total >= 10_000) {
      this.total = 0
      for (const [k, v] of this.counts) { const h = v >> 1; this.counts.set(k, h); this.total += h }
    }
  }
}

/** How a pool orders the set a decision chose: failover rotates inside its group; geo and nearest use `within`. */
export type Ordering = OrderPolicy | 'failover'

export function orderingOf (pool: PoolConfig): Ordering {
  return pool.policy === 'geo' || pool.policy === 'nearest' ? pool.within : pool.policy
}

/** The ordering state of one decision: its rotation cursor, the hash load, and filtered candidate lists. */
export interface DecisionState {
  cursor: number
  readonly load: LoadTracker | undefined
  /** Candidates after a front end's filter, by the filter's key (see choose.ts). */
  readonly filtered: Array<readonly MemberView[] | undefined>
  /** Members of the client's later sites, by filter key (-1: none), for alternates past the chosen site. */
  readonly spilled: Map<number, readonly MemberView[]>
}

/**
 * Per-process ordering state: a rotation cursor and hash load per pool decision, owned by a front
 * end, never stored in the snapshot. Keyed by the decision object, so a new snapshot starts fresh.
 */
export class SelectionState {
  readonly #state = new WeakMap<FamilyDecision, DecisionState>()
  get (d: FamilyDecision, hash: boolean): DecisionState {
    let s = this.#state.get(d)
    if (s === undefined) {
      s = { cursor: 0, load: hash ? new LoadTracker() : undefined, filtered: [], spilled: new Map() }
      this.#state.set(d, s)
    }
    return s
  }
}

export interface SelectContext {
  readonly policy: Ordering
  readonly answers: number
  /** Increments once per response for this pool and family. */
  readonly cursor: number
  /** 32-bit hash of the client's subnet (hash policy). */
  readonly clientHash: number
  readonly balanceFactor: number
  readonly load: LoadTracker | undefined
}

/** `from`: a decision (its chosen members) or a member list already filtered by the caller. */
export function select (from: FamilyDecision | readonly MemberView[], ctx: SelectContext, explain?: string[]): MemberView[] {
  const members = Array.isArray(from) ? from as readonly MemberView[] : (from as FamilyDecision).members
  const n = members.length
  const k = ctx.answers < n ? ctx.answers : n
  if (n === 0) return []
  if (ctx.policy !== 'hash') {
    const start = rotationStart(members, ctx.policy, ctx.cursor)
    if (explain !== undefined) explain.push(rotationReason(members, ctx.policy, start, k))
    return rotate(members, start, k)
  }
  const scored = members.map(m => ({ m, score: hrwScore(ctx.clientHash, m) })).sort((a, b) => b.score - a.score)
  const out: MemberView[] = []
  // The bound needs enough recent decisions to measure load; below that, stickiness wins.
  const load = ctx.load !== undefined && ctx.load.total >= BOUNDED_LOAD_MIN ? ctx.load : undefined
  const cap = load === undefined ? Infinity : Math.ceil(ctx.balanceFactor * (load.total + 1) / n)
  for (const s of scored) {
    if (out.length >= k) break
    if (out.length === 0 && load !== undefined && (load.counts.get(s.m.key) ?? 0) + 1 > cap && s !== scored[scored.length - 1]) {
      explain?.push(`hash: ${s.m.name} is over its load bound (${load.counts.get(s.m.key) ?? 0} ≥ ${cap}); next`)
      continue
    }
    out.push(s.m)
  }
  if (out.length < k) for (const s of scored) if (out.length < k && !out.includes(s.m)) out.push(s.m)
  const first = out[0] as MemberView
  ctx.load?.add(first.key)
  explain?.push(`hash: client ${ctx.clientHash.toString(16)} → ${first.name}`)
  return out
}

/**
 * For the policies whose answer is a rotation of the set (first, round-robin, failover, weighted):
 * the index the answer starts at, the same as select() would start at for this cursor. The answer
 * is then `members[start]`, `members[start + 1]`, … wrapping. -1 for hash, which orders by score.
 * Lets a front end cache what it builds per starting member (the HTTP redirect's URLs).
 */
export function rotationStart (members: readonly MemberView[], policy: Ordering, cursor: number): number {
  switch (policy) {
    case 'first': return 0
    case 'round-robin':
    case 'failover': return cursor % members.length
    case 'weighted': return weightedPick(members, cursor)
    case 'hash': return -1
  }
}

function rotationReason (members: readonly MemberView[], policy: Ordering, start: number, k: number): string {
  const n = members.length
  if (policy === 'first') return `first: ${k} of ${n} in configuration order`
  if (policy !== 'weighted') return `${policy}: rotation ${start} of ${n}, ${k} answer${k === 1 ? '' : 's'}`
  let total = 0
  for (const m of members) total += m.weight
  const first = members[start] as MemberView
  return `weighted: ${first.name} first (weight ${first.weight} of ${total})`
}

/** The first member for `cursor` in proportion to weight: frac(cursor·φ) against the cumulative weights. */
function weightedPick (members: readonly MemberView[], cursor: number): number {
  const n = members.length
  let total = 0
  for (let i = 0; i < n; i++) total += (members[i] as MemberView).weight
  if (total <= 0) return cursor % n
  const x = cursor * PHI_FRACTION
  const u = (x - Math.floor(x)) * total // frac(x); `% 1` on a double calls fmod, ten times slower
  let acc = 0
  for (let i = 0; i < n; i++) {
    acc += (members[i] as MemberView).weight
    if (u < acc) return i
  }
  return n - 1
}

export function rotate (members: readonly MemberView[], start: number, k: number): MemberView[] {
  const n = members.length
  const out = new Array<MemberView>(k)
  for (let i = 0; i < k; i++) out[i] = members[(start + i) % n] as MemberView
  return out
}

/** Weighted rendezvous score: -w / ln(u), u uniform in (0, 1) from hash(client, member). */
function hrwScore (client: number, m: MemberView): number {
  const h = mix32(client ^ m.keyHash)
  const u = (h + 0.5) / 4294967296
  const w = m.weight > 0 ? m.weight : 1e-6
  return -w / Math.log(u)
}

export function fnv1a (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export function fnv1aBytes (b: Uint8Array, len = b.length): number {
  let h = 0x811c9dc5
  for (let i = 0; i < len; i++) {
    h ^= b[i] as number
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A 32-bit finaliser (murmur3 fmix32): spreads nearby inputs over the whole range. */
function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}
