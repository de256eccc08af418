/**
 * Prometheus metrics (prom-client), served on GET /metrics of the admin listener. Every name starts
 * with `gslb_` and is listed in docs/metrics.md (a test keeps the two in step).
 *
 * The query path never touches prom-client: the front ends count in flat arrays (dns/stats.ts,
 * http/stats.ts) and the snapshot holds the state; the metrics here read them when scraped
 * (`collect`). Only probes and health transitions, off the query path, are observed as they happen.
 * With --workers, the primary sums every worker's registry (workers/metrics-channel.ts); gauges say
 * how they combine (`aggregator`).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Snapshot, CoreEvents } from '../core/core.js'
import type { Slots } from '../core/slots.js'
import type { HealthStatus } from '../core/health-state.js'
import { inFamily } from '../core/pool-view.js'
import { QTYPES, RCODES, type DnsStats } from '../dns/stats.js'
import type { DnsCounters } from '../dns/server.js'
import { STATUSES, type HttpStats } from '../http/stats.js'

/** What the metrics read, from a running gslb (app.ts). */
export interface MetricsSource {
  readonly snapshot: () => Snapshot
  readonly slots: { readonly members: Slots, readonly pools: Slots }
  readonly dns: { readonly stats: DnsStats, readonly counters: DnsCounters, readonly tcpOpen: () => number, readonly rrlBuckets: () => number }
  readonly http: HttpStats | undefined
  readonly lifecycle: Lifecycle
  /** With a `cluster:` section: this node's name, whether Redis answers, and the other nodes' freshness. */
  readonly cluster?: () => { readonly node: string, readonly redisUp: boolean, readonly fresh: number, readonly stale: number }
}

/** Counts kept by the app: reloads, admin changes, the geo database. */
export interface Lifecycle {
  reloads: { ok: number, failed: number }
  adminChanges: { ok: number, failed: number }
  geo: { loaded: number, rejected: number, builtAt: Date | undefined }
  draining: boolean
}

export function newLifecycle (): Lifecycle {
  return { reloads: { ok: 0, failed: 0 }, adminChanges: { ok: 0, failed: 0 }, geo: { loaded: 0, rejected: 0, builtAt: undefined }, draining: false }
}

export class Metrics {
  readonly registry = new Registry()
  /** Given to the core: probes and transitions as they happen. */
  readonly events: CoreEvents

  constructor (src: MetricsSource) {
    const r = this.registry
    collectDefaultMetrics({ register: r, prefix: 'gslb_' })
    // prom-client names these gauges *_total, which Prometheus keeps for counters (promtool check
    // metrics refuses them): drop them rather than serve names that lint.
    for (const name of ['gslb_nodejs_active_handles_total', 'gslb_nodejs_active_requests_total', 'gslb_nodejs_active_resources_total']) r.removeSingleMetric(name)
    const famName = (f: number | string): string => f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : f === 'host' ? 'cname' : 'url'

    // ── DNS ──
    new Counter({
      name: 'gslb_dns_queries_total', help: 'DNS queries answered, by transport, query type and response code.', labelNames: ['transport', 'qtype', 'rcode'], registers: [r],
      collect () {
        this.reset()
        for (const tcp of [false, true]) {
          for (let q = 0; q < QTYPES.length; q++) {
            for (let c = 0; c < RCODES.length; c++) {
              const n = src.dns.stats.query(tcp, q, c)
              if (n > 0) this.inc({ transport: tcp ? 'tcp' : 'udp', qtype: QTYPES[q] as string, rcode: RCODES[c] as string }, n)
            }
          }
        }
      },
    })
    counter(r, 'gslb_dns_ecs_queries_total', 'DNS queries that carried an EDNS Client Subnet option.', ['transport'], c => {
      c.inc({ transport: 'udp' }, src.dns.stats.ecs[0] ?? 0)
      c.inc({ transport: 'tcp' }, src.dns.stats.ecs[1] ?? 0)
    })
    counter(r, 'gslb_dns_truncated_total', 'UDP answers sent with TC=1 (too large; the client retries over TCP).', [], c => c.inc(src.dns.stats.truncated[0] ?? 0))
    counter(r, 'gslb_dns_dropped_total', 'Datagrams not answered: too short to be a query, or a response.', [], c => c.inc(src.dns.counters.dropped))
    counter(r, 'gslb_dns_errors_total', 'Queries whose answer failed to build (a bug): answered SERVFAIL.', [], c => c.inc(src.dns.counters.errors))
    counter(r, 'gslb_dns_tcp_connections_total', 'TCP DNS connections accepted.', [], c => c.inc(src.dns.counters.tcpConnections))
    counter(r, 'gslb_dns_tcp_closed_total', 'TCP DNS connections closed by gslb, by reason.', ['reason'], c => {
      c.inc({ reason: 'timeout' }, src.dns.counters.tcpTimeouts)
      c.inc({ reason: 'client_cap' }, src.dns.counters.tcpClientCapped)
      c.inc({ reason: 'total_cap' }, src.dns.counters.tcpEvicted)
    })
    gauge(r, 'gslb_dns_tcp_connections', 'TCP DNS connections open now.', [], 'sum', g => g.set(src.dns.tcpOpen()))
    counter(r, 'gslb_dns_rate_limited_total', 'UDP responses over their rate limit (dns.rate_limit), by what was done: dropped, slipped (sent truncated), logged (log_only: sent).', ['action'], c => {
      const n = src.dns.counters.rrl
      c.inc({ action: 'dropped' }, n.dropped)
      c.inc({ action: 'slipped' }, n.slipped)
      c.inc({ action: 'logged' }, n.logged)
    })
    gauge(r, 'gslb_dns_rate_limit_buckets', 'Rate limiting buckets (client network and response class) held now.', [], 'sum', g => g.set(src.dns.rrlBuckets()))
    counter(r, 'gslb_dns_pool_answers_total', 'DNS answers taken from a pool, by pool.', ['pool'], c => {
      for (let slot = 0; slot < src.slots.pools.size; slot++) {
        const n = src.dns.stats.poolAnswers.get(slot)
        if (n > 0) c.inc({ pool: src.slots.pools.name(slot) ?? '?' }, n)
      }
    })
    const siteOf = memberSites(src)
    counter(r, 'gslb_dns_member_answers_total', 'Records answered per pool member (each member in an answer counts once).', ['pool', 'member', 'site'], c => {
      const sites = siteOf()
      for (let slot = 0; slot < src.slots.members.size; slot++) {
        const n = src.dns.stats.memberAnswers.get(slot)
        if (n > 0) c.inc(memberLabels(src.slots.members.name(slot) ?? '?/?', sites), n)
      }
    })

    // ── HTTP ──
    counter(r, 'gslb_http_responses_total', 'Redirect service answers, by route (first host and path; "-" before a route matched) and status.', ['route', 'status'], c => {
      const h = src.http
      if (h === undefined) return
      for (let slot = 0; slot < h.routes.size; slot++) {
        for (let i = 0; i <= STATUSES.length; i++) {
          const n = h.responsesOf(slot, i)
          if (n > 0) c.inc({ route: h.routes.name(slot) ?? '?', status: i < STATUSES.length ? String(STATUSES[i]) : 'other' }, n)
        }
      }
    })
    counter(r, 'gslb_http_member_redirects_total', 'Redirects per pool member (the Location target).', ['pool', 'member', 'site'], c => {
      const h = src.http
      if (h === undefined) return
      const sites = siteOf()
      for (let slot = 0; slot < src.slots.members.size; slot++) {
        const n = h.memberRedirects.get(slot)
        if (n > 0) c.inc(memberLabels(src.slots.members.name(slot) ?? '?/?', sites), n)
      }
    })

    // ── Health (observed as it happens) ──
    const probes = new Counter({ name: 'gslb_probes_total', help: 'Health probes finished, by check and result.', labelNames: ['check', 'result'], registers: [r] })
    const probeSeconds = new Histogram({
      name: 'gslb_probe_duration_seconds', help: 'How long health probes took, by check.', labelNames: ['check'], registers: [r],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    })
    const transitions = new Counter({ name: 'gslb_health_transitions_total', help: 'Health state changes of probe targets, by check and new state.', labelNames: ['check', 'to'], registers: [r] })
    this.events = {
      probe: (check: string, ok: boolean, ms: number) => {
        probes.inc({ check, result: ok ? 'ok' : 'failed' })
        probeSeconds.observe({ check }, ms / 1000)
      },
      transition: (check: string, to: HealthStatus) => { transitions.inc({ check, to }) },
    }

    // ── State, read from the snapshot ──
    gauge(r, 'gslb_member_up', 'Checked health of a member: 1 up, 0 down, -1 no result yet.', ['pool', 'member', 'site'], 'average', g => {
      for (const p of src.snapshot().pools) for (const m of p.members) g.set({ pool: p.name, member: m.name, site: m.config.site ?? '' }, m.health === 'up' ? 1 : m.health === 'down' ? 0 : -1)
    })
    if (src.cluster !== undefined) {
      const cluster = src.cluster
      gauge(r, 'gslb_cluster_redis_up', 'Whether the cluster\'s Redis answers this node: 1 or 0.', [], 'min', g => { g.set(cluster().redisUp ? 1 : 0) })
      gauge(r, 'gslb_cluster_nodes', 'Other nodes of the cluster, fresh (counted in the quorum) or stale.', ['state'], 'first', g => {
        const c = cluster()
        g.set({ state: 'fresh' }, c.fresh)
        g.set({ state: 'stale' }, c.stale)
      })
      gauge(r, 'gslb_member_node_up', 'Each node\'s view of a member\'s health (this node\'s own checks included): 1 up, 0 down, -1 no result yet.', ['pool', 'member', 'site', 'node'], 'first', g => {
        const node = cluster().node
        const v = (s: HealthStatus): number => s === 'up' ? 1 : s === 'down' ? 0 : -1
        for (const p of src.snapshot().pools) {
          for (const m of p.members) {
            if (m.cluster === undefined) continue
            const site = m.config.site ?? ''
            g.set({ pool: p.name, member: m.name, site, node }, v(m.cluster.local))
            for (const n of m.cluster.nodes) g.set({ pool: p.name, member: m.name, site, node: n.node }, v(n.status))
          }
        }
      })
    }
    gauge(r, 'gslb_member_eligible', 'Whether a member may be answered now (health, admin state and force together): 1 or 0.', ['pool', 'member', 'site'], 'average', g => {
      for (const p of src.snapshot().pools) for (const m of p.members) g.set({ pool: p.name, member: m.name, site: m.config.site ?? '' }, m.eligible ? 1 : 0)
    })
    gauge(r, 'gslb_member_admin_state', 'A member\'s admin state: 1 for the state it is in (ready, drain, maint; force_up, force_down when forced).', ['pool', 'member', 'state'], 'first', g => {
      for (const p of src.snapshot().pools) {
        for (const m of p.members) {
          g.set({ pool: p.name, member: m.name, state: m.admin }, 1)
          if (m.force !== undefined) g.set({ pool: p.name, member: m.name, state: `force_${m.force}` }, 1)
        }
      }
    })
    gauge(r, 'gslb_member_weight', 'A member\'s weight in effect (configured, reported by the backend, or set at run time).', ['pool', 'member'], 'first', g => {
      for (const p of src.snapshot().pools) for (const m of p.members) g.set({ pool: p.name, member: m.name }, m.weight)
    })
    gauge(r, 'gslb_pool_mode', 'How a pool serves a family: 1 for its mode (normal, fail-open, fallback, none).', ['pool', 'family', 'mode'], 'first', g => {
      for (const p of src.snapshot().pools) {
        for (const [f, d] of [[4, p.v4], [6, p.v6], ['host', p.host], ['url', p.url]] as const) {
          if (d.mode !== 'empty') g.set({ pool: p.name, family: famName(f), mode: d.mode }, 1)
        }
      }
    })
    gauge(r, 'gslb_pool_eligible_members', 'Eligible members of a pool, by family.', ['pool', 'family'], 'average', g => {
      for (const p of src.snapshot().pools) {
        for (const f of [4, 6, 'host', 'url'] as const) {
          let serving = 0
          let eligible = 0
          for (const m of p.members) if (inFamily(m, f)) { serving++; if (m.eligible) eligible++ }
          if (serving > 0) g.set({ pool: p.name, family: famName(f) }, eligible)
        }
      }
    })

    // ── Lifecycle ──
    const life = src.lifecycle
    gauge(r, 'gslb_ready', '1 once the first round of health checks is done and while not stopping, else 0.', [], 'min', g => g.set(src.snapshot().ready && !life.draining ? 1 : 0))
    gauge(r, 'gslb_config_info', 'The configuration serving: its version (a hash of gslb.yaml and the zones); the value is the number of processes serving it.', ['version'], 'sum', g => g.set({ version: src.snapshot().config.version }, 1))
    counter(r, 'gslb_config_reloads_total', 'Configuration reloads, by result.', ['result'], c => {
      c.inc({ result: 'ok' }, life.reloads.ok)
      c.inc({ result: 'failed' }, life.reloads.failed)
    })
    gauge(r, 'gslb_snapshot_version', 'The number of the snapshot serving (it grows with each health, admin or config change).', [], 'max', g => g.set(src.snapshot().version))
    gauge(r, 'gslb_snapshot_age_seconds', 'Seconds since the snapshot serving was published.', [], 'max', g => g.set((Date.now() - src.snapshot().publishedAt) / 1000))
    counter(r, 'gslb_admin_changes_total', 'Admin state changes asked through this process\'s API, by result.', ['result'], c => {
      c.inc({ result: 'ok' }, life.adminChanges.ok)
      c.inc({ result: 'failed' }, life.adminChanges.failed)
    })
    gauge(r, 'gslb_geo_database_build_timestamp_seconds', 'When the geo database in use was built (its build_epoch); absent without a database.', [], 'min', g => {
      if (life.geo.builtAt !== undefined) g.set(life.geo.builtAt.getTime() / 1000)
    })
    counter(r, 'gslb_geo_database_loads_total', 'Geo database files opened (at start and on change), by result.', ['result'], c => {
      c.inc({ result: 'ok' }, life.geo.loaded)
      c.inc({ result: 'rejected' }, life.geo.rejected)
    })
  }

  async text (): Promise<string> { return await this.registry.metrics() }
  get contentType (): string { return this.registry.contentType }
}

/** A counter whose value is read at scrape time from `read`, which calls inc() with totals. */
function counter (r: Registry, name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void): void {
  new Counter({ name, help, labelNames, registers: [r], collect () { this.reset(); read(this) } })
}

function gauge (r: Registry, name: string, help: string, labelNames: string[], aggregator: 'sum' | 'first' | 'min' | 'max' | 'average',
  read: (g: Gauge<string>) => void): void {
  new Gauge({ name, help, labelNames, registers: [r], aggregator, collect () { this.reset(); read(this) } })
}

/** The site of each `pool/member` in the configuration serving, for labels. */
function memberSites (src: MetricsSource): () => Map<string, string> {
  let cached: { config: unknown, sites: Map<string, string> } | undefined
  return () => {
    const config = src.snapshot().config
    if (cached?.config !== config) cached = { config, sites: new Map(config.pools.flatMap(p => p.members.map(m => [`${p.name}/${m.name}`, m.site ?? '']))) }
    return cached.sites
  }
}

function memberLabels (key: string, sites: Map<string, string>): { pool: string, member: string, site: string } {
  const i = key.indexOf('/')
  return { pool: key.slice(0, i), member: key.slice(i + 1), site: sites.get(key) ?? '' }
}
