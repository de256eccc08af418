/**
 * The admin API (fastify) on `listen.admin`: health and admin state of every member, both shown,
 * and setting drain/maint/force with an optional expiry while the server runs. Plain JSON over
 * HTTP without authentication: bind it to loopback or a management network only.
 *
 *   GET  /v1/ready                       200 once the first round of checks is done, else 503
 *   GET  /v1/pools                       pools, members (health + admin) and per-family decisions
 *   PUT  /v1/members/:pool/:member/admin {state, force, expires, note}
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Gslb } from '../app.js'
import type { ListenAddress } from '../config/model.js'
import type { AdminState, Force } from '../core/admin-state.js'
import type { FamilyDecision, MemberView, PoolView } from '../core/pool-view.js'
import type { BoundAddress } from '../dns/server.js'
import type { Logger } from '../log.js'

export function buildAdminApp (app: Pick<Gslb, 'core'>): FastifyInstance {
  const f = Fastify({ logger: false, bodyLimit: 4096, connectionTimeout: 10_000, requestTimeout: 10_000, keepAliveTimeout: 5_000 })

  f.get('/v1/ready', async (_req, reply) => {
    const ready = app.core.snapshot.ready
    return reply.code(ready ? 200 : 503).send({ ready })
  })

  f.get('/v1/pools', async () => {
    const s = app.core.snapshot
    return { version: s.version, published_at: new Date(s.publishedAt).toISOString(), ready: s.ready, pools: s.pools.map(poolJson) }
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
        expiresAt = parseExpiry(b.expires, Date.now())
        if (expiresAt === undefined) return reply.code(400).send({ error: `expires must be a duration (30s, 10m, 2h) or an ISO time: got "${b.expires}"` })
      }
      const current = app.core.admin.get(key)
      try {
        const entry = await app.core.setAdmin(key, {
          state: b.state ?? current?.state ?? 'ready',
          force: b.force === 'none' ? undefined : b.force ?? current?.force,
          expiresAt,
          note: b.note,
        })
        return { member: key, state: entry.state, force: entry.force ?? null, expires_at: entry.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString() }
      } catch (err) {
        return reply.code(404).send({ error: (err as Error).message })
      }
    },
  )
  return f
}

export function parseExpiry (text: string, now: number): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text)
  if (m !== null) return now + Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's']
  const t = Date.parse(text)
  return Number.isNaN(t) || t <= now ? undefined : t
}

function memberJson (m: MemberView): Record<string, unknown> {
  return {
    name: m.name,
    ...(m.config.address === undefined ? (m.config.host === undefined ? {} : { host: m.config.host }) : { address: m.config.address }),
    ...(m.config.url === undefined ? {} : { url: m.config.url }),
    site: m.config.site ?? null,
    eligible: m.eligible,
    why: m.why,
    health: m.health,
    health_reason: m.healthReason,
    check: m.checkKey ?? null,
    admin: m.admin,
    admin_source: m.adminSource,
    force: m.force ?? null,
    weight: m.weight,
    configured_weight: m.config.weight,
  }
}

function decisionJson (d: FamilyDecision): Record<string, unknown> {
  return { kind: d.kind, members: d.members.map(m => m.name), degraded: d.degraded, ttl: d.ttl, served_by: d.servedBy, reasons: d.reasons }
}

function poolJson (p: PoolView): Record<string, unknown> {
  return { name: p.name, policy: p.config.policy, members: p.members.map(memberJson), ipv4: decisionJson(p.v4), ipv6: decisionJson(p.v6), host: decisionJson(p.host), url: decisionJson(p.url) }
}

export class AdminServer {
  readonly #app: FastifyInstance
  readonly #listen: ListenAddress
  readonly #log: Logger

  constructor (app: Pick<Gslb, 'core'>, listen: ListenAddress, log: Logger) {
    this.#app = buildAdminApp(app)
    this.#listen = listen
    this.#log = log
  }

  async start (): Promise<BoundAddress> {
    await this.#app.listen({ host: this.#listen.host, port: this.#listen.port })
    const a = this.#app.server.address() as { address: string, port: number }
    this.#log.info({ listener: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` }, 'admin API listening')
    return { proto: 'tcp', host: a.address, port: a.port }
  }

  async close (): Promise<void> { await this.#app.close() }
}
