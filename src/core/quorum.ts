/**
 * Health across several gslb nodes (docs/cluster.md). Each node checks every member itself and
 * shares its view; a member's effective health is a rule over the fresh views, this node's own
 * included. The core sees other nodes only through SharedHealth (a Redis implementation lives in
 * src/cluster/); this file holds the interface and the rule, pure.
 */
import type { HealthState, HealthStatus } from './health-state.js'

/** One node's view of one target. */
export interface NodeView {
  readonly node: string
  readonly status: HealthStatus
  readonly reason: string
  /** When this node last heard from that node (epoch ms, this node's clock). */
  readonly heardAt: number
}

/**
 * How views combine: `majority` (down when more than half of the fresh views that know say down),
 * `any` (down when any does: the most careful), `all` (down only when every one does: the most
 * forgiving).
 */
export type QuorumRule = 'majority' | 'any' | 'all'

export interface QuorumOptions {
  readonly rule: QuorumRule
  /** Fresh views (this node's included) needed for the rule; with fewer, this node's own view decides. */
  readonly minNodes: number
}

/** What the core needs of the other nodes. Never called on the query path. */
export interface SharedHealth {
  /** This node's name, as the others see it. */
  readonly node: string
  readonly quorum: QuorumOptions
  /** Where the store reads this node's whole view when it must send it again (start, reconnect, new targets). */
  attach: (own: () => Iterable<readonly [string, HealthState]>) => void
  /** This node's view of `key` changed: share it (best effort, never waits). */
  share: (key: string, state: HealthState) => void
  /** The targets changed (a reload): send the whole view again. */
  targetsChanged: () => void
  /** Other nodes' fresh views of `key`, now. */
  views: (key: string) => readonly NodeView[]
  /** `fn` runs when other nodes' views change (a message, a node going stale or coming back). */
  onChange: (fn: () => void) => void
  close: () => void
}

export interface QuorumResult {
  readonly status: HealthStatus
  readonly reason: string
}

/** The effective health of a target from this node's state and the other nodes' fresh views. */
export function quorumHealth (own: HealthState, node: string, others: readonly NodeView[], q: QuorumOptions): QuorumResult {
  const views = [{ node, status: own.status, reason: own.reason }, ...others].filter(v => v.status !== 'unknown')
  if (views.length < q.minNodes || views.length <= 1) {
    return { status: own.status, reason: others.length === 0 ? own.reason : `${own.reason} (this node's view: ${views.length} of ${q.minNodes} views needed for quorum)` }
  }
  const down = views.filter(v => v.status === 'down')
  const n = views.length
  const isDown = q.rule === 'any' ? down.length > 0 : q.rule === 'all' ? down.length === n : down.length * 2 > n
  const summary = `${n - down.length} of ${n} nodes see it up`
  const downs = down.map(v => `${v.node}: ${v.reason}`).join('; ')
  return {
    status: isDown ? 'down' : 'up',
    reason: isDown ? `quorum (${q.rule}): ${summary}; ${downs}` : down.length === 0 ? `quorum (${q.rule}): ${summary}` : `quorum (${q.rule}): ${summary}; not enough to take it out (${downs})`,
  }
}
