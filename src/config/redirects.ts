/**
 * Reads `redirects` (routes of the HTTP redirect service) and `http` (its options) from gslb.yaml.
 * See docs/redirects.md for every key, its default and the reason for it.
 */
import { ErrorCode } from '../errors.js'
import { parseCidr } from '../net/cidr.js'
import type { HttpOptions, PoolConfig, RedirectStatus, RouteConfig } from './model.js'
import { parseAbsoluteName } from './names.js'
import { readBaseUrl } from './pools.js'
import { join, type Source, type YNode } from './source.js'

const STATUSES: readonly RedirectStatus[] = [301, 302, 303, 307, 308]

export function readHttpOptions (src: Source, node: YNode, present: boolean): HttpOptions | undefined {
  if (!present) return { trustedProxies: [], clientHeader: 'x-forwarded-for', requestLog: false }
  const f = src.map(node, 'http', ['trusted_proxies', 'client_header', 'request_log'])
  if (f === undefined) return undefined
  const proxies: string[] = []
  for (const item of f.has('trusted_proxies') ? src.list(f.get('trusted_proxies'), f.at('trusted_proxies')) ?? [] : []) {
    const text = src.string(item.node, item.path)
    if (text === undefined) continue
    const cidr = parseCidr(text)
    if (typeof cidr === 'string') { src.error(item.node, item.path, ErrorCode.ADDRESS, cidr); continue }
    proxies.push(cidr.text)
  }
  const requestLog = f.has('request_log') ? src.boolean(f.get('request_log'), f.at('request_log')) : false
  const clientHeader = f.has('client_header') ? src.oneOf(f.get('client_header'), f.at('client_header'), ['x-forwarded-for', 'forwarded'] as const) : 'x-forwarded-for'
  return requestLog === undefined || clientHeader === undefined ? undefined : { trustedProxies: proxies, clientHeader, requestLog }
}

export function readRedirects (src: Source, node: YNode, pools: readonly PoolConfig[]): RouteConfig[] {
  const out: RouteConfig[] = []
  const byName = new Map(pools.map(p => [p.name, p]))
  for (const item of src.list(node, 'redirects', false) ?? []) {
    const f = src.map(item.node, item.path, ['host', 'path', 'pool', 'status', 'keep_query', 'cache_control', 'alternates', 'affinity',
      'match_family', 'allow_downgrade', 'fallback_url', 'retry_after', 'debug_headers'])
    if (f === undefined) continue
    const hosts: string[] = []
    for (const h of src.list(f.require('host'), f.at('host')) ?? []) {
      const text = src.string(h.node, h.path)
      if (text === undefined) continue
      const r = parseAbsoluteName(text, true)
      if (!r.ok || r.name === '') src.error(h.node, h.path, ErrorCode.NAME, `invalid host "${text}"${r.ok ? '' : `: ${r.reason}`}`)
      else hosts.push(r.name)
    }
    let path = f.has('path') ? src.string(f.get('path'), f.at('path')) : '/'
    if (path !== undefined && (!path.startsWith('/') || /[?#\\\s%]|\/\.\.?(\/|$)/.test(path))) {
      src.error(f.get('path'), f.at('path'), ErrorCode.VALUE, `must be a path prefix starting with "/", without "?", "#", "%", "\\", spaces or dot segments: got "${path}"`)
      path = undefined
    }
    if (path !== undefined && !path.endsWith('/')) path = `${path}/`
    const poolName = src.string(f.require('pool'), f.at('pool'))
    const pool = poolName === undefined ? undefined : byName.get(poolName)
    if (poolName !== undefined && pool === undefined) {
      src.error(f.get('pool'), f.at('pool'), ErrorCode.REF, `no pool named "${poolName}" (defined: ${[...byName.keys()].join(', ') || 'none'})`)
    } else if (pool !== undefined && !pool.members.some(m => m.url !== undefined)) {
      src.error(f.get('pool'), f.at('pool'), ErrorCode.REF, `pool "${pool.name}" has no member with a url to redirect to`)
    }
    let status: RedirectStatus | undefined = 302
    if (f.has('status')) {
      const n = src.integer(f.get('status'), f.at('status'), 300, 399)
      if (n !== undefined && !STATUSES.includes(n as RedirectStatus)) src.error(f.get('status'), f.at('status'), ErrorCode.VALUE, `must be one of ${STATUSES.join(', ')}: got ${n}`)
      status = STATUSES.includes(n as RedirectStatus) ? n as RedirectStatus : undefined
    }
    const bool = (k: string, d: boolean): boolean => f.has(k) ? src.boolean(f.get(k), f.at(k)) ?? d : d
    const cacheControl = f.has('cache_control') ? src.string(f.get('cache_control'), f.at('cache_control')) : undefined
    if (cacheControl !== undefined && /[\r\n]/.test(cacheControl)) src.error(f.get('cache_control'), f.at('cache_control'), ErrorCode.VALUE, 'must be one line')
    // Read every field before deciding to skip the route, so each bad field is reported.
    const rest = {
      keepQuery: bool('keep_query', true),
      alternates: f.has('alternates') ? src.integer(f.get('alternates'), f.at('alternates'), 0, 10) ?? 3 : 3,
      affinity: f.has('affinity') ? src.oneOf(f.get('affinity'), f.at('affinity'), ['client', 'path'] as const) ?? 'client' : 'client',
      matchFamily: bool('match_family', false),
      allowDowngrade: bool('allow_downgrade', false),
      fallbackUrl: f.has('fallback_url') ? readBaseUrl(src, f.get('fallback_url'), f.at('fallback_url')) : undefined,
      retryAfterSec: f.has('retry_after') ? (src.duration(f.get('retry_after'), f.at('retry_after'), 1000, 86_400_000) ?? 30_000) / 1000 : 30,
      debugHeaders: bool('debug_headers', false),
    }
    const at = src.position(item.node)
    if (path === undefined || poolName === undefined || status === undefined || hosts.length === 0) continue
    out.push({
      hosts,
      path,
      pool: poolName,
      status,
      cacheControl: cacheControl ?? (status === 301 || status === 308 ? undefined : 'no-cache'),
      ...rest,
      file: src.file,
      line: at.line,
      col: at.col,
    })
  }
  // Two routes for the same host and path would make one of them dead.
  const seen = new Map<string, RouteConfig>()
  for (const r of out) {
    for (const h of r.hosts) {
      const key = `${h} ${r.path}`
      const first = seen.get(key)
      if (first !== undefined) {
        src.issues.push({ file: r.file, line: r.line, col: r.col, path: join('redirects', ''), code: ErrorCode.VALUE, message: `host ${h} path ${r.path} is already routed at line ${first.line}` })
      }
      seen.set(key, r)
    }
  }
  return out
}
