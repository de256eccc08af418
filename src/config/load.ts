/**
 * The config pipeline: read `gslb.yaml` and every `zones/*.yaml` → validate each (collecting all
 * issues) → link across files (duplicate zones) → a frozen GslbConfig. `gslb check`, startup and
 * reload all call loadConfig(), so they accept and refuse exactly the same inputs.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join as joinPath, relative, resolve } from 'node:path'
import { isIP } from 'node:net'
import { ConfigError, ErrorCode, type ConfigIssue } from '../errors.js'
import type { AdminOptions, GslbConfig, ListenAddress, MetricsOptions, PoolConfig, ShutdownOptions, ZoneConfig } from './model.js'
import { allRead, Source, type YNode } from './source.js'
import { readZoneFile, type PoolRef } from './zone-file.js'
import { readChecks } from './checks.js'
import { readGeoOptions } from './geo.js'
import { readCluster } from './cluster.js'
import { DNS_DEFAULTS, readDnsOptions } from './dns.js'
import { openGeoDatabase } from '../geo/database.js'
import { readHealth, readPools } from './pools.js'
import { readSites } from './sites.js'
import { readHttpOptions, readRedirects } from './redirects.js'
import { deepFreeze } from '../freeze.js'

export interface LoadOptions {
  /** Replace `listen.dns` from the command line (`--dns`). */
  readonly dnsListen?: readonly string[]
  /** Replace `listen.admin` from the command line (`--admin`). */
  readonly adminListen?: string
  /** Replace `listen.http` from the command line (`--http`). */
  readonly httpListen?: string
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

/** Load and validate everything; throws ConfigError listing every issue found. */
export async function loadConfig (file: string, opts: LoadOptions = {}): Promise<GslbConfig> {
  const issues: ConfigIssue[] = []
  const shown = displayPath(file)
  const hash = createHash('sha256')
  const text = await readText(file, shown, issues)
  hash.update(text ?? '')
  if (text === undefined) throw new ConfigError(issues)
  const src = new Source(shown, text, issues)
  const top = src.map(src.root, '', ['listen', 'zones', 'dns', 'log', 'checks', 'sites', 'pools', 'health', 'http', 'redirects', 'geo', 'shutdown', 'metrics', 'admin', 'cluster'])
  if (top === undefined) throw new ConfigError(issues)

  let listen: ListenAddress[] | undefined = [...DNS_DEFAULTS.listen]
  let adminListen: ListenAddress | undefined
  let httpListen: ListenAddress | undefined
  if (top.has('listen')) {
    const l = src.map(top.get('listen'), 'listen', ['dns', 'admin', 'http'])
    if (l?.has('http') === true) {
      const text = src.string(l.get('http'), 'listen.http')
      const a = text === undefined ? undefined : parseListen(text)
      if (typeof a === 'string') src.error(l.get('http'), 'listen.http', ErrorCode.LISTEN, a)
      else httpListen = a
    }
    if (l?.has('dns') === true) listen = readListen(src, l.get('dns'), 'listen.dns')
    if (l?.has('admin') === true) {
      const text = src.string(l.get('admin'), 'listen.admin')
      const a = text === undefined ? undefined : parseListen(text)
      if (typeof a === 'string') src.error(l.get('admin'), 'listen.admin', ErrorCode.LISTEN, a)
      else adminListen = a
    }
  }
  if (opts.dnsListen !== undefined) {
    const cli = new Source('--dns', '', issues)
    listen = []
    for (const text of opts.dnsListen) {
      const a = parseListen(text)
      if (typeof a === 'string') cli.error(undefined, '', ErrorCode.LISTEN, a)
      else listen.push(a)
    }
  }
  if (opts.httpListen !== undefined) {
    const a = parseListen(opts.httpListen)
    if (typeof a === 'string') new Source('--http', '', issues).error(undefined, '', ErrorCode.LISTEN, a)
    else httpListen = a
  }
  if (opts.adminListen !== undefined) {
    const a = parseListen(opts.adminListen)
    if (typeof a === 'string') new Source('--admin', '', issues).error(undefined, '', ErrorCode.LISTEN, a)
    else adminListen = a
  }
  let dns = readDnsOptions(src, top.get('dns'), top.has('dns'), listen ?? [], file)
  const shutdown = readShutdown(src, top.get('shutdown'), top.has('shutdown'))
  const adminMap = top.has('admin') ? src.map(top.get('admin'), 'admin', ['token_file']) : undefined
  // token_file is optional, so undefined is a value here, not a failed read: allRead() cannot tell them apart.
  const tokenFile = adminMap?.has('token_file') === true ? src.string(adminMap.get('token_file'), 'admin.token_file') : undefined
  const admin: AdminOptions | undefined = top.has('admin') && (adminMap === undefined || (adminMap.has('token_file') && tokenFile === undefined)) ? undefined : { tokenFile }
  const metricsMap = top.has('metrics') ? src.map(top.get('metrics'), 'metrics', ['enabled']) : undefined
  const metrics = metricsMap === undefined ? (top.has('metrics') ? undefined : { enabled: true }) : allRead<MetricsOptions>({ enabled: metricsMap.opt('enabled', (n, p) => src.boolean(n, p), true) })
  const cluster = top.has('cluster') ? readCluster(src, top.get('cluster'), file) : undefined
  let logLevel: GslbConfig['logLevel'] | undefined = 'info'
  if (top.has('log')) {
    const l = src.map(top.get('log'), 'log', ['level'])
    if (l?.has('level') === true) logLevel = src.oneOf(l.get('level'), 'log.level', LOG_LEVELS)
  }

  const checks = top.has('checks') ? readChecks(src, top.get('checks')) : []
  const sites = top.has('sites') ? readSites(src, top.get('sites')) : []
  const pools = top.has('pools') ? readPools(src, top.get('pools'), new Map(checks.map(c => [c.name, c])), new Map(sites.map(x => [x.name, x]))) : []
  const geo = readGeoOptions(src, top.get('geo'), top.has('geo'), file)
  const health = readHealth(src, top.get('health'), top.has('health'))
  const http = readHttpOptions(src, top.get('http'), top.has('http'))
  const redirects = top.has('redirects') ? readRedirects(src, top.get('redirects'), pools) : []
  const poolRefs: PoolRef[] = []

  const zonesDir = top.has('zones') ? src.string(top.get('zones'), 'zones') : 'zones'
  const zones: ZoneConfig[] = []
  if (zonesDir !== undefined) {
    const dir = resolve(dirname(file), zonesDir)
    let names: string[] = []
    try {
      names = (await readdir(dir)).filter(n => n.endsWith('.yaml') || n.endsWith('.yml')).sort()
    } catch (err) {
      src.error(top.get('zones'), 'zones', ErrorCode.FILE, `cannot read zone directory "${displayPath(dir)}": ${(err as Error).message}`)
    }
    for (const name of names) {
      const path = joinPath(dir, name)
      const zoneText = await readText(path, displayPath(path), issues)
      hash.update(`\0${name}\0${zoneText ?? ''}`)
      if (zoneText === undefined) continue
      const zsrc = new Source(displayPath(path), zoneText, issues)
      if (zsrc.root === undefined && zsrc.issues.some(i => i.file === zsrc.file)) continue
      const zone = readZoneFile(zsrc, poolRefs)
      if (zone !== undefined) zones.push(zone)
    }
  }
  linkZones(zones, issues)
  const poolNames = new Set(pools.map(p => p.name))
  for (const ref of poolRefs) {
    if (poolNames.has(ref.pool)) continue
    issues.push({ file: ref.file, line: ref.line, col: ref.col, path: ref.path, code: ErrorCode.REF,
      message: `no pool named "${ref.pool}" in ${shown} (defined: ${[...poolNames].join(', ') || 'none'})` })
  }

  if (geo?.databasePath !== undefined) await checkGeoDatabase(src, top.get('geo'), geo.databasePath, pools)
  if (issues.length > 0 || dns === undefined || logLevel === undefined || health === undefined || http === undefined || shutdown === undefined || geo === undefined || metrics === undefined || admin === undefined || (top.has('cluster') && cluster === undefined)) throw new ConfigError(issues)
  const version = hash.digest('hex').slice(0, 12)
  // The cookie secret lives beside the admin state unless the config says where (dns.cookies).
  const c = dns.cookies
  if (c.enabled && c.secret === undefined && c.secretFile === undefined) {
    dns = { ...dns, cookies: { ...c, secretFile: resolve(dirname(file), dirname(health.stateFile), 'cookie-secret') } }
  }
  return deepFreeze({ file: shown, version, zonesDir: zonesDir ?? 'zones', dns, httpListen, http, redirects, adminListen, zones, checks, sites, pools, health, geo, shutdown, metrics, admin, cluster, logLevel })
}

/**
 * The geo database must open and hold locations (City or Country), and a nearest pool needs
 * coordinates (City). Opened here so `gslb check` and a reload refuse what a start would.
 */
async function checkGeoDatabase (src: Source, node: YNode, path: string, pools: readonly PoolConfig[]): Promise<void> {
  const at = (src.map(node, 'geo', ['database', 'ecs'])?.get('database')) ?? node
  try {
    const db = await openGeoDatabase(path)
    const nearest = pools.filter(p => p.policy === 'nearest').map(p => p.name)
    if (!db.locator.hasCoordinates && nearest.length > 0) {
      src.error(at, 'geo.database', ErrorCode.GEO_DATABASE, `${displayPath(path)} is a ${db.type} database, without coordinates: pool${nearest.length === 1 ? '' : 's'} ${nearest.join(', ')} (policy nearest) need${nearest.length === 1 ? 's' : ''} a City database`)
    }
  } catch (err) {
    src.error(at, 'geo.database', ErrorCode.GEO_DATABASE, `${displayPath(path)}: ${(err as Error).message}`)
  }
}

export const SHUTDOWN_DEFAULTS: ShutdownOptions = { timeoutMs: 15_000, keepaliveGraceMs: 1_000, readyDelayMs: 0 }

function readShutdown (src: Source, node: YNode, present: boolean): ShutdownOptions | undefined {
  if (!present) return SHUTDOWN_DEFAULTS
  const f = src.map(node, 'shutdown', ['timeout', 'keepalive_grace', 'ready_delay'])
  if (f === undefined) return undefined
  const d = SHUTDOWN_DEFAULTS
  return allRead<ShutdownOptions>({
    timeoutMs: f.opt('timeout', (n, p) => src.duration(n, p, 100, 600_000), d.timeoutMs),
    keepaliveGraceMs: f.opt('keepalive_grace', (n, p) => src.duration(n, p, 0, 60_000), d.keepaliveGraceMs),
    readyDelayMs: f.opt('ready_delay', (n, p) => src.duration(n, p, 0, 300_000), d.readyDelayMs),
  })
}

function readListen (src: Source, node: YNode, path: string): ListenAddress[] | undefined {
  const items = src.list(node, path)
  if (items === undefined) return undefined
  const out: ListenAddress[] = []
  for (const item of items) {
    const text = src.string(item.node, item.path)
    if (text === undefined) continue
    const a = parseListen(text)
    if (typeof a === 'string') src.error(item.node, item.path, ErrorCode.LISTEN, a)
    else out.push(a)
  }
  return out
}

/** `127.0.0.1:5300`, `[::1]:5300`. Returns an error message for bad input. */
export function parseListen (text: string): ListenAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim())
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (m === null || host === undefined) return `listen address must be ADDRESS:PORT or [IPv6]:PORT: got "${text}"`
  if (isIP(host) === 0) return `listen address must be an IP address, not a host name: got "${host}"`
  if (port > 65535) return `port must be 0-65535: got ${port}`
  return { host, port }
}

function linkZones (zones: ZoneConfig[], issues: ConfigIssue[]): void {
  const seen = new Map<string, ZoneConfig>()
  for (const z of zones) {
    const first = seen.get(z.name)
    if (first !== undefined) {
      issues.push({ file: z.file, line: z.line, col: z.col, path: 'zone', code: ErrorCode.DUPLICATE_ZONE,
        message: `zone "${z.name}" is already defined in ${first.file}:${first.line}` })
    } else {
      seen.set(z.name, z)
    }
  }
}

async function readText (path: string, shown: string, issues: ConfigIssue[]): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    issues.push({ file: shown, line: 1, col: 1, path: '', code: ErrorCode.FILE, message: `cannot read file: ${(err as Error).message}` })
    return undefined
  }
}

/** A path as the operator would type it: relative to the working directory when below it. */
export function displayPath (path: string): string {
  const rel = relative(process.cwd(), path)
  return rel.startsWith('..') ? resolve(path) : rel
}
