/**
 * The DNS front end's per-snapshot state: the zones compiled into an AnswerIndex once per
 * configuration, paired with the core's latest snapshot. A query reads one `Serving` and so
 * always sees answers and pools of the same configuration. A reload compiles before it publishes
 * (prepare), so a zone that does not compile leaves everything serving as it was.
 */
import type { CookieOptions, GslbConfig } from '../config/model.js'
import type { Snapshot } from '../core/core.js'
import { compileAnswers, type AnswerIndex, type PoolShape } from './answer-index.js'
import type { CookieSecrets } from './cookies.js'
import type { ProtocolSettings, Serving } from './responder.js'

interface Compiled { readonly config: GslbConfig, readonly index: AnswerIndex, readonly protocol: ProtocolSettings }

export class DnsServing {
  #compiled: Compiled
  #serving: Serving
  readonly #secrets: (opts: CookieOptions) => CookieSecrets | undefined

  /** `secrets`: where cookie secrets come from (dns/cookie-secret.ts; none for `explain --offline`). */
  constructor (snapshot: Snapshot, secrets: (opts: CookieOptions) => CookieSecrets | undefined = () => undefined) {
    this.#secrets = secrets
    this.#compiled = this.#compile(snapshot.config)
    this.#serving = this.#servingFor(snapshot)
  }

  /** What to answer from now; read once per query. */
  get (): Serving { return this.#serving }

  /** Compile `config` ahead of its publication; throws when it does not compile. */
  prepare (config: GslbConfig): void {
    this.#compiled = this.#compile(config)
  }

  /** A new snapshot: its config's answers are compiled here unless prepare() did it already. */
  publish (snapshot: Snapshot): void {
    if (snapshot.config !== this.#compiled.config) this.#compiled = this.#compile(snapshot.config)
    this.#serving = this.#servingFor(snapshot)
  }

  #compile (config: GslbConfig): Compiled {
    const index = compileConfig(config)
    const id = config.dns.serverId
    return { config, index, protocol: { cookies: this.#secrets(config.dns.cookies), serverId: id === undefined ? undefined : Buffer.from(id, 'latin1'), rateLimit: config.dns.rateLimit } }
  }

  #servingFor (snapshot: Snapshot): Serving {
    const c = this.#compiled
    return { answers: c.index, snapshot, ecs: snapshot.config.geo.ecs, protocol: c.protocol }
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
