/**
 * The admin API (fastify) on `listen.admin`: health and admin state of every member, both shown,
 * and setting drain/maint/force with an optional expiry while the server runs. Plain JSON over
 * HTTP without authentication: bind it to loopback or a management network only.
 *
 *   GET  /v1/ready                       200 once the first round of checks is done, else 503
 *   GET  /v1/pools                       pools, members (health + admin) and per-family decisions
 *   PUT  /v1/members/:pool/:member/admin {state, force, expires, note}
 *   GET  /v1/explain?name=&type=&client=&ecs=   why a DNS client gets its answer (gslb explain)
 *   GET  /v1/explain?url=&client=               why an HTTP client gets its redirect
 *
 * Errors answer `{error, code}` with a code from docs/errors.md: 400 GSLB_E_BAD_REQUEST, 404
 * GSLB_E_NO_MEMBER, 500 GSLB_E_STATE_WRITE (the change could not be kept, and was not applied),
 * 503 GSLB_E_STATE_UNAVAILABLE (with --workers: the primary process did not answer).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { ListenAddress } from '../config/model.js'
import { DURATION_EXAMPLES, parseDuration } from '../config/source.js'
import type { AdminState, Force } from '../core/admin-state.js'
import type { GslbCore } from '../core/core.js'
import type { FamilyDecision, MemberView, PoolView } from '../core/pool-view.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { ExplainQuery } from '../explain/explain.js'
import type { Lifecycle } from '../metrics/metrics.js'
import { hostPort, type BoundAddress } from '../net/address.js'
import { closeGracefully, trackConnections, type GracefulOptions } from '../net/graceful-http.js'
import type { Logger } from '../log.js'

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.NO_MEMBER]: 404,
  [ErrorCode.STATE_WRITE]: 500,
  [ErrorCode.STATE_UNAVAILABLE]: 503,
}

function fail (reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(STATUS_OF[code] ?? 500).send({ error: message, code })
}

/** Answers `gslb explain` queries (src/explain/explain.ts, bound to the running front ends). */
export type Explainer = (q: ExplainQuery) => Promise<unknown>

/** What the admin API serves beside the core, from the app. */
export interface AdminHooks {
  readonly explain?: Explainer
  /** GET /metrics: the Prometheus text, and its content type. */
  readonly metrics?: () => Promise<{ text: string, contentType: string }>
  /** Stopping (ready answers 503 from the start of a stop) and the count of admin changes. */
  readonly lifecycle?: Lifecycle
}

export function buildAdminApp (core: GslbCore, hooks: AdminHooks = {}): FastifyInstance {
  const { explain, lifecycle } = hooks
  const f = Fastify({ logger: false, bodyLimit: 4096, connectionTimeout: 10_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 })
  // Fastify's own 4xx (schema validation, bad JSON, body too large) in the same {error, code} shape.
  f.setErrorHandler((err: { statusCode?: number, message: string }, _req, reply) => {
    const status = err.statusCode ?? 500
    return reply.code(status).send({ error: err.message, code: status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL })
  })

  f.get('/v1/ready', async (_req, reply) => {
    // Not ready before the first round of checks, and from the first moment of a stop on.
    const stopping = lifecycle?.draining === true
    const ready = core.snapshot.ready && !stopping
    return reply.code(ready ? 200 : 503).send({ ready, ...(stopping ? { stopping: true } : {}) })
  })

  if (hooks.metrics !== undefined) {
    const metrics = hooks.metrics
    f.get('/metrics', async (_req, reply) => {
      const m = await metrics()
      return reply.code(200).header('content-type', m.contentType).send(m.text)
    })
  }

  f.get('/v1/pools', async () => {
    const s = core.snapshot
    const member = (m: MemberView): Record<string, unknown> => memberJson(m, core)
    return { version: s.version, published_at: new Date(s.publishedAt).toISOString(), ready: s.ready, pools: s.pools.map(p => poolJson(p, member)) }
  })

  f.get<{ Querystring: { name?: string, type?: string, url?: string, client?: string, ecs?: string } }>('/v1/explain', async (req, reply) => {
    if (explain === undefined) return fail(reply, ErrorCode.BAD_REQUEST, 'explain is not available here')
    const q = req.query
    if (q.client === undefined) return fail(reply, ErrorCode.BAD_REQUEST, 'client is required: the resolver (DNS) or peer (HTTP) address')
    try {
      return await explain({ client: q.client, ...(q.name === undefined ? {} : { name: q.name }), ...(q.type === undefined ? {} : { type: q.type }), ...(q.url === undefined ? {} : { url: q.url }), ...(q.ecs === undefined ? {} : { ecs: q.ecs }) })
    } catch (err) {
      if (err instanceof GslbError) return fail(reply, err.code, err.message)
      throw err
    }
  })

  f.put<{ Params: { pool: string, member: string }, Body: { state?: AdminState, force?: Force | 'none', expires?: string, note?: string } }>(
    '/v1/members/:pool/:member/admin',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['ready', 'drain', 'maint'] },
            force: { type: 'string', enum: ['up', 'down', 'none'] },
            expires: { type: 'string', description: 'a duration from now (30m) or an ISO time' },
            note: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (req, reply) => {
      const key = `${req.params.pool}/${req.params.member}`
      const b = req.body ?? {}
      let expiresAt: number | undefined
      if (b.expires !== undefined) {
        expiresAt = parseExpiry(b.expires, core.clock.now())
        if (expiresAt === undefined) return fail(reply, ErrorCode.BAD_REQUEST, `expires must be a duration (${DURATION_EXAMPLES}) or an ISO time, in the next 366 days: got "${b.expires}"`)
      }
      try {
        const entry = await core.setAdmin(key, { state: b.state, force: b.force, expiresAt, note: b.note })
        if (lifecycle !== undefined) lifecycle.adminChanges.ok++
        return {
          member: key,
          state: entry?.state ?? 'ready',
          force: entry?.force ?? null,
          expires_at: entry?.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString(),
          note: entry?.note ?? null,
        }
      } catch (err) {
        if (lifecycle !== undefined) lifecycle.adminChanges.failed++
        if (err instanceof GslbError) return fail(reply, err.code, err.message)
        throw err
      }
    },
  )
  return f
}

/** The longest expiry accepted: a year. Longer is a permanent state with a note, not an expiry. */
export const MAX_EXPIRY_MS = 366 * 86_400_000

/** A duration from `now` in gslb's one duration syntax, or an ISO time; undefined unless in the next year. */
export function parseExpiry (text: string, now: number): number | undefined {
  const ms = parseDuration(text)
  const t = ms !== undefined ? now + ms : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(t) || t <= now || t > now + MAX_EXPIRY_MS ? undefined : t
}

/** A member as the API shows it: the snapshot's decision, and the latest probes read live. */
function memberJson (m: MemberView, core: GslbCore): Record<string, unknown> {
  const target = m.checkKey === undefined ? undefined : core.monitor.get(m.checkKey)
  return {
    name: m.name,
    ...(m.config.address === undefined ? (m.config.host === undefined ? {} : { host: m.config.host }) : { address: m.config.address }),
    ...(m.config.url === undefined ? {} : { url: m.config.url }),
    site: m.config.site ?? null,
    eligible: m.eligible,
    why: m.why,
    health: m.health,
    health_reason: target?.health.reason ?? m.healthReason,
    check: m.checkKey ?? null,
    last_check_at: target?.health.lastCheckAt === undefined ? null : new Date(target.health.lastCheckAt).toISOString(),
    recent_probes: (target?.recent ?? []).map(r => ({ at: new Date(r.at).toISOString(), ms: r.durationMs, ok: r.ok, detail: r.detail })),
    admin: m.admin,
    admin_source: m.adminSource,
    force: m.force ?? null,
    weight: m.weight,
    configured_weight: m.config.weight,
  }
}

function decisionJson (d: FamilyDecision): Record<string, unknown> {
  return { kind: d.kind, mode: d.mode, members: d.members.map(m => m.name), degraded: d.degraded, ttl: d.ttl, served_by: d.servedBy, reasons: d.reasons }
}

function poolJson (p: PoolView, member: (m: MemberView) => Record<string, unknown>): Record<string, unknown> {
  return { name: p.name, policy: p.config.policy, members: p.members.map(member), ipv4: decisionJson(p.v4), ipv6: decisionJson(p.v6), host: decisionJson(p.host), url: decisionJson(p.url) }
}

export class AdminServer {
  readonly #app: FastifyInstance
  readonly #listen: ListenAddress
  readonly #log: Logger

  constructor (core: GslbCore, listen: ListenAddress, log: Logger, hooks: AdminHooks = {}) {
    this.#app = buildAdminApp(core, hooks)
    trackConnections(this.#app.server)
    this.#listen = listen
    this.#log = log
  }

  async start (): Promise<BoundAddress> {
    await this.#app.listen({ host: this.#listen.host, port: this.#listen.port })
    const a = this.#app.server.address() as { address: string, port: number }
    this.#log.info({ listener: `http://${hostPort(a.address, a.port)}` }, 'admin API listening')
    return { proto: 'tcp', host: a.address, port: a.port }
  }

  async close (opts: GracefulOptions): Promise<void> {
    await closeGracefully(this.#app.server, opts)
    await this.#app.close()
  }
}
