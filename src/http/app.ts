/**
 * The HTTP redirect service (fastify), built apart from listen() so tests use inject(). Each
 * request reads the core's snapshot once: route by Host and path prefix, take the route pool's
 * URL members that are eligible (never a down, drained or maint member, even when DNS fails open),
 * filter by scheme and address family, order them with the pool's policy, and answer with a
 * redirect to the first, `Link: rel=duplicate` for the next ones, or the fallback URL / 503.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { HttpOptions, RouteConfig } from '../config/model.js'
import type { Snapshot } from '../core/core.js'
import type { FamilyDecision, MemberView } from '../core/pool-view.js'
import { fnv1a, select, SelectionState, subnetHash } from '../core/select.js'
import type { Logger } from '../log.js'
import { clientOf, parseCidrs, type Cidr } from './client-address.js'
import { buildLocation, cleanQuery, normalizePath } from './location.js'
import { RouteTable } from './route-table.js'

export interface RedirectDeps {
  /** The current snapshot; read once per request (routes and trusted proxies come from its config). */
  readonly snapshot: () => Snapshot
  /** Server-level options fixed at start: the request log. */
  readonly http: HttpOptions
  readonly log?: Logger
}

interface Candidate { member: MemberView, url: string }
interface Seen { host: string | undefined, xff: string | undefined, proto: string | undefined }
const headersSeen = new WeakMap<object, Seen>()

export function buildRedirectApp (deps: RedirectDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.http.requestLog && deps.log !== undefined ? { loggerInstance: deps.log as FastifyBaseLogger } : {}),
    // research/reliability.md §a9: fastify's defaults leave slow clients too much time.
    connectionTimeout: 10_000,
    requestTimeout: 10_000,
    keepAliveTimeout: 5_000,
    maxRequestsPerSocket: 1_000,
    bodyLimit: 4_096,
    return503OnClosing: true,
    trustProxy: false,
    routerOptions: { maxParamLength: 100, ignoreDuplicateSlashes: false },
  })
  app.server.headersTimeout = 5_000
  const state = new SelectionState()
  // Routes and trusted proxies follow the snapshot's config, so a reload (SIGHUP) changes them.
  let tables = new WeakMap<object, { routes: RouteTable, trusted: Cidr[] }>()

  app.addHook('onRequest', (req, reply, done) => {
    // One pass over the raw headers: RFC 9112 §3.2 says a request with more than one Host header
    // is invalid; the values the handler needs are kept, so Node never builds req.headers.
    let hosts = 0
    const raw = req.raw.rawHeaders
    const seen: Seen = { host: undefined, xff: undefined, proto: undefined }
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string
      if (name.length === 4 && name.toLowerCase() === 'host') { hosts++; seen.host = raw[i + 1] }
      else if (name.length === 15 && name.toLowerCase() === 'x-forwarded-for') seen.xff = seen.xff === undefined ? raw[i + 1] : `${seen.xff},${raw[i + 1] as string}`
      else if (name.length === 17 && name.toLowerCase() === 'x-forwarded-proto') seen.proto ??= raw[i + 1]
    }
    if (hosts > 1) { void reply.code(400).send({ error: 'more than one Host header' }); return }
    headersSeen.set(req.raw, seen)
    // Absolute-form targets (GET http://evil/x) are refused rather than routed by their path.
    if ((req.raw.url ?? '').charCodeAt(0) !== 47) { void reply.code(400).send({ error: 'the request target must be a path' }); return }
    done()
  })
  // Candidates per (decision, route, https, IPv6): computed once per snapshot, not per request.
  const candidates = new WeakMap<FamilyDecision, Array<MemberView[] | undefined>>()
  const candidatesFor = (d: FamilyDecision, route: RouteConfig, index: number, https: boolean, v6: boolean): MemberView[] => {
    let byRoute = candidates.get(d)
    if (byRoute === undefined) { byRoute = []; candidates.set(d, byRoute) }
    const slot = index * 4 + (https ? 2 : 0) + (v6 ? 1 : 0)
    let list = byRoute[slot]
    if (list === undefined) { list = eligibleFor(d, route, https, v6, []); byRoute[slot] = list }
    return list
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const snap = deps.snapshot()
    let compiled = tables.get(snap.config)
    if (compiled === undefined) {
      tables = new WeakMap()
      compiled = { routes: new RouteTable(snap.config.redirects), trusted: parseCidrs(snap.config.http.trustedProxies) }
      tables.set(snap.config, compiled)
    }
    const { routes: table, trusted } = compiled
    const rawUrl = req.raw.url ?? '/'
    const q = rawUrl.indexOf('?')
    const norm = normalizePath(q === -1 ? rawUrl : rawUrl.slice(0, q))
    if (!norm.ok) return await reply.code(400).send({ error: norm.reason })
    const query = q === -1 ? undefined : cleanQuery(rawUrl.slice(q + 1))
    if (q !== -1 && query === undefined) return await reply.code(400).send({ error: 'the query has a bad percent-escape' })
    const seen = headersSeen.get(req.raw) ?? { host: undefined, xff: undefined, proto: undefined }
    const host = hostOf(seen.host)
    if (host === undefined) return await reply.code(400).send({ error: 'missing or invalid Host header' })
    const match = table.match(host, norm.path)
    if (match.kind === 'unknown-host') return await reply.code(421).send({ error: `no redirects for host ${host}` })
    if (match.kind === 'no-route') return await reply.code(404).send({ error: 'no redirect route for this path' })
    const route = match.route
    const view = snap.byName.get(route.pool)
    const decision = view?.url
    const client = clientOf(req.socket.remoteAddress, seen.xff, seen.proto, trusted)
    const v6 = client.address.includes(':')
    const members = decision === undefined ? [] : candidatesFor(decision, route, match.index, client.https, v6)
    const mirrorlist = query !== undefined && query.includes('mirrorlist') && /(^|&)mirrorlist(=[^&]*)?(&|$)/.test(query)
    const keptQuery = route.keepQuery && !mirrorlist ? query : undefined

    let ordered: Candidate[] = []
    if (decision !== undefined && members.length > 0) {
      const policy = view?.config.policy ?? 'round-robin'
      const st = state.get(decision, policy === 'hash')
      const chosen = select(members, {
        policy,
        answers: 1 + route.alternates,
        cursor: st.cursor++,
        clientHash: policy !== 'hash' ? 0 : route.affinity === 'path' ? fnv1a(norm.path) : subnetHash(client.address),
        balanceFactor: view?.config.hashBalanceFactor ?? 1.25,
        load: st.load,
      })
      ordered = chosen.map(m => ({ member: m, url: buildLocation(m.config.url as string, norm.path, route.path, keptQuery) }))
    }

    if (mirrorlist) {
      const excluded: Array<{ name: string, url: string | undefined, reason: string }> = []
      if (decision !== undefined) eligibleFor(decision, route, client.https, v6, excluded)
      for (const m of view?.members ?? []) {
        if (m.config.url !== undefined && decision?.members.includes(m) !== true) excluded.push({ name: m.name, url: m.config.url, reason: m.why })
      }
      return await reply.code(200).header('cache-control', 'no-cache').send({
        path: norm.path,
        pool: route.pool,
        served_by: decision?.servedBy ?? route.pool,
        chosen: ordered[0] === undefined ? null : { name: ordered[0].member.name, url: ordered[0].url },
        alternates: ordered.slice(1).map((c, i) => ({ name: c.member.name, url: c.url, pri: i + 1 })),
        excluded,
        reasons: decision?.reasons ?? [],
      })
    }
    const first = ordered[0]
    if (first === undefined) {
      if (route.debugHeaders) reply.header('x-gslb-pool', decision?.servedBy ?? route.pool)
      if (route.fallbackUrl !== undefined) {
        return await redirect(reply, route, buildLocation(route.fallbackUrl, norm.path, route.path, keptQuery), {})
      }
      return await reply.code(503).headers({ 'retry-after': String(route.retryAfterSec), 'cache-control': 'no-cache' })
        .send({ error: 'no healthy member can take this request', pool: route.pool })
    }
    const extra: Record<string, string> = {}
    if (ordered.length > 1) {
      let link = ''
      for (let i = 1; i < ordered.length; i++) link += `${i > 1 ? ', ' : ''}<${(ordered[i] as Candidate).url}>; rel=duplicate; pri=${i}`
      extra.link = link
    }
    if (route.debugHeaders) {
      extra['x-gslb-pool'] = decision?.servedBy ?? route.pool
      extra['x-gslb-member'] = first.member.name
    }
    return await redirect(reply, route, first.url, extra)
  }

  app.route({ method: ['GET', 'HEAD'], url: '/', handler })
  app.route({ method: ['GET', 'HEAD'], url: '/*', handler })
  return app
}

/**
 * The redirect itself, written straight to the Node response: one writeHead() with every header,
 * no body (clients follow Location; HAProxy sends none either). This skips fastify's generic
 * send pipeline (serialisers, onSend hooks), which costs more than the whole decision; routing,
 * timeouts, body limits and error replies stay fastify's. Header values are built only from
 * configured URLs and normalised, percent-encoded paths, so they hold no CR, LF or NUL.
 */
async function redirect (reply: FastifyReply, route: RouteConfig, location: string, extra: Record<string, string>): Promise<FastifyReply> {
  extra.location = location
  extra['content-length'] = '0'
  if (route.cacheControl !== undefined) extra['cache-control'] = route.cacheControl
  reply.hijack()
  const res = reply.raw
  res.writeHead(route.status, extra)
  res.end()
  return reply
}

/**
 * The members a request may be sent to: eligible (never down, drained, in maint or forced down,
 * even when the pool's DNS decision fails open), with an https URL for an https request unless the
 * route allows a downgrade, and with IPv6 for an IPv6 client when the route asks for it.
 */
function eligibleFor (d: FamilyDecision, route: RouteConfig, https: boolean, v6: boolean,
  excluded: Array<{ name: string, url: string | undefined, reason: string }>): MemberView[] {
  const out: MemberView[] = []
  for (const m of d.members) {
    const url = m.config.url as string
    if (!m.eligible) { excluded.push({ name: m.name, url, reason: m.why }); continue }
    if (https && !route.allowDowngrade && !url.startsWith('https:')) { excluded.push({ name: m.name, url, reason: 'http only; the request came over https' }); continue }
    if (route.matchFamily && v6 && !m.config.urlIpv6) { excluded.push({ name: m.name, url, reason: 'no IPv6; the client uses IPv6' }); continue }
    out.push(m)
  }
  return out
}

/** The Host header as a lowercase name without port or trailing dot; IP literals and junk → undefined. */
function hostOf (header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header.startsWith('[')) return undefined
  const colon = header.indexOf(':')
  let h = (colon === -1 ? header : header.slice(0, colon)).toLowerCase()
  if (h.endsWith('.')) h = h.slice(0, -1)
  return /^[a-z0-9_.-]+$/.test(h) ? h : undefined
}
