/**
 * Reads the geo parts of gslb.yaml: the top-level `geo` section (database, ECS) and a pool's
 * `within` and `geo` keys for the geo and nearest policies. See docs/geo.md for every key.
 */
import { dirname, resolve } from 'node:path'
import { ErrorCode } from '../errors.js'
import { parseCidr } from '../net/cidr.js'
import type { GeoOptions, MemberConfig, NetRoute, OrderPolicy, Policy, PoolGeoConfig, SiteConfig, SiteRoute } from './model.js'
import type { Fields, Source, YNode } from './source.js'

export const ORDER_POLICIES: readonly OrderPolicy[] = ['round-robin', 'weighted', 'hash', 'first']
const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']

export function readGeoOptions (src: Source, node: YNode, present: boolean, configFile: string): GeoOptions | undefined {
  if (!present) return { database: undefined, databasePath: undefined, ecs: true }
  const f = src.map(node, 'geo', ['database', 'ecs'])
  if (f === undefined) return undefined
  const database = f.has('database') ? src.string(f.get('database'), f.at('database')) : undefined
  const ecs = f.opt('ecs', (n, p) => src.boolean(n, p), true)
  // database is optional, so undefined is a value here, not a failed read: allRead() cannot tell them apart.
  if (ecs === undefined || (f.has('database') && database === undefined)) return undefined
  return { database, databasePath: database === undefined ? undefined : resolve(dirname(configFile), database), ecs }
}

/**
 * A pool's `within` and `geo` keys. Only geo and nearest pools may have them; every member of such
 * a pool needs a site, every site named must exist and have members in the pool, and a nearest
 * pool's sites need coordinates. `undefined` within means the key was invalid (reported).
 */
export function readPoolGeo (src: Source, f: Fields, policy: Policy | undefined, members: readonly MemberConfig[],
  sites: ReadonlyMap<string, SiteConfig>): { within: OrderPolicy | undefined, geo: PoolGeoConfig | undefined } {
  const byGeo = policy === 'geo' || policy === 'nearest'
  for (const key of ['within', 'geo']) {
    if (f.has(key) && !byGeo) src.error(f.keyNode(key) ?? f.get(key), f.at(key), ErrorCode.VALUE, `"${key}" applies to the geo and nearest policies only (this pool's policy is ${policy ?? 'invalid'})`)
  }
  const within = f.has('within') ? src.oneOf(f.get('within'), f.at('within'), ORDER_POLICIES) : 'round-robin'
  if (!byGeo) return { within, geo: undefined }

  const poolSites = new Set<string>()
  for (const m of members) {
    if (m.site === undefined) src.error(f.get('members'), f.at('members'), ErrorCode.REQUIRED, `member "${m.name}" needs a site: the ${policy} policy chooses a site per client`)
    else poolSites.add(m.site)
  }
  if (policy === 'nearest') {
    for (const name of poolSites) {
      const site = sites.get(name)
      if (site !== undefined && (site.lat === undefined || site.lon === undefined)) {
        src.error(f.get('members'), f.at('members'), ErrorCode.REQUIRED, `site "${name}" needs lat and lon: the nearest policy measures the distance to it`)
      }
    }
  }
  const g = f.has('geo') ? src.map(f.get('geo'), f.at('geo'), ['map', 'nets', 'limit', 'default']) : undefined
  if (policy === 'geo' && g?.has('map') !== true) {
    src.error(f.get('geo') ?? f.node, f.at('geo'), ErrorCode.REQUIRED, 'the geo policy needs geo.map: locations (default, EU, EU/DE, EU/DE/BY) → ordered site lists')
  }
  const siteList = (node: YNode, path: string): string[] | undefined => {
    const items = src.list(node, path)
    if (items === undefined) return undefined
    const out: string[] = []
    for (const item of items) {
      const name = src.string(item.node, item.path)
      if (name === undefined) continue
      if (!sites.has(name)) src.error(item.node, item.path, ErrorCode.REF, `no site named "${name}" (defined: ${[...sites.keys()].join(', ') || 'none'})`)
      else if (!poolSites.has(name)) src.error(item.node, item.path, ErrorCode.REF, `site "${name}" has no members in this pool (its sites: ${[...poolSites].join(', ') || 'none'})`)
      else if (out.includes(name)) src.error(item.node, item.path, ErrorCode.VALUE, `site "${name}" is listed twice`)
      else out.push(name)
    }
    if (out.length === 0 && items.length === 0) src.error(node, path, ErrorCode.VALUE, 'must list at least one site')
    return out
  }

  const map: SiteRoute[] = []
  if (g?.has('map') === true) {
    if (policy !== 'geo') src.error(g.keyNode('map') ?? g.get('map'), g.at('map'), ErrorCode.VALUE, 'geo.map applies to the geo policy; nearest orders sites by distance')
    for (const { key, keyNode, value } of src.entries(g.get('map'), g.at('map')) ?? []) {
      const path = `${g.at('map')}.${key}`
      const problem = mapKeyProblem(key)
      if (problem !== undefined) { src.error(keyNode, path, ErrorCode.VALUE, problem); continue }
      const list = siteList(value, path)
      if (list !== undefined) map.push({ key: key === 'default' ? 'default' : key.toUpperCase(), sites: list })
    }
  }
  const nets: NetRoute[] = []
  if (g?.has('nets') === true) {
    const seen = new Set<string>()
    for (const { key, keyNode, value } of src.entries(g.get('nets'), g.at('nets')) ?? []) {
      const path = `${g.at('nets')}.${key}`
      const cidr = parseCidr(key)
      if (typeof cidr === 'string') { src.error(keyNode, path, ErrorCode.ADDRESS, cidr); continue }
      if (seen.has(cidr.text)) { src.error(keyNode, path, ErrorCode.VALUE, `network ${cidr.text} is listed twice`); continue }
      seen.add(cidr.text)
      const list = siteList(value, path)
      if (list !== undefined) nets.push({ cidr, sites: list })
    }
  }
  let limit: number | undefined
  if (g?.has('limit') === true) {
    if (policy !== 'nearest') src.error(g.keyNode('limit') ?? g.get('limit'), g.at('limit'), ErrorCode.VALUE, 'geo.limit applies to the nearest policy')
    else limit = src.integer(g.get('limit'), g.at('limit'), 1, 100)
  }
  let fallback: string[] | undefined
  if (g?.has('default') === true) {
    if (policy !== 'nearest') src.error(g.keyNode('default') ?? g.get('default'), g.at('default'), ErrorCode.VALUE, 'geo.default applies to the nearest policy; a geo map has its own "default" key')
    else fallback = siteList(g.get('default'), g.at('default'))
  }
  return { within, geo: { map, nets, limit, fallback } }
}

/** Why a geo map key is not `default`, `CC` continent, `CC/CC` country or `CC/CC/SUB` subdivision; undefined when it is fine. */
function mapKeyProblem (key: string): string | undefined {
  if (key === 'default') return undefined
  const parts = key.toUpperCase().split('/')
  const [continent, country, subdivision] = parts
  if (parts.length > 3 || continent === undefined || !CONTINENTS.includes(continent)) {
    return `a map key is "default", a continent (${CONTINENTS.join(', ')}), continent/country (EU/DE) or continent/country/subdivision (EU/DE/BY): got "${key}"`
  }
  if (country !== undefined && !/^[A-Z]{2}$/.test(country)) return `the country in "${key}" must be a two-letter ISO 3166 code`
  if (subdivision !== undefined && !/^[A-Z0-9]{1,3}$/.test(subdivision)) return `the subdivision in "${key}" must be its ISO 3166-2 code without the country (BY for DE-BY)`
  return undefined
}
