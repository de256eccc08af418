/**
 * `gslb explain`: why a client gets the DNS answer or the redirect it gets. It asks the front ends
 * themselves: a DNS query built for the client (with its ECS option) goes through the responder,
 * a request through the redirect app (fastify inject, from the client's address), so the answer
 * shown is the answer served. The responder and the redirect handler both call the one member
 * choice (core/choose.ts), whose steps and placement are collected on the way.
 */
import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Choice } from '../core/choose.js'
import type { Snapshot } from '../core/core.js'
import { familyOf, inFamily, type FamilyKey, type MemberView, type PoolView } from '../core/pool-view.js'
import { RCODE_NAME, TYPE } from '../dns/constants.js'
import { decodeMessage } from '../dns/decode.js'
import { encodeQuery } from '../dns/encode-query.js'
import type { ExplainSink } from '../dns/responder.js'
import { ErrorCode, GslbError } from '../errors.js'
import { parseCidr } from '../net/cidr.js'

/** What explain needs of a running (or offline) gslb. */
export interface ExplainTarget {
  readonly snapshot: () => Snapshot
  readonly dns: { explain: (msg: Buffer, client: string, sink: ExplainSink) => Buffer | undefined }
  /** The redirect app, when the configuration has listen.http. */
  readonly http: FastifyInstance | undefined
}

export interface ExplainQuery {
  /** A DNS name (with `type`), or a URL for a redirect. */
  readonly name?: string
  readonly type?: string
  readonly url?: string
  /** The client's address: the resolver for DNS, the peer for HTTP. */
  readonly client: string
  /** DNS: the ECS subnet the resolver sends for its client (198.51.100.0/24). */
  readonly ecs?: string
}

export interface MemberLine {
  readonly name: string
  readonly target: string
  readonly site: string | null
  readonly health: string
  readonly admin: string
  readonly eligible: boolean
  readonly why: string
}

export interface SiteLine { readonly site: string, readonly verdict: string, readonly members: readonly MemberLine[] }

export interface PoolPart {
  readonly pool: string
  readonly family: string
  readonly policy: string
  readonly served_by: string
  readonly mode: string
  readonly placement: {
    readonly by: string
    readonly rule: string | null
    readonly sites: readonly string[]
    readonly distances_km: readonly number[] | null
    readonly location: Record<string, unknown> | null
    readonly network_prefix: number | null
    readonly database: string | null
  } | null
  readonly sites: readonly SiteLine[]
  readonly members: readonly MemberLine[]
  readonly steps: readonly string[]
}

export interface DnsExplain {
  readonly kind: 'dns'
  readonly name: string
  readonly type: string
  readonly client: { readonly address: string, readonly ecs: string | null, readonly used: string | null, readonly source: string | null }
  readonly pool: PoolPart | null
  readonly answer: { readonly rcode: string, readonly records: ReadonlyArray<{ name: string, type: string, ttl: number, data: string }>, readonly ecs_scope: number | null }
}

export interface HttpExplain {
  readonly kind: 'http'
  readonly url: string
  readonly client: { readonly address: string }
  readonly answer: { readonly status: number, readonly location: string | null, readonly link: string | null, readonly served_by: string | null }
  /** The redirect app's own account (?mirrorlist): chosen, alternates, excluded with reasons, placement. */
  readonly why: Record<string, unknown> | null
}

export async function explain (target: ExplainTarget, q: ExplainQuery): Promise<DnsExplain | HttpExplain> {
  if (isIP(q.client) === 0) throw bad(`client must be an IP address: got "${q.client}"`)
  if (q.url !== undefined) return await explainUrl(target, q.url, q.client)
  if (q.name === undefined || q.name === '') throw bad('give a name (and type), or a url')
  return explainName(target, q.name, q.type ?? 'A', q.client, q.ecs)
}

function explainName (target: ExplainTarget, name: string, typeText: string, client: string, ecsText: string | undefined): DnsExplain {
  const type = TYPE[typeText.toUpperCase() as keyof typeof TYPE]
  if (type === undefined) throw bad(`unknown query type "${typeText}" (A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, CAA, PTR, ANY)`)
  let ecs: { family: 1 | 2, source: number, address: Uint8Array } | undefined
  if (ecsText !== undefined) {
    const cidr = parseCidr(ecsText)
    if (typeof cidr === 'string') throw bad(`ecs: ${cidr}`)
    ecs = { family: cidr.family === 4 ? 1 : 2, source: cidr.bits, address: cidr.bytes }
  }
  const sink: ExplainSink = { reasons: [] }
  const raw = target.dns.explain(encodeQuery({ name, type, ...(ecs === undefined ? {} : { ecs }) }), client, sink)
  if (raw === undefined) throw new GslbError(ErrorCode.INTERNAL, 'the responder sent nothing for the query')
  const m = decodeMessage(raw)
  const opt = m.opt?.options.find(o => o.code === 8)?.data
  const snapshot = target.snapshot()
  return {
    kind: 'dns',
    name,
    type: typeText.toUpperCase(),
    client: {
      address: client,
      ecs: ecsText ?? null,
      used: sink.client?.display ?? null,
      source: sink.client?.source ?? null,
    },
    pool: sink.choice === undefined || sink.pool === undefined || sink.family === undefined ? null : poolPart(snapshot, sink.pool, sink.family, sink.choice, sink.reasons),
    answer: {
      rcode: RCODE_NAME[m.rcode] ?? String(m.rcode),
      records: [...m.answer, ...m.authority].map(r => ({ name: r.name, type: r.typeName, ttl: r.ttl, data: r.data })),
      ecs_scope: opt === undefined ? null : opt[3] as number,
    },
  }
}

async function explainUrl (target: ExplainTarget, url: string, client: string): Promise<HttpExplain> {
  if (target.http === undefined) throw bad('this configuration has no redirect service (listen.http)')
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw bad(`url must be an absolute http(s) URL: got "${url}"`)
  }
  const path = `${u.pathname}${u.search}`
  const app = target.http
  const ask = async (p: string): Promise<{ statusCode: number, headers: Record<string, string | string[] | number | undefined>, body: string, json: () => Record<string, unknown> }> =>
    await app.inject({ method: 'GET', url: p, headers: { host: u.host }, remoteAddress: client })
  const res = await ask(path)
  const list = await ask(`${u.pathname}${u.search === '' ? '?' : `${u.search}&`}mirrorlist`)
  let why: Record<string, unknown> | null = null
  if (list.statusCode === 200) {
    try { why = list.json() } catch { why = null }
  }
  const header = (h: string | string[] | number | undefined): string | null => h === undefined ? null : String(h)
  return {
    kind: 'http',
    url,
    client: { address: client },
    answer: { status: res.statusCode, location: header(res.headers.location), link: header(res.headers.link), served_by: why === null ? null : String(why.served_by) },
    why: why ?? (res.statusCode >= 400 ? { error: safeJson(res.body) } : null),
  }
}

function poolPart (snapshot: Snapshot, poolName: string, family: FamilyKey, c: Choice, steps: readonly string[]): PoolPart {
  // The pool that placed the client and served: a fallback pool when the asked one fell back.
  const view: PoolView | undefined = c.pool
  const place = c.place
  const loc = place?.hit?.location
  const line = (m: MemberView): MemberLine => ({
    name: m.name,
    target: m.config.address ?? m.config.host ?? m.config.url ?? '',
    site: m.config.site ?? null,
    health: m.health,
    admin: m.force === undefined ? m.admin : `${m.admin}, forced ${m.force}`,
    eligible: m.eligible,
    why: m.why,
  })
  const members = (view?.members ?? []).filter(m => inFamily(m, family))
  const chosenAt = place === undefined || c.decision.site === undefined ? -1 : place.sites.indexOf(c.decision.site)
  const sites: SiteLine[] = place === undefined
    ? []
    : place.sites.map((site, i) => {
      const here = members.filter(m => m.config.site === site)
      const eligible = here.filter(m => m.eligible).length
      const verdict = i === chosenAt ? `serves (${eligible}/${here.length} eligible)` : chosenAt === -1 || i < chosenAt ? `skipped: ${eligible}/${here.length} eligible` : 'not needed'
      return { site, verdict, members: here.map(line) }
    })
  const d = view === undefined ? undefined : familyOf(view, family)
  return {
    pool: poolName,
    family: family === 4 ? 'IPv4' : family === 6 ? 'IPv6' : family === 'host' ? 'CNAME' : 'URL',
    policy: view === undefined ? '?' : view.config.policy === 'geo' || view.config.policy === 'nearest' ? `${view.config.policy}, within ${view.config.within}` : view.config.policy,
    served_by: c.decision.servedBy,
    mode: c.decision.mode,
    placement: place === undefined
      ? null
      : {
          by: place.by,
          rule: place.rule ?? null,
          sites: place.sites,
          distances_km: place.distancesKm ?? null,
          location: loc === undefined ? null : { ...loc },
          network_prefix: place.hit?.prefix ?? null,
          database: snapshot.geo?.description ?? null,
        },
    sites,
    members: place === undefined ? (d === undefined ? [] : members.map(line)) : [],
    steps,
  }
}

function bad (message: string): GslbError { return new GslbError(ErrorCode.BAD_REQUEST, message) }

function safeJson (body: string): unknown {
  try { return JSON.parse(body) } catch { return body }
}

