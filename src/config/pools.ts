/**
 * Reads the `pools` and `health` sections of gslb.yaml (checks: checks.ts, sites: sites.ts).
 * Defaults live here and are documented in docs/health.md and docs/policies.md with the reasons.
 */
import { isIP, isIPv4 } from 'node:net'
import { isMap, isScalar } from 'yaml'
import { ErrorCode } from '../errors.js'
import { DEFAULT_CHECK_PORT } from './checks.js'
import { readPoolGeo } from './geo.js'
import type { CheckConfig, HealthOptions, MemberConfig, OnInsufficient, Policy, PoolConfig, SiteConfig } from './model.js'
import { parseAbsoluteName } from './names.js'
import { allRead, describe, join, type Fields, type Source, type YNode } from './source.js'

export const HEALTH_DEFAULTS: HealthOptions = {
  initialState: 'up',
  startupWaitMs: 10_000,
  coalesceMs: 250,
  maxInFlight: 1000,
  stateFile: 'var/gslb-state.json',
}

const POLICIES: readonly Policy[] = ['round-robin', 'weighted', 'failover', 'hash', 'first', 'geo', 'nearest']

export function readHealth (src: Source, node: YNode, present: boolean): HealthOptions | undefined {
  if (!present) return HEALTH_DEFAULTS
  const f = src.map(node, 'health', ['initial_state', 'startup_wait', 'coalesce', 'max_in_flight', 'state_file'])
  if (f === undefined) return undefined
  const d = HEALTH_DEFAULTS
  const out = {
    initialState: f.opt('initial_state', (n, p) => src.oneOf(n, p, ['up', 'down'] as const), d.initialState),
    startupWaitMs: f.opt('startup_wait', (n, p) => src.duration(n, p, 0, 600_000), d.startupWaitMs),
    coalesceMs: f.opt('coalesce', (n, p) => src.duration(n, p, 0, 60_000), d.coalesceMs),
    maxInFlight: f.opt('max_in_flight', (n, p) => src.integer(n, p, 1, 100_000), d.maxInFlight),
    stateFile: f.opt('state_file', (n, p) => src.string(n, p), d.stateFile),
  }
  return allRead<HealthOptions>(out)
}

export function readPools (src: Source, node: YNode, checks: ReadonlyMap<string, CheckConfig>, sites: ReadonlyMap<string, SiteConfig> = new Map()): PoolConfig[] {
  const out: PoolConfig[] = []
  const fallbackNodes = new Map<string, YNode>()
  for (const { key, keyNode, value } of src.entries(node, 'pools') ?? []) {
    const path = join('pools', key)
    if (!/^[A-Za-z0-9_-]{1,63}$/.test(key)) src.error(keyNode, path, ErrorCode.NAME, `pool names may hold letters, digits, "-" and "_": got "${key}"`)
    const f = src.map(value, path, ['check', 'policy', 'within', 'geo', 'answers', 'ttl', 'degraded_ttl', 'min_healthy', 'on_insufficient', 'hash_balance_factor', 'members'])
    if (f === undefined) continue
    const check = f.has('check') ? src.string(f.get('check'), f.at('check')) : undefined
    if (check !== undefined && !checks.has(check)) {
      src.error(f.get('check'), f.at('check'), ErrorCode.REF, `no check named "${check}" (defined: ${[...checks.keys()].join(', ') || 'none'})`)
    }
    const policy = f.has('policy') ? src.oneOf(f.get('policy'), f.at('policy'), POLICIES) : 'round-robin'
    const ttl = f.has('ttl') ? src.integer(f.get('ttl'), f.at('ttl'), 0, 86400) : 30
    const members = readMembers(src, f.require('members'), f.at('members'), new Set(sites.keys()))
    const { within, geo } = readPoolGeo(src, f, policy, members, sites)
    const hostPool = members.some(m => m.host !== undefined)
    const ordering = policy === 'geo' || policy === 'nearest' ? within : policy
    let answers = f.has('answers')
      ? src.integer(f.get('answers'), f.at('answers'), 1, 64)
      : ordering === 'weighted' || ordering === 'hash' || hostPool ? 1 : 64
    if (hostPool && answers !== undefined && answers > 1) {
      src.error(f.get('answers'), f.at('answers'), ErrorCode.VALUE, `a pool of host names answers with a CNAME, and an owner has exactly one CNAME: answers must be 1, got ${answers}`)
      answers = undefined
    }
    const minHealthy = readMinHealthy(src, f)
    const onInsufficient = readOnInsufficient(src, f)
    fallbackNodes.set(key, f.get('on_insufficient'))
    const at = src.position(keyNode)
    if (policy === undefined || ttl === undefined || answers === undefined || minHealthy === undefined || onInsufficient === undefined || within === undefined) continue
    const checkType = check === undefined ? undefined : checks.get(check)
    if (checkType !== undefined && checkType.type !== 'static' && checkType.port === undefined && DEFAULT_CHECK_PORT[checkType.type] === undefined) {
      for (const m of members) {
        if (m.checkPort === undefined && m.url === undefined) {
          src.error(f.get('members'), f.at('members'), ErrorCode.REQUIRED, `member "${m.name}" needs check_port: check "${checkType.name}" (${checkType.type}) has no port`)
        }
      }
    }
    if (members.some(m => m.host !== undefined) && members.some(m => m.address !== undefined)) {
      src.error(f.get('members'), f.at('members'), ErrorCode.VALUE, 'a pool holds either addresses (A/AAAA answers) or host names (CNAME answers), not both')
    }
    out.push({
      name: key,
      check,
      policy,
      answers,
      ttl,
      degradedTtl: f.has('degraded_ttl') ? src.integer(f.get('degraded_ttl'), f.at('degraded_ttl'), 0, 86400) ?? ttl : Math.ceil(ttl / 2),
      minHealthy,
      onInsufficient,
      hashBalanceFactor: readFactor(src, f) ?? 1.25,
      within,
      geo,
      members,
      file: src.file,
      line: at.line,
      col: at.col,
    })
  }
  checkFallbacks(src, fallbackNodes, out)
  return out
}

function readFactor (src: Source, f: Fields): number | undefined {
  if (!f.has('hash_balance_factor')) return undefined
  const n = f.get('hash_balance_factor')
  const v = Number(src.string(n, f.at('hash_balance_factor')))
  if (!(v >= 1 && v <= 10)) { src.error(n, f.at('hash_balance_factor'), ErrorCode.VALUE, `must be a number from 1 to 10: got ${String(v)}`); return undefined }
  return v
}

function readMinHealthy (src: Source, f: Fields): PoolConfig['minHealthy'] | undefined {
  if (!f.has('min_healthy')) return { count: 1 }
  const n = f.get('min_healthy')
  const text = src.string(n, f.at('min_healthy'))
  if (text === undefined) return undefined
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text)
  if (pct !== null && Number(pct[1]) <= 100) return { percent: Number(pct[1]) }
  if (/^\d+$/.test(text)) return { count: Number(text) }
  src.error(n, f.at('min_healthy'), ErrorCode.VALUE, `must be a count (2) or a percentage (50%): got "${text}"`)
  return undefined
}

function readOnInsufficient (src: Source, f: Fields): OnInsufficient | undefined {
  if (!f.has('on_insufficient')) return { action: 'serve-all' }
  const n = f.get('on_insufficient')
  const path = f.at('on_insufficient')
  if (isMap(n)) {
    const m = src.map(n, path, ['fallback'])
    const pool = m === undefined ? undefined : src.string(m.require('fallback'), m.at('fallback'))
    return pool === undefined ? undefined : { action: 'fallback', pool }
  }
  const word = isScalar(n) ? n.value : undefined
  if (word === 'serve-all' || word === 'nodata' || word === 'servfail') return { action: word }
  src.error(n, path, ErrorCode.VALUE, `must be serve-all, nodata, servfail or { fallback: <pool> }: got ${describe(n)}`)
  return undefined
}

function readMembers (src: Source, node: YNode, path: string, sites: ReadonlySet<string>): MemberConfig[] {
  const out: MemberConfig[] = []
  const names = new Set<string>()
  for (const item of src.list(node, path, false) ?? []) {
    const f = src.map(item.node, item.path, ['name', 'address', 'host', 'url', 'url_ipv6', 'site', 'weight', 'group', 'check_address', 'check_port'])
    if (f === undefined) continue
    const address = f.has('address') ? src.string(f.get('address'), f.at('address')) : undefined
    const hostText = f.has('host') ? src.string(f.get('host'), f.at('host')) : undefined
    if (!f.has('address') && !f.has('host') && !f.has('url')) {
      src.error(item.node, item.path, ErrorCode.REQUIRED, 'a member needs "address" (an IP answered as A/AAAA), "host" (a name answered as CNAME) or "url" (a redirect target)')
      continue
    }
    if (f.has('address') && f.has('host')) { src.error(item.node, item.path, ErrorCode.VALUE, 'a member has "address" or "host", not both'); continue }
    const url = f.has('url') ? readBaseUrl(src, f.get('url'), f.at('url')) : undefined
    if (f.has('url') && url === undefined) continue
    if (address === undefined && hostText === undefined && url === undefined) continue
    if (address !== undefined && (isIP(address) === 0 || address.includes('%'))) {
      src.error(f.get('address'), f.at('address'), ErrorCode.ADDRESS, `invalid IP address: got "${address}"`)
      continue
    }
    let host: string | undefined
    if (hostText !== undefined) {
      const r = parseAbsoluteName(hostText)
      if (!r.ok || r.name === '') { src.error(f.get('host'), f.at('host'), ErrorCode.NAME, `invalid host name "${hostText}"${r.ok ? '' : `: ${r.reason}`}`); continue }
      host = r.name
    }
    const checkAddress = f.has('check_address') ? src.string(f.get('check_address'), f.at('check_address')) : undefined
    if (checkAddress !== undefined && isIP(checkAddress) === 0) {
      src.error(f.get('check_address'), f.at('check_address'), ErrorCode.ADDRESS, `invalid IP address: got "${checkAddress}"`)
    }
    const site = f.has('site') ? src.string(f.get('site'), f.at('site')) : undefined
    if (site !== undefined && !sites.has(site)) src.error(f.get('site'), f.at('site'), ErrorCode.REF, `no site named "${site}" (defined: ${[...sites].join(', ') || 'none'})`)
    const name = f.has('name') ? src.string(f.get('name'), f.at('name')) : address ?? host ?? url
    if (name === undefined) continue
    if (names.has(name)) { src.error(f.get('name') ?? item.node, f.at('name'), ErrorCode.DUPLICATE_MEMBER, `member "${name}" is defined twice in this pool`); continue }
    names.add(name)
    const at = src.position(item.node)
    out.push({
      name,
      site,
      address,
      host,
      family: address === undefined ? undefined : isIPv4(address) ? 4 : 6,
      weight: f.has('weight') ? src.integer(f.get('weight'), f.at('weight'), 0, 1_000_000) ?? 1 : 1,
      group: f.has('group') ? src.integer(f.get('group'), f.at('group'), 0, 1000) ?? 1 : 1,
      checkAddress,
      checkPort: f.has('check_port') ? src.integer(f.get('check_port'), f.at('check_port'), 1, 65535) : undefined,
      url,
      urlIpv6: f.has('url_ipv6') ? src.boolean(f.get('url_ipv6'), f.at('url_ipv6')) ?? false : address !== undefined && !isIPv4(address),
      file: src.file,
      line: at.line,
      col: at.col,
    })
  }
  if (out.length === 0 && node !== undefined) src.error(node, path, ErrorCode.REQUIRED, 'a pool needs at least one member')
  return out
}

function checkFallbacks (src: Source, nodes: ReadonlyMap<string, YNode>, pools: PoolConfig[]): void {
  const byName = new Map(pools.map(p => [p.name, p]))
  for (const p of pools) {
    if (p.onInsufficient.action !== 'fallback') continue
    const seen = [p.name]
    let next: string | undefined = p.onInsufficient.pool
    while (next !== undefined) {
      const target = byName.get(next)
      if (target === undefined) {
        src.error(nodes.get(p.name), join(join('pools', p.name), 'on_insufficient'), ErrorCode.REF, `fallback pool "${next}" is not defined`)
        break
      }
      if (seen.includes(next)) {
        src.error(nodes.get(p.name), join(join('pools', p.name), 'on_insufficient'), ErrorCode.VALUE, `fallback pools form a loop: ${[...seen, next].join(' → ')}`)
        break
      }
      seen.push(next)
      next = target.onInsufficient.action === 'fallback' ? target.onInsufficient.pool : undefined
    }
  }
}

/** An absolute http(s) URL without credentials, query or fragment; returned with a trailing "/". */
export function readBaseUrl (src: Source, node: YNode, path: string): string | undefined {
  const text = src.string(node, path)
  if (text === undefined) return undefined
  let u: URL
  try {
    u = new URL(text)
  } catch {
    src.error(node, path, ErrorCode.VALUE, `must be an absolute http or https URL: got "${text}"`)
    return undefined
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') {
    src.error(node, path, ErrorCode.VALUE, `must be an http or https URL without user, query or fragment: got "${text}"`)
    return undefined
  }
  return u.href.endsWith('/') ? u.href : `${u.href}/`
}
