/**
 * The DNS front end's per-snapshot state: the zones compiled into an AnswerIndex once per
 * configuration, paired with the core's latest snapshot. A query reads one `Serving` and so
 * always sees answers and pools of the same configuration. A reload compiles before it publishes
 * (prepare), so a zone that does not compile leaves everything serving as it was.
 */
import type { GslbConfig } from '../config/model.js'
import type { Snapshot } from '../core/core.js'
import { compileAnswers, type AnswerIndex, type PoolShape } from './answer-index.js'
import type { Serving } from './responder.js'

export class DnsServing {
  #compiled: { readonly config: GslbConfig, readonly index: AnswerIndex }
  #serving: Serving

  constructor (snapshot: Snapshot) {
    this.#compiled = { config: snapshot.config, index: compileConfig(snapshot.config) }
    this.#serving = { answers: this.#compiled.index, snapshot, ecs: snapshot.config.geo.ecs }
  }

  /** What to answer from now; read once per query. */
  get (): Serving { return this.#serving }

  /** Compile `config` ahead of its publication; throws when it does not compile. */
  prepare (config: GslbConfig): void {
    this.#compiled = { config, index: compileConfig(config) }
  }

  /** A new snapshot: its config's answers are compiled here unless prepare() did it already. */
  publish (snapshot: Snapshot): void {
    if (snapshot.config !== this.#compiled.config) this.#compiled = { config: snapshot.config, index: compileConfig(snapshot.config) }
    this.#serving = { answers: this.#compiled.index, snapshot, ecs: snapshot.config.geo.ecs }
  }
}

/** Compile the zones of `config`, with the pools their owners answer from. */
export function compileConfig (config: GslbConfig): AnswerIndex {
  return compileAnswers(config.zones, poolShapes(config))
}

function poolShapes (config: GslbConfig): PoolShape[] {
  return config.pools.map(p => ({
    name: p.name,
    kind: p.members.some(m => m.host !== undefined) ? 'host' : 'address',
    hasV4: p.members.some(m => m.family === 4),
  }))
}
