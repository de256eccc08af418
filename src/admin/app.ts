/**
 * The admin API (fastify) on `listen.admin`: member health and admin state (both shown), pool
 * decisions, changes while the server runs (drain, maint, force, weight; one member or a whole
 * site), reload, status, explain and metrics. Keep it on loopback or a management network; on any
 * other address a bearer token is required (admin/auth.ts).
 *
 *   GET  /v1/ready                              200 once the first round of checks is done and while not stopping, else 503
 *   GET  /v1/status                             the configuration version serving (per worker), the snapshot, the geo database
 *   GET  /v1/pools                              pools, members (health, admin state, probes) and per-family decisions with reasons
 *   PUT  /v1/members/:pool/:member/admin        {state, force, weight, expires, note}
 *   PUT  /v1/sites/:site/admin                  {state, force, expires, note}: every member of the site, in every pool
 *   POST /v1/reload                             reload (every worker); 422 GSLB_E_RELOAD_REFUSED with file:line:col errors
 *   GET  /v1/explain?name=&type=&client=&ecs=   why a DNS client gets its answer (gslb explain)
 *   GET  /v1/explain?url=&client=               why an HTTP client gets its redirect
 *   GET  /metrics                               Prometheus text (docs/metrics.md)
 *
 * Errors answer `{error, code}` with a code from docs/errors.md. Changes are logged as audit lines
 * with who asked: the X-GSLB-User header (the CLI sends $USER) and the peer address.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { DURATION_EXAMPLES, parseDuration } from '../config/source.js'
import type { AdminChange, AdminState, Force } from '../core/admin-state.js'
import type { GslbCore } from '../core/core.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { ExplainQuery } from '../explain/explain.js'
import type { Lifecycle } from '../metrics/metrics.js'
import { tokenChecker } from './auth.js'
import { refuseBrowserAbuse } from './guard.js'
import { poolJson } from './json.js'

/** Answers `gslb explain` queries (src/explain/explain.ts, bound to the running front ends). */
export type Explainer = (q: ExplainQuery) => Promise<unknown>

/** What the admin API serves beside the core, from the app. */
export interface AdminHooks {
  readonly explain?: Explainer
  /** GET /metrics: the Prometheus text, and its content type. */
  readonly metrics?: () => Promise<{ text: string, contentType: string }>
  /** Stopping (ready answers 503 from the start of a stop) and the count of admin changes. */
  readonly lifecycle?: Lifecycle
  /** POST /v1/reload: reload (every worker, with --workers) and say what each serves. */
  readonly reload?: () => Promise<ReloadReport>
  /** GET /v1/status: the configuration serving (per worker, with --workers). */
  readonly status?: () => Promise<Record<string, unknown>>
  /** When set, every request needs `Authorization: Bearer <token>`, but those `isPublic` allows. */
  readonly token?: string
  /** Paths served without the token: static files that hold no data (the dashboard's page). */
  readonly isPublic?: (url: string) => boolean
  /** The listen address, a name the Host header may use without a token. */
  readonly listenHost?: string
  /** More routes on this listener: the dashboard, the demo's fault API. */
  readonly extend?: ReadonlyArray<(f: FastifyInstance) => void>
}

/** What a reload through the API did. */
export interface ReloadReport {
  readonly ok: boolean
  /** The version serving (with workers: when they all serve the same one). */
  readonly version: string | null
  readonly errors: readonly string[]
  /** Start-only settings the new configuration changes; they apply after a restart. */
  readonly restartNeeded: readonly string[]
  readonly workers?: ReadonlyArray<{ worker: string, ok: boolean, version: string, errors: readonly string[] }>
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NO_MEMBER]: 404,
  [ErrorCode.STATE_WRITE]: 500,
  [ErrorCode.STATE_UNAVAILABLE]: 503,
}

function fail (reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(STATUS_OF[code] ?? 500).send({ error: message, code })
}

/** The longest expiry accepted: a year. Longer is a permanent state with a note, not an expiry. */
export const MAX_EXPIRY_MS = 366 * 86_400_000

/** A duration from `now` in gslb's one duration syntax, or an ISO time; undefined unless in the next year. */
export function parseExpiry (text: string, now: number): number | undefined {
  const ms = parseDuration(text)
  const t = ms !== undefined ? now + ms : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(t) || t <= now || t > now + MAX_EXPIRY_MS ? undefined : t
}

interface ChangeBody { state?: AdminState, force?: Force | 'none', weight?: number | null, expires?: string, note?: string }

const CHANGE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['ready', 'drain', 'maint'] },
    force: { type: 'string', enum: ['up', 'down', 'none'] },
    weight: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000 },
    expires: { type: 'string', description: 'a duration from now (30m) or an ISO time' },
    note: { type: 'string', maxLength: 200 },
  },
}

/** Who asked, for the audit line: the user the CLI names, and the peer address. */
function who (req: FastifyRequest): string {
  const raw = req.headers['x-gslb-user']
  const user = typeof raw === 'string' && /^[\w.@-]{1,64}$/.test(raw) ? raw : 'unknown'
  return `${user}@${req.socket.remoteAddress ?? '?'}`
}

/** The admin listener's limits (docs/security.md, "An exposed admin API"). */
export const ADMIN_LIMITS = {
  bodyBytes: 4096,
  headerBytes: 8192,
  headersMs: 5_000,
  requestMs: 10_000,
  /** A connection with no traffic this long is closed (the event stream turns this off for itself). */
  idleMs: 10_000,
  /** Open connections, event streams included; more are closed as they arrive. */
  connections: 256,
} as const

export function buildAdminApp (core: GslbCore, hooks: AdminHooks = {}): FastifyInstance {
  const { explain, lifecycle } = hooks
  // Limits of its own, tighter than the redirect service's (docs/security.md): small bodies and
  // headers, slow clients cut off, and at most ADMIN_LIMITS.connections open (admin/server.ts).
  const f = Fastify({
    logger: false,
    bodyLimit: ADMIN_LIMITS.bodyBytes,
    connectionTimeout: ADMIN_LIMITS.idleMs,
    requestTimeout: ADMIN_LIMITS.requestMs,
    keepAliveTimeout: 5_000,
    http: { headersTimeout: ADMIN_LIMITS.headersMs, maxHeaderSize: ADMIN_LIMITS.headerBytes },
  })
  // Fastify's own 4xx (schema validation, bad JSON, body too large) in the same {error, code} shape.
  f.setErrorHandler((err: { statusCode?: number, message: string }, _req, reply) => {
    const status = err.statusCode ?? 500
    return reply.code(status).send({ error: err.message, code: status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL })
  })
  // Web pages must not drive this API through a browser (admin/guard.ts).
  const guard = { tokenRequired: hooks.token !== undefined, listenHost: hooks.listenHost ?? '127.0.0.1' }
  f.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin
    const why = refuseBrowserAbuse(req.headers.host, Array.isArray(origin) ? origin[0] : origin, guard)
    // An async hook that answers returns the reply: nothing after it runs.
    if (why !== undefined) { void reply.code(403).send({ error: why, code: ErrorCode.FORBIDDEN }); return reply }
  })
  if (hooks.token !== undefined) {
    const ok = tokenChecker(hooks.token)
    const isPublic = hooks.isPublic ?? (() => false)
    f.addHook('onRequest', async (req, reply) => {
      if (req.method === 'GET' && isPublic(req.url)) return
      if (!ok(req.headers.authorization)) {
        void reply.code(401).header('www-authenticate', 'Bearer realm="gslb"').send({ error: 'a bearer token is required (Authorization: Bearer ..., the CLI reads GSLB_ADMIN_TOKEN or admin.token_file)', code: ErrorCode.UNAUTHORIZED })
        return reply
      }
    })
  }

  f.get('/v1/ready', async (_req, reply) => {
    // Not ready before the first round of checks, and from the first moment of a stop on.
    const stopping = lifecycle?.draining === true
    const ready = core.snapshot.ready && !stopping
    return reply.code(ready ? 200 : 503).send({ ready, ...(stopping ? { stopping: true } : {}) })
  })

  if (hooks.status !== undefined) {
    const status = hooks.status
    f.get('/v1/status', async () => await status())
  }

  f.get('/v1/pools', async () => {
    const s = core.snapshot
    return { version: s.version, config_version: s.config.version, published_at: new Date(s.publishedAt).toISOString(), ready: s.ready, pools: s.pools.map(p => poolJson(p, core)) }
  })

  /** Turn a change body into a core change, or answer 400. */
  const changeOf = (req: FastifyRequest, reply: FastifyReply, b: ChangeBody): Omit<AdminChange, 'setAt'> | undefined => {
    let expiresAt: number | undefined
    if (b.expires !== undefined) {
      expiresAt = parseExpiry(b.expires, core.clock.now())
      if (expiresAt === undefined) { void fail(reply, ErrorCode.BAD_REQUEST, `expires must be a duration (${DURATION_EXAMPLES}) or an ISO time, in the next 366 days: got "${b.expires}"`); return undefined }
    }
    return { state: b.state, force: b.force, expiresAt, note: b.note, setBy: who(req), ...(b.weight === undefined ? {} : { weight: b.weight === null ? 'none' : b.weight }) }
  }

  /** Run a change, counting it and mapping its errors. */
  const apply = async <T>(reply: FastifyReply, run: () => Promise<T>): Promise<T | FastifyReply> => {
    try {
      const out = await run()
      if (lifecycle !== undefined) lifecycle.adminChanges.ok++
      return out
    } catch (err) {
      if (lifecycle !== undefined) lifecycle.adminChanges.failed++
      if (err instanceof GslbError) return fail(reply, err.code, err.message)
      throw err
    }
  }

  f.put<{ Params: { pool: string, member: string }, Body: ChangeBody }>('/v1/members/:pool/:member/admin', { schema: { body: CHANGE_SCHEMA } }, async (req, reply) => {
    const change = changeOf(req, reply, req.body ?? {})
    if (change === undefined) return reply
    const key = `${req.params.pool}/${req.params.member}`
    return await apply(reply, async () => {
      const entry = await core.setAdmin(key, change)
      return {
        member: key,
        state: entry?.state ?? 'ready',
        force: entry?.force ?? null,
        weight: entry?.weight ?? null,
        expires_at: entry?.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString(),
        note: entry?.note ?? null,
      }
    })
  })

  f.put<{ Params: { site: string }, Body: ChangeBody }>('/v1/sites/:site/admin', { schema: { body: { ...CHANGE_SCHEMA, properties: { ...CHANGE_SCHEMA.properties, weight: { type: 'null' } } } } }, async (req, reply) => {
    const change = changeOf(req, reply, req.body ?? {})
    if (change === undefined) return reply
    return await apply(reply, async () => {
      const members = await core.setSiteAdmin(req.params.site, change)
      return { site: req.params.site, members, state: change.state ?? null, force: change.force ?? null, expires_at: change.expiresAt === undefined ? null : new Date(change.expiresAt).toISOString() }
    })
  })

  if (hooks.reload !== undefined) {
    const reload = hooks.reload
    f.post('/v1/reload', async (_req, reply) => {
      const r = await reload()
      if (r.ok) return { ok: true, version: r.version, restart_needed: r.restartNeeded, ...(r.workers === undefined ? {} : { workers: r.workers }) }
      return reply.code(422).send({
        error: `configuration refused: ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; the previous one keeps serving`,
        code: ErrorCode.RELOAD_REFUSED,
        ok: false,
        version: r.version,
        errors: r.errors,
        ...(r.workers === undefined ? {} : { workers: r.workers }),
      })
    })
  }

  // Each parameter once, as a string: `?name=a&name=b` is a 400, not an array.
  const EXPLAIN_QUERY = {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(['name', 'type', 'url', 'client', 'ecs'].map(k => [k, { type: 'string', maxLength: 2048 }])),
  }
  f.get<{ Querystring: { name?: string, type?: string, url?: string, client?: string, ecs?: string } }>('/v1/explain', { schema: { querystring: EXPLAIN_QUERY } }, async (req, reply) => {
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

  if (hooks.metrics !== undefined) {
    const metrics = hooks.metrics
    f.get('/metrics', async (_req, reply) => {
      const m = await metrics()
      return reply.code(200).header('content-type', m.contentType).send(m.text)
    })
  }
  for (const add of hooks.extend ?? []) add(f)
  return f
}
