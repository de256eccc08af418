/**
 * The HTTP redirect service (fastify), built apart from listen() so tests use inject(). Each
 * request reads the core's snapshot once: route by Host and path prefix, take the route pool's
 * URL members that are eligible (never a down, drained or maint member, even when DNS fails open),
 * filter by scheme and address family, order them with the pool's policy, and answer with a
 * redirect to the first, `Link: rel=duplicate` for the next ones, or the fallback URL / 503.
 */
import type { Server } from 'node:http'
import { Socket } from 'node:net'
import Fastify, { type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { HttpOptions, RouteConfig } from '../config/model.js'
import { choose, dependsOnClient, type CandidateFilter, type Choice } from '../core/choose.js'
import { ClientAddress } from '../core/client.js'
import type { Snapshot } from '../core/core.js'
import { distanceKm } from '../core/geo.js'
import type { FamilyDecision, MemberView, PoolView } from '../core/pool-view.js'
import { fnv1a, SelectionState } from '../core/select.js'
import type { Logger } from '../log.js'
import { clientOf, parseCidrs, type Cidr, type HttpClient } from './client-address.js'
import { cleanQuery, normalizePath, pathTail } from './location.js'
import { RouteTable } from './route-table.js'
import type { HttpStats } from './stats.js'
import { guardWriteStalls } from './write-stall.js'

export interface RedirectDeps {
  /** The current snapshot; read once per request (routes and trusted proxies come from its config). */
  readonly snapshot: () => Snapshot
  /** Server-level options fixed at start: the request log. */
  readonly http: HttpOptions
  readonly log?: Logger
  /** Connection limits; the defaults suit production, tests shrink them. */
  readonly limits?: Partial<ServerLimits>
  /** Where responses are counted for metrics; none: nothing counted. */
  readonly stats?: HttpStats
}

/** Timeouts and sizes of the HTTP server (docs/redirects.md#limits). */
export interface ServerLimits {
  /** A connection whose response data has not drained for this long is closed (write-stall.ts). */
  readonly writeStallMs: number
  /** The whole request must arrive within this. */
  readonly requestTimeoutMs: number
  /** The headers must arrive within this (slowloris). */
  readonly headersTimeoutMs: number
  /** How often Node checks the two above, and the write-stall guard its connections; Node's default (30 s) lets a slow client live ~90 s. */
  readonly checkIntervalMs: number
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number
  /**
   * A keep-alive connection is closed after this many requests, so long-lived connections spread
   * again over `--workers` processes and nodes. Not lower: each reconnect costs the busy client a
   * round trip and the server an accept (at 1000, about 4% of throughput in bench/http).
   */
  readonly maxRequestsPerSocket: number
  readonly maxHeaderBytes: number
  readonly bodyLimitBytes: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  writeStallMs: 10_000,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 10_000,
  maxHeaderBytes: 8_192,
  bodyLimitBytes: 4_096,
}

/** What one snapshot fixes for a route: its pool, whether the choice needs the client, and what is built per choice. */
interface RouteState {
  readonly view: PoolView | undefined
  /**
   * Whether the decision depends on who the client is: trusted proxies (X-Forwarded-*), IPv6
   * matching, geo placement, or the hash policy on the client's subnet. When not, the peer
   * address is not read.
   */
  readonly needsClient: boolean
  /** Whether choose() needs the client's address (geo placement, hashing on the client). */
  readonly needsAddress: boolean
  /** The four candidate filters, by `https * 2 + ipv6`. */
  readonly filters: readonly CandidateFilter[]
  /** For the rotating policies: the redirect built per decision, filter and starting member, on first use. */
  readonly frames: Map<FamilyDecision, Array<Array<Frame | undefined> | undefined>>
  /** The route's number in the response counters. */
  readonly slot: number
}

/**
 * A redirect without its path: the members in answer order, the first one's base URL and the
 * `Link` header cut where the path goes (see linkOf). With the snapshot fixed, a rotating policy
 * has one frame per starting member, so a request only appends its path.
 */
interface Frame {
  readonly ordered: readonly MemberView[]
  readonly location: string
  readonly link: readonly string[]
}

/** The per-snapshot state the handler needs, rebuilt when the core publishes a new snapshot. */
interface Compiled {
  readonly snap: Snapshot
  readonly routes: RouteTable
  readonly trusted: Cidr[]
  readonly states: RouteState[]
}

/** The request headers the handler reads, taken in one pass over the raw header list. */
interface Seen { hosts: number, host: string | undefined, xff: string | undefined, proto: string | undefined, forwarded: string | undefined }

export function buildRedirectApp (deps: RedirectDeps): FastifyInstance {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits }
  const app = Fastify({
    ...(deps.http.requestLog && deps.log !== undefined ? { loggerInstance: deps.log as FastifyBaseLogger } : {}),
    ...serverOptions(limits),
  })
  guardWriteStalls(app.server, limits.writeStallMs, limits.checkIntervalMs, socket => {
    deps.log?.debug({ client: socket.remoteAddress }, 'closed a connection whose responses were not being read')
  })
  const handler = redirectHandler(deps)
  app.route({ method: ['GET', 'HEAD'], url: '/', handler })
  app.route({ method: ['GET', 'HEAD'], url: '/*', handler })
  return app
}

/**
 * fastify's server options for the redirect service (also used by bench/http/floor-fastify.mjs).
 * fastify's defaults leave slow clients too much time (docs/redirects.md#limits).
 */
export function serverOptions (limits: ServerLimits): FastifyHttpOptions<Server> {
  return {
    // No socket inactivity timeout: Node re-arms it twice per request; guardWriteStalls() covers
    // the one state the timeouts below leave open (a client that does not read its answers).
    connectionTimeout: 0,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    bodyLimit: limits.bodyLimitBytes,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
    return503OnClosing: true,
    trustProxy: false,
    routerOptions: { maxParamLength: 100, ignoreDuplicateSlashes: false },
  }
}

/**
 * The route handler behind every GET and HEAD. It is synchronous: a redirect is decided and
 * written in one call, with no promise for fastify to wait on.
 */
export function redirectHandler (deps: RedirectDeps): (req: FastifyRequest, reply: FastifyReply) => void {
  const selection = new SelectionState()
  const stats = deps.stats
  /** Count an answer given before a route matched. */
  const early = (status: number): void => { stats?.count(stats.noRoute, status) }
  let compiled: Compiled | undefined
  let lastHeader: string | undefined
  let lastHost: string | undefined
  // Routes and trusted proxies follow the snapshot's config, so a reload (SIGHUP) changes them;
  // pool decisions follow the snapshot, so a health change does.
  const compile = (snap: Snapshot): Compiled => {
    const sameConfig = compiled !== undefined && compiled.snap.config === snap.config
    const routes = sameConfig ? (compiled as Compiled).routes : new RouteTable(snap.config.redirects)
    const trusted = sameConfig ? (compiled as Compiled).trusted : parseCidrs(snap.config.http.trustedProxies)
    const states = snap.config.redirects.map((route, index): RouteState => {
      const view = snap.byName.get(route.pool)
      const needsAddress = view !== undefined && (view.geo !== undefined || view.clientFallback || (dependsOnClient(view) && route.affinity === 'client'))
      return {
        view,
        needsClient: trusted.length > 0 || route.matchFamily || needsAddress,
        needsAddress,
        // Keys are unique per route: two routes to one pool may filter differently (allow_downgrade).
        filters: [0, 1, 2, 3].map(slot => ({ key: index * 4 + slot, keep: (m: MemberView) => redirectable(m, route, slot >= 2, (slot & 1) === 1) === undefined })),
        frames: new Map(),
        slot: stats?.routeSlot(route) ?? -1,
      }
    })
    compiled = { snap, routes, trusted, states }
    return compiled
  }

  return (req: FastifyRequest, reply: FastifyReply): void => {
    const snap = deps.snapshot()
    const { routes, trusted, states } = compiled?.snap === snap ? compiled : compile(snap)
    const seen = readHeaders(req.raw.rawHeaders)
    // RFC 9112 §3.2: a request with more than one Host header is invalid.
    if (seen.hosts > 1) { early(400); return void reply.code(400).send({ error: 'more than one Host header' }) }
    const rawUrl = req.raw.url ?? '/'
    const q = rawUrl.indexOf('?')
    // normalizePath refuses absolute-form targets (GET http://evil/x) rather than routing by their path.
    const norm = normalizePath(rawUrl, q === -1 ? rawUrl.length : q)
    if (!norm.ok) { early(400); return void reply.code(400).send({ error: norm.reason }) }
    const query = q === -1 ? undefined : cleanQuery(rawUrl.slice(q + 1))
    if (q !== -1 && query === undefined) { early(400); return void reply.code(400).send({ error: 'the query has a bad percent-escape' }) }
    // Most requests repeat the last Host header: comparing it is cheaper than parsing it again
    // (the route table keeps its own last host, which saves its Map lookup: about 40 ns).
    let host: string | undefined
    if (seen.host === lastHeader && seen.host !== undefined) host = lastHost
    else {
      host = hostOf(seen.host)
      lastHeader = seen.host
      lastHost = host
    }
    if (host === undefined) { early(400); return void reply.code(400).send({ error: 'missing or invalid Host header' }) }
    const match = routes.match(host, norm.path)
    if (match.kind === 'unknown-host') { early(421); return void reply.code(421).send({ error: `no redirects for host ${host}` }) }
    if (match.kind === 'no-route') { early(404); return void reply.code(404).send({ error: 'no redirect route for this path' }) }
    const route = match.route
    const state = states[match.index] as RouteState
    const view = state.view
    const client = state.needsClient ? clientOf(req.raw.socket.remoteAddress, seen.xff, seen.proto, seen.forwarded, trusted, snap.config.http.clientHeader) : ANY_CLIENT
    const v6 = client.address.includes(':')
    const mirrorlist = query !== undefined && query.includes('mirrorlist') && /(^|&)mirrorlist(=[^&]*)?(&|$)/.test(query)
    // What every target URL ends with: the path under the route prefix and the kept query.
    const tail = pathTail(norm.path, route.path, route.keepQuery && !mirrorlist ? query : undefined)

    let choice: Choice | undefined
    let frame: Frame | undefined
    if (view !== undefined) {
      const slot = (client.https ? 2 : 0) + (v6 ? 1 : 0)
      const address = state.needsAddress ? ClientAddress.fromText(client.address, client.source) : undefined
      choice = choose(snap, view, 'url', address, selection, {
        answers: 1 + route.alternates,
        filter: state.filters[slot] as CandidateFilter,
        spill: true,
        ...(route.affinity === 'path' ? { hash: fnv1a(norm.path) } : {}),
      })
      if (choice.members.length > 0) {
        if (choice.start >= 0) {
          let byDecision = state.frames.get(choice.decision)
          if (byDecision === undefined) state.frames.set(choice.decision, byDecision = [])
          const frames = byDecision[slot] ??= []
          frame = frames[choice.start] ??= frameOf(choice.members)
        } else {
          frame = frameOf(choice.members)
        }
      }
    }
    const ordered = frame?.ordered ?? []
    const decision = choice?.decision

    // gslb explain asks through inject(), whose socket is not a net.Socket: its asking is not traffic.
    const counted = stats !== undefined && req.raw.socket instanceof Socket ? stats : undefined
    if (mirrorlist) {
      counted?.count(state.slot, 200)
      return void reply.code(200).header('cache-control', 'no-cache').send(mirrorList(snap, route, norm.path, tail, view, choice, ordered, client))
    }
    const first = ordered[0]
    if (frame === undefined || first === undefined) {
      const pool = decision?.servedBy ?? route.pool
      // redirect() writes the raw response: headers set on `reply` would be lost there.
      if (route.fallbackUrl !== undefined) {
        counted?.count(state.slot, route.status)
        return redirect(reply, route, route.fallbackUrl + tail, undefined, pool, undefined)
      }
      counted?.count(state.slot, 503)
      if (route.debugHeaders) reply.header('x-gslb-pool', pool)
      return void reply.code(503).headers({ 'retry-after': String(route.retryAfterSec), 'cache-control': 'no-cache' })
        .send({ error: 'no healthy member can take this request', pool: route.pool })
    }
    if (counted !== undefined) {
      counted.count(state.slot, route.status)
      counted.memberRedirects.add(first.slot)
    }
    redirect(reply, route, frame.location + tail, linkOf(frame.link, tail), decision?.servedBy ?? route.pool, first.name)
  }
}

/**
 * The frame of a redirect to `ordered[0]` with the rest as alternates. The Link header is kept as
 * the pieces between the paths: `<url1` + path + `>; rel=duplicate; pri=1, <url2` + path + … +
 * `>; rel=duplicate; pri=N`.
 */
function frameOf (ordered: readonly MemberView[]): Frame {
  const link: string[] = []
  for (let i = 1; i < ordered.length; i++) {
    link.push(`${i === 1 ? '' : `>; rel=duplicate; pri=${i - 1}, `}<${urlOf(ordered[i] as MemberView)}`)
  }
  if (link.length > 0) link.push(`>; rel=duplicate; pri=${link.length}`)
  return { ordered, location: ordered.length > 0 ? urlOf(ordered[0] as MemberView) : '', link }
}

/** The Link header of a frame for a request whose URLs end in `tail`; undefined without alternates. */
function linkOf (pieces: readonly string[], tail: string): string | undefined {
  const last = pieces.length - 1
  if (last < 1) return undefined
  let link = (pieces[0] as string) + tail
  for (let i = 1; i < last; i++) link += (pieces[i] as string) + tail
  return link + (pieces[last] as string)
}

/** Stands for the client when the decision does not depend on it. */
const ANY_CLIENT: HttpClient = { address: '', https: false, source: 'peer' }

/** A URL member's base URL (ending in "/"); the members the handler sees all have one. */
function urlOf (m: MemberView): string {
  return m.config.url as string
}

/** One pass over the raw headers, so Node never builds `req.headers` for a redirect. */
function readHeaders (raw: readonly string[]): Seen {
  const seen: Seen = { hosts: 0, host: undefined, xff: undefined, proto: undefined, forwarded: undefined }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4) {
      if (equalsLower(name, 'host')) { seen.hosts++; seen.host = raw[i + 1] }
    } else if (name.length === 9) {
      if (equalsLower(name, 'forwarded')) seen.forwarded = seen.forwarded === undefined ? raw[i + 1] : `${seen.forwarded},${raw[i + 1] as string}`
    } else if (name.length === 15) {
      if (equalsLower(name, 'x-forwarded-for')) seen.xff = seen.xff === undefined ? raw[i + 1] : `${seen.xff},${raw[i + 1] as string}`
    } else if (name.length === 17) {
      if (equalsLower(name, 'x-forwarded-proto')) seen.proto = seen.proto === undefined ? raw[i + 1] : `${seen.proto},${raw[i + 1] as string}`
    }
  }
  return seen
}

/** `name` equals `lower` (lowercase ASCII) ignoring ASCII case, without allocating. */
function equalsLower (name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i)
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

/**
 * The redirect itself, written straight to the Node response: one writeHead() with every header,
 * no body (clients follow Location; HAProxy sends none either). This skips fastify's generic
 * send pipeline (serialisers, onSend hooks), which costs more than the whole decision; routing,
 * timeouts, body limits and error replies stay fastify's. Header values are built only from
 * configured URLs and normalised, percent-encoded paths, so they hold no CR, LF or NUL.
 */
function redirect (reply: FastifyReply, route: RouteConfig, location: string, link: string | undefined,
  pool: string, member: string | undefined): void {
  // One object literal per combination, so every redirect's headers have the same few shapes.
  const cc = route.cacheControl
  const headers: Record<string, string> = link === undefined
    ? (cc === undefined ? { location, 'content-length': '0' } : { location, 'content-length': '0', 'cache-control': cc })
    : (cc === undefined ? { location, link, 'content-length': '0' } : { location, link, 'content-length': '0', 'cache-control': cc })
  if (route.debugHeaders) {
    headers['x-gslb-pool'] = pool
    if (member !== undefined) headers['x-gslb-member'] = member
  }
  reply.hijack()
  const res = reply.raw
  res.writeHead(route.status, headers)
  res.end()
}

/**
 * Why a member of the chosen set may not take this request: an https request needs an https URL
 * unless the route allows a downgrade; an IPv6 client needs IPv6 when the route asks for it.
 * (Eligibility is the decision's: never down, drained, in maint or forced down.)
 */
function redirectable (m: MemberView, route: RouteConfig, https: boolean, v6: boolean): string | undefined {
  if (!m.eligible) return m.why
  if (https && !route.allowDowngrade && !(m.config.url as string).startsWith('https:')) return 'http only; the request came over https'
  if (route.matchFamily && v6 && !m.config.urlIpv6) return 'no IPv6; the client uses IPv6'
  return undefined
}

/** The `?mirrorlist` answer: the choice, the alternates, and every other member with why it was left out. */
function mirrorList (snap: Snapshot, route: RouteConfig, path: string, tail: string, view: PoolView | undefined,
  choice: Choice | undefined, ordered: readonly MemberView[], client: { address: string, https: boolean }): Record<string, unknown> {
  const sites = new Map(snap.config.sites.map(s => [s.name, s]))
  const loc = choice?.place?.hit?.location
  const where = (m: MemberView): Record<string, unknown> => {
    const site = m.config.site === undefined ? undefined : sites.get(m.config.site)
    const km = loc?.lat !== undefined && loc.lon !== undefined && site?.lat !== undefined && site.lon !== undefined ? Math.round(distanceKm(loc.lat, loc.lon, site.lat, site.lon)) : undefined
    return { site: m.config.site ?? null, country: site?.country ?? null, ...(km === undefined ? {} : { distance_km: km }) }
  }
  const v6 = client.address.includes(':')
  const excluded: Array<Record<string, unknown>> = []
  for (const m of view?.members ?? []) {
    if (m.config.url === undefined || choice?.candidates.includes(m) === true || ordered.includes(m)) continue
    const chosenSet = choice?.decision.members.includes(m) === true
    const reason = chosenSet
      ? redirectable(m, route, client.https, v6) ?? 'not chosen'
      : !m.eligible ? m.why
          : choice?.decision.site !== undefined && m.config.site !== choice.decision.site ? `site ${m.config.site ?? '?'}: the client's site is ${choice.decision.site}`
            : choice?.decision.servedBy !== view?.name ? `served by fallback pool ${choice?.decision.servedBy ?? '?'}` : 'not chosen'
    excluded.push({ name: m.name, url: m.config.url, ...where(m), reason })
  }
  const chosen = ordered[0]
  return {
    path,
    pool: route.pool,
    served_by: choice?.decision.servedBy ?? route.pool,
    ...(choice?.place === undefined ? {} : { client: { address: client.address, location: loc ?? null, sites: choice.place.sites, by: choice.place.by } }),
    chosen: chosen === undefined ? null : { name: chosen.name, url: urlOf(chosen) + tail, ...where(chosen) },
    alternates: ordered.slice(1).map((m, i) => ({ name: m.name, url: urlOf(m) + tail, pri: i + 1, ...where(m) })),
    excluded,
    reasons: choice?.decision.reasons ?? [],
  }
}

/** The Host header as a lowercase name without port or trailing dot; IP literals and junk → undefined. */
function hostOf (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  let end = header.indexOf(':')
  if (end === -1) end = header.length
  if (end > 0 && header.charCodeAt(end - 1) === 46) end-- // trailing "."
  if (end === 0) return undefined
  let upper = false
  for (let i = 0; i < end; i++) {
    const c = header.charCodeAt(i)
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95) continue // a-z 0-9 - . _
    if (c >= 65 && c <= 90) { upper = true; continue }
    return undefined
  }
  const h = end === header.length ? header : header.slice(0, end)
  return upper ? h.toLowerCase() : h
}
