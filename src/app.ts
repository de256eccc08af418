/**
 * Composition: config → the shared core (health, admin state, snapshots) → compiled DNS answers →
 * listeners. Front ends read one `Serving` object per query: the answers compiled for a config
 * and the core's latest snapshot of that same config, swapped together. A reload that fails
 * leaves everything serving as it was.
 */
import { dirname, resolve } from 'node:path'
import { AdminServer, type ReloadReport } from './admin/server.js'
import { RedirectServer } from './http/server.js'
import type { GslbConfig } from './config/model.js'
import { loadConfig, type LoadOptions } from './config/load.js'
import type { AdminStore } from './core/admin-state.js'
import { FileAdminStore } from './core/admin-file-store.js'
import { MemoryAdminStore } from './core/admin-memory-store.js'
import { systemClock, type Clock } from './core/clock.js'
import { GslbCore, type CoreOptions } from './core/core.js'
import { DnsServer } from './dns/server.js'
import { DnsServing } from './dns/serving.js'
import { CookieSecretSource } from './dns/cookie-secret.js'
import { countRecords } from './config/zone-file.js'
import type { BoundAddress } from './net/address.js'
import { GeoWatch } from './geo/watch.js'
import { restartNeeded } from './config/restart.js'
import { ConfigWatch } from './config/watch.js'
import { ConfigError, ErrorCode, formatIssue, GslbError } from './errors.js'
import { adminToken, isLoopback, TOKEN_ENV } from './admin/auth.js'
import { hostPort } from './net/address.js'
import { HttpStats } from './http/stats.js'
import { Metrics, newLifecycle } from './metrics/metrics.js'
import { explain, type DnsExplain, type ExplainQuery, type HttpExplain } from './explain/explain.js'
import type { Logger } from './log.js'
import { createProbe } from './probes/index.js'
import { RedisLink } from './cluster/redis-link.js'
import { RedisHealth } from './cluster/redis-health.js'
import { RedisAdminStore } from './cluster/redis-admin-store.js'
import { DashboardFeed } from './dashboard/feed.js'
import { isPublicPath, registerDashboard } from './dashboard/routes.js'
import type { FastifyInstance } from 'fastify'

export interface AppOptions extends LoadOptions {
  readonly clock?: Clock
  readonly probeFor?: CoreOptions['probeFor']
  /** Where admin state is kept. @default the state file, health.state_file */
  readonly adminStore?: (config: GslbConfig, log: Logger) => AdminStore
  /** Run no checks and keep no admin state: every member up (gslb explain --offline). */
  readonly offline?: boolean
  /** How GET /metrics is answered. @default this process's registry; with --workers, the primary's sum of all */
  readonly metricsText?: MetricsText
  /** With --workers: reload and status across every worker, and where this one says what it serves. */
  readonly cluster?: ClusterControl
  /** More routes for the admin listener (gslb demo's fault API). */
  readonly adminRoutes?: (f: FastifyInstance) => void
  /** How many processes share the DNS sockets (--workers): each rate limits at its part. @default 1 */
  readonly processes?: number
}

export interface ClusterControl {
  reloadAll: () => Promise<ReadonlyArray<ReloadResult & { worker: string }>>
  statusAll: () => Promise<ReadonlyArray<{ worker: string, version: string, ready: boolean }>>
  serving: (version: string, ready: boolean) => void
}

/** Given the process's metrics once, at build time; returns what answers a scrape. */
export type MetricsText = (local: Metrics) => () => Promise<{ text: string, contentType: string }>

/** What a reload did: the version serving after it, and the errors that refused it. */
export interface ReloadResult {
  readonly ok: boolean
  /** The configuration version serving after the reload (the previous one when refused). */
  readonly version: string
  readonly previous: string
  /** `file:line:col: field: message [CODE]` per problem. */
  readonly errors: readonly string[]
  /** Settings that changed but apply only after a restart (config/restart.ts); the running values stay. */
  readonly restartNeeded: readonly string[]
}

/** The state file named by `health.state_file`, relative to the configuration file. */
export function stateFilePath (file: string, config: GslbConfig): string {
  return resolve(dirname(file), config.health.stateFile)
}

export class Gslb {
  readonly core: GslbCore
  readonly dns: DnsServer
  readonly admin: AdminServer | undefined
  readonly http: RedirectServer | undefined
  readonly #serving: DnsServing
  #geo: GeoWatch | undefined
  #watch: ConfigWatch | undefined
  #reloading: Promise<unknown> = Promise.resolve()
  /** Reloads, admin changes, geo database loads, and whether the process is stopping. */
  readonly lifecycle = newLifecycle()
  /** Prometheus metrics (metrics.enabled); undefined when off. */
  readonly metrics: Metrics | undefined
  readonly #file: string
  readonly #options: AppOptions
  readonly #log: Logger
  /** The cluster's Redis and shared health views, with a `cluster:` section. */
  readonly #link: RedisLink | undefined
  readonly #clusterHealth: RedisHealth | undefined
  /** The dashboard's timeline and shares (GET /v1/events). */
  readonly feed: DashboardFeed
  #endStreams: () => void = () => {}
  #closing: Promise<void> | undefined
  /** The configuration the listeners and other start-only settings came from. */
  readonly #started: GslbConfig

  private constructor (file: string, options: AppOptions, config: GslbConfig, log: Logger) {
    if (config.cluster !== undefined && options.offline !== true) {
      // Several nodes: admin state and health views shared on Redis (docs/cluster.md).
      this.#link = new RedisLink(config.cluster, log.child({ mod: 'cluster' }))
      this.#clusterHealth = new RedisHealth(this.#link, config.cluster, options.clock ?? systemClock, log.child({ mod: 'cluster' }))
    }
    this.#file = file
    this.#started = config
    this.#options = options
    this.#log = log
    const clock = options.clock ?? systemClock
    const adminLog = log.child({ mod: 'admin-state' })
    const counting = config.metrics.enabled && options.offline !== true
    this.core = new GslbCore(config, {
      clock,
      log: log.child({ mod: 'core' }),
      admin: options.offline === true ? new MemoryAdminStore() : options.adminStore?.(config, adminLog) ?? adminStoreFor(file, config, this.#link, clock, adminLog),
      ...(this.#clusterHealth === undefined ? {} : { sharedHealth: this.#clusterHealth }),
      probeFor: options.probeFor ?? createProbe,
      assumeUp: options.offline === true,
      ...(counting ? { events: { probe: (c, ok, ms) => this.metrics?.events.probe(c, ok, ms), transition: (c, to) => this.metrics?.events.transition(c, to) } } : {}),
    })
    const secrets = new CookieSecretSource(log.child({ mod: 'dns' }))
    this.#serving = new DnsServing(this.core.snapshot, options.offline === true ? undefined : opts => secrets.get(opts))
    this.core.onPublish(s => this.#serving.publish(s))
    this.dns = new DnsServer(this.#serving, config.dns, log.child({ mod: 'dns' }), counting, options.processes ?? 1)
    const httpStats = counting ? new HttpStats() : undefined
    this.http = config.httpListen === undefined
      ? undefined
      : new RedirectServer({ snapshot: () => this.core.snapshot, http: config.http, log: log.child({ mod: 'http' }), ...(httpStats === undefined ? {} : { stats: httpStats }) }, config.httpListen, log.child({ mod: 'http' }))
    this.metrics = counting
      ? new Metrics({
        snapshot: () => this.core.snapshot,
        slots: this.core.slots,
        dns: { stats: this.dns.stats, counters: this.dns.counters, tcpOpen: () => this.dns.tcpOpen, rrlBuckets: () => this.dns.rrlTableSize },
        http: this.http === undefined ? undefined : httpStats,
        lifecycle: this.lifecycle,
        ...(this.#clusterHealth === undefined ? {} : { cluster: (h => () => h.counts())(this.#clusterHealth) }),
      })
      : undefined
    const metrics = this.metrics
    this.feed = new DashboardFeed(this.core.snapshot, { clock, dnsAnswers: counting ? this.dns.stats.memberAnswers : undefined, redirects: httpStats?.memberRedirects })
    this.core.onPublish(s => this.feed.publish(s))
    const feed = this.feed
    // Offline (explain --offline) serves nothing: no admin listener, so no token is needed either.
    const adminListen = options.offline === true ? undefined : config.adminListen
    const token = adminListen === undefined ? undefined : adminToken(config)
    if (adminListen !== undefined && token === undefined && !isLoopback(adminListen.host)) {
      throw new GslbError(ErrorCode.ADMIN_TOKEN, `listen.admin ${hostPort(adminListen.host, adminListen.port)} is not a loopback address: set ${TOKEN_ENV} or admin.token_file`)
    }
    this.admin = adminListen === undefined
      ? undefined
      : new AdminServer(this.core, adminListen, log.child({ mod: 'admin' }), {
        ...(token === undefined ? {} : { token }),
        isPublic: isPublicPath,
        extend: [
          f => { this.#endStreams = registerDashboard(f, { feed, snapshot: () => this.core.snapshot, demo: options.adminRoutes !== undefined }) },
          ...(options.adminRoutes === undefined ? [] : [options.adminRoutes]),
        ],
        explain: q => this.explain(q),
        lifecycle: this.lifecycle,
        reload: async () => await this.#reloadReport(),
        status: async () => await this.#status(),
        ...(metrics === undefined ? {} : { metrics: options.metricsText === undefined ? async () => ({ text: await metrics.text(), contentType: metrics.contentType }) : options.metricsText(metrics) }),
      })
  }

  /**
   * A configuration evaluated without serving: every member up, no admin state, the geo database
   * open, no listeners. `gslb explain --offline` asks it what a client would get.
   */
  static async offline (file: string, log: Logger, options: LoadOptions = {}): Promise<Gslb> {
    const app = await Gslb.load(file, log, { ...options, offline: true })
    await app.#useGeo(app.config)
    await app.core.start()
    return app
  }

  /** Load and compile; throws ConfigError with every problem found. */
  static async load (file: string, log: Logger, options: AppOptions = {}): Promise<Gslb> {
    const config = await loadConfig(file, options)
    return new Gslb(file, options, config, log)
  }

  get config (): GslbConfig { return this.core.config }
  /** How a stop goes: read at start, like the listeners it closes. */
  get shutdown (): GslbConfig['shutdown'] { return this.#started.shutdown }

  /** Why a client gets its answer or redirect, from these front ends and this snapshot (gslb explain). */
  async explain (q: ExplainQuery): Promise<DnsExplain | HttpExplain> {
    return await explain({ snapshot: () => this.core.snapshot, dns: this.dns, http: this.http?.app }, q)
  }

  /**
   * Load admin state, run the first round of health checks (bounded by health.startup_wait), then
   * open the listeners: answers never go out before the health state is known or the wait is over.
   */
  async start (): Promise<BoundAddress[]> {
    let bound: BoundAddress[]
    try {
      await this.#useGeo(this.config)
      if (this.#link !== undefined) {
        const reached = await this.#link.connect()
        if (!reached) this.#log.warn({ redis: this.#link.where }, 'cluster: Redis unreachable at start; serving from this node\'s copy of the admin state and its own checks until it answers')
      }
      await this.core.start()
      this.#clusterHealth?.start()
      bound = await this.dns.start()
      if (this.http !== undefined) bound.push(await this.http.start())
      if (this.admin !== undefined) bound.push(await this.admin.start())
    } catch (err) {
      // Whatever did open (sockets, check timers) must not keep the process alive.
      await this.close().catch(() => {})
      throw err
    }
    const config = this.config
    this.#options.cluster?.serving(config.version, this.core.snapshot.ready)
    this.#log.info({
      zones: config.zones.map(z => ({ zone: z.name, owners: z.owners.length, records: countRecords(z) })),
      pools: config.pools.map(p => ({ pool: p.name, members: p.members.length, policy: p.policy })),
    }, 'zones loaded')
    return bound
  }

  /**
   * Re-read the configuration; on any error keep the current one serving. Listener changes need a
   * restart. Reloads run one at a time (SIGHUP, a file change and the API may ask at once).
   */
  reload (): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reloadNow())
    this.#reloading = run.catch(() => {})
    return run
  }

  async #reloadNow (): Promise<ReloadResult> {
    const previous = this.config.version
    try {
      const next = await loadConfig(this.#file, this.#options)
      const restart = restartNeeded(this.#started, next)
      // Compile first: an error here leaves everything as it was. The publish that applyConfig
      // triggers finds these answers already compiled for `next` and uses them.
      this.#serving.prepare(next)
      await this.#useGeo(next)
      this.core.applyConfig(next)
      this.#watch?.follow(next.zonesDir)
      this.lifecycle.reloads.ok++
      this.#options.cluster?.serving(next.version, this.core.snapshot.ready)
      this.#log.info({ zones: next.zones.length, pools: next.pools.length, version: next.version, previous }, 'configuration reloaded')
      if (restart.length > 0) this.#log.warn({ settings: restart }, 'these settings changed and apply after a restart; the running values stay')
      return { ok: true, version: next.version, previous, errors: [], restartNeeded: restart }
    } catch (err) {
      this.lifecycle.reloads.failed++
      const errors = err instanceof ConfigError ? err.issues.map(formatIssue) : [(err as Error).message]
      this.#log.error({ errors, version: previous }, 'reload failed; the previous configuration keeps serving')
      return { ok: false, version: previous, previous, errors, restartNeeded: [] }
    }
  }

  /** A reload through the API: this process, or every worker with --workers. */
  async #reloadReport (): Promise<ReloadReport> {
    const cluster = this.#options.cluster
    if (cluster === undefined) {
      const r = await this.reload()
      return { ok: r.ok, version: r.version, errors: r.errors, restartNeeded: r.restartNeeded }
    }
    const workers = await cluster.reloadAll()
    const versions = new Set(workers.map(w => w.version))
    return {
      ok: workers.every(w => w.ok),
      version: versions.size === 1 ? [...versions][0] as string : null,
      errors: [...new Set(workers.flatMap(w => w.errors))],
      restartNeeded: [...new Set(workers.flatMap(w => w.restartNeeded))],
      workers: workers.map(w => ({ worker: w.worker, ok: w.ok, version: w.version, errors: w.errors })),
    }
  }

  async #status (): Promise<Record<string, unknown>> {
    const s = this.core.snapshot
    return {
      version: s.config.version,
      file: s.config.file,
      ready: s.ready && !this.lifecycle.draining,
      snapshot: { version: s.version, published_at: new Date(s.publishedAt).toISOString() },
      geo_database: this.#geo?.current === undefined ? null : { file: this.#geo.path, type: this.#geo.current.type, built_at: this.#geo.current.builtAt.toISOString() },
      reloads: this.lifecycle.reloads,
      ...(this.#clusterHealth === undefined ? {} : { cluster: this.#clusterHealth.status() }),
      ...(this.#options.cluster === undefined ? {} : { workers: await this.#options.cluster.statusAll() }),
    }
  }

  /** Reload whenever gslb.yaml or a zone file changes (gslb serve, unless --no-watch). */
  watchFiles (): void {
    this.#watch ??= new ConfigWatch(this.#file, this.config.zonesDir, () => this.reload(), this.#log.child({ mod: 'config' }))
    this.#watch.start()
  }

  /**
   * The database `config` names, watched for changes; the core uses each version it opens. The
   * same file as now keeps its watch; another file is opened before the old one is let go.
   */
  async #useGeo (config: GslbConfig): Promise<void> {
    const path = config.geo.databasePath
    if (path === this.#geo?.path) return
    const previous = this.#geo
    if (path === undefined) {
      this.#geo = undefined
      this.core.setGeo(undefined)
    } else {
      const watch = new GeoWatch(path, this.#log.child({ mod: 'geo' }))
      watch.on('loaded', db => {
        this.lifecycle.geo.loaded++
        this.lifecycle.geo.builtAt = db.builtAt
        this.core.setGeo(db.locator)
      })
      watch.on('rejected', () => { this.lifecycle.geo.rejected++ })
      await watch.start()
      this.#geo = watch
    }
    previous?.close()
  }

  /** The geo database's watch, when one is configured (tests wait on its events). */
  get geo (): GeoWatch | undefined { return this.#geo }

  /**
   * Stop: health checks end, listeners stop accepting, connections finish what they started
   * (docs/operations.md, "Stopping"); resolves at the latest just after shutdown.timeout.
   */
  close (): Promise<void> {
    // A second stop (SIGINT after SIGTERM, a failed start while stopping) waits for the first.
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    this.lifecycle.draining = true
    this.#watch?.close()
    const { readyDelayMs } = this.shutdown
    if (readyDelayMs > 0) {
      // Ready says 503 from now on; everything else is still served until the delay ends.
      this.#log.info({ readyDelayMs }, 'not ready; serving on until shutdown.ready_delay ends')
      await new Promise(resolve => setTimeout(resolve, readyDelayMs))
    }
    this.core.stop()
    this.#geo?.close()
    // Event streams never finish by themselves: end them so the admin listener can close.
    this.#endStreams()
    this.feed.close()
    const { timeoutMs, keepaliveGraceMs } = this.shutdown
    const http = { graceMs: keepaliveGraceMs, timeoutMs }
    await Promise.all([this.dns.close(timeoutMs), this.http?.close(http), this.admin?.close(http)])
    // Last: an admin change in flight during the drain still gets its answer.
    this.core.admin.close()
    await this.#clusterHealth?.leave()
    this.#link?.close()
  }
}

/**
 * Where admin state is kept: the state file, or with a `cluster:` section the cluster's Redis with
 * the state file as this node's copy (used when Redis is unreachable at start).
 */
export function adminStoreFor (file: string, config: GslbConfig, link: RedisLink | undefined, clock: Clock, log: Logger): AdminStore {
  const local = new FileAdminStore(stateFilePath(file, config), clock, log)
  return link === undefined ? local : new RedisAdminStore(link, local, clock, log)
}
