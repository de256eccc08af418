/**
 * Geo placement: which sites a client tries, in order, for a geo or nearest pool.
 *
 * - `GeoLocator` is the seam to a location database (src/geo/ implements it with maxmind); the
 *   core never reads a database itself.
 * - `GeoPlan` is built once per configuration for each geo/nearest pool: its distinct site lists,
 *   the map and the `nets` trie. `place(client, locator)` gives a Placement: the site list (as an
 *   index into the plan's lists, so decisions can be precomputed per list), how it was found, and
 *   the ECS scope that answer is valid for. Placements are cached per client prefix and locator,
 *   so a query costs a Map lookup after the first.
 *
 * The scope is the longest of: the prefix of the database network (or `nets` entry) that
 * matched, and the prefix needed to keep out any more specific `nets` entry near the client. It is
 * never longer than what the client sent (RFC 7871 §7.2.1 allows longer; we stay within the source).
 */
import type { PoolConfig, SiteConfig } from '../config/model.js'
import type { ClientAddress } from './client.js'
import { PrefixCache } from './prefix-cache.js'

/** What a database says of a client's network. Fields are absent when the database has none. */
export interface GeoLocation {
  readonly continent?: string
  readonly country?: string
  readonly subdivision?: string
  readonly city?: string
  readonly lat?: number
  readonly lon?: number
  /** Radius in km within which the coordinates are right, as the database says. */
  readonly accuracyKm?: number
}

export interface GeoHit {
  /** undefined: the database has no record for this network. */
  readonly location: GeoLocation | undefined
  /** The prefix length of the database network that matched (or of the empty one): all of it gets the same answer. */
  readonly prefix: number
}

/** A location database, swapped whole when its file changes. */
export interface GeoLocator {
  lookup: (client: ClientAddress) => GeoHit
  /** For explain and logs: the file, its type and build date. */
  readonly description: string
  /** Whether records carry coordinates (City databases do, Country ones do not). */
  readonly hasCoordinates: boolean
}

/** How a client's site list was found. */
export type PlacedBy = 'nets' | 'map' | 'distance' | 'default'

export interface Placement {
  /** Index into the plan's `lists` (nearest: its list of this order). */
  readonly list: number
  readonly sites: readonly string[]
  readonly by: PlacedBy
  /** The map key ('EU/DE', 'default') or the `nets` network that chose the list. */
  readonly rule: string | undefined
  readonly hit: GeoHit | undefined
  /** nearest: the distance to each site tried, in km, in list order. */
  readonly distancesKm: readonly number[] | undefined
  /** The ECS scope this placement holds for, before clamping to the client's source prefix. */
  readonly scope: number
}

/** Placements kept per plan (per generation: see PrefixCache). */
const PLACEMENT_CACHE = 65_536

export class GeoPlan {
  readonly kind: 'geo' | 'nearest'
  /** Every distinct site list; decisions are memoised per list index. */
  readonly lists: Array<readonly string[]> = []
  readonly #listIndex = new Map<string, number>()
  readonly #map = new Map<string, number>()
  readonly #trie4 = new NetTrie(32)
  readonly #trie6 = new NetTrie(128)
  readonly #sites: ReadonlyArray<{ readonly name: string, readonly lat: number, readonly lon: number }>
  readonly #limit: number
  /** The list used without a database, a record or a map entry: `default`, else every site in member order. */
  readonly #fallback: number
  #cache = new PrefixCache<number | string, Placement>(PLACEMENT_CACHE)
  #cacheFor: GeoLocator | undefined

  constructor (pool: PoolConfig, sites: ReadonlyMap<string, SiteConfig>) {
    this.kind = pool.policy === 'nearest' ? 'nearest' : 'geo'
    const geo = pool.geo
    const poolSites = [...new Set(pool.members.map(m => m.site).filter((s): s is string => s !== undefined))]
    this.#sites = poolSites.map(name => ({ name, lat: sites.get(name)?.lat ?? 0, lon: sites.get(name)?.lon ?? 0 }))
    this.#limit = geo?.limit ?? poolSites.length
    for (const route of geo?.map ?? []) this.#map.set(route.key, this.#list(route.sites))
    for (const route of geo?.nets ?? []) (route.cidr.family === 4 ? this.#trie4 : this.#trie6).insert(route.cidr.bytes, route.cidr.bits, { list: this.#list(route.sites), rule: route.cidr.text })
    this.#fallback = this.#map.get('default') ?? this.#list(geo?.fallback ?? poolSites)
  }

  /** The sites `client` tries, in order. Without a client (or locator), the fallback list. */
  place (client: ClientAddress | undefined, locator: GeoLocator | undefined): Placement {
    if (client === undefined) return this.#default(undefined, 0)
    if (locator !== this.#cacheFor) { this.#cache = new PrefixCache(PLACEMENT_CACHE); this.#cacheFor = locator }
    const key = client.lookupKey
    let p = this.#cache.get(key)
    if (p === undefined) {
      p = this.#compute(client, locator)
      this.#cache.set(key, p)
    }
    return p
  }

  #compute (client: ClientAddress, locator: GeoLocator | undefined): Placement {
    const trie = client.family === 4 ? this.#trie4 : this.#trie6
    const net = trie.match(client.bytes, client.bits)
    if (net.entry !== undefined) {
      return { list: net.entry.list, sites: this.lists[net.entry.list] as readonly string[], by: 'nets', rule: net.entry.rule, hit: undefined, distancesKm: undefined, scope: Math.max(net.prefix, net.keepOut) }
    }
    if (locator === undefined) return this.#default(undefined, net.keepOut)
    const hit = locator.lookup(client)
    const scope = Math.max(hit.prefix, net.keepOut)
    const loc = hit.location
    if (loc === undefined) return this.#default(hit, scope)
    if (this.kind === 'geo') {
      for (const key of mapKeys(loc)) {
        if (key === 'default') break
        const list = this.#map.get(key)
        if (list !== undefined) return { list, sites: this.lists[list] as readonly string[], by: 'map', rule: key, hit, distancesKm: undefined, scope }
      }
      return this.#default(hit, scope)
    }
    if (loc.lat === undefined || loc.lon === undefined) return this.#default(hit, scope)
    const lat = loc.lat
    const lon = loc.lon
    const ranked = this.#sites.map(s => ({ name: s.name, km: distanceKm(lat, lon, s.lat, s.lon) }))
      .sort((a, b) => a.km - b.km || (a.name < b.name ? -1 : 1))
      .slice(0, this.#limit)
    const list = this.#list(ranked.map(r => r.name))
    return { list, sites: this.lists[list] as readonly string[], by: 'distance', rule: undefined, hit, distancesKm: ranked.map(r => Math.round(r.km)), scope }
  }

  #default (hit: GeoHit | undefined, scope: number): Placement {
    const rule = this.#map.has('default') ? 'default' : undefined
    return { list: this.#fallback, sites: this.lists[this.#fallback] as readonly string[], by: 'default', rule, hit, distancesKm: undefined, scope }
  }

  /** The index of a site list, added when new. */
  #list (sites: readonly string[]): number {
    const key = sites.join('\n')
    let i = this.#listIndex.get(key)
    if (i === undefined) {
      i = this.lists.length
      this.lists.push(sites)
      this.#listIndex.set(key, i)
    }
    return i
  }
}

/** The map keys that may hold a location's list, most specific first. */
export function mapKeys (loc: GeoLocation): string[] {
  const out: string[] = []
  const c = loc.continent
  if (c !== undefined) {
    if (loc.country !== undefined) {
      if (loc.subdivision !== undefined) out.push(`${c}/${loc.country}/${loc.subdivision}`)
      out.push(`${c}/${loc.country}`)
    }
    out.push(c)
  }
  out.push('default')
  return out
}

const EARTH_RADIUS_KM = 6371.0088

/** Great-circle distance (haversine), in km. */
export function distanceKm (lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180
  const dLat = (lat2 - lat1) * rad
  const dLon = (lon2 - lon1) * rad
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)))
}

interface TrieEntry { readonly list: number, readonly rule: string }

/**
 * A binary trie of networks for longest-prefix match. `match` also says how many bits of the
 * client's address are needed to keep out every entry it does not match (`keepOut`): the depth at
 * which the client's path leaves the trie, plus one, when the trie holds entries off that path.
 */
class NetTrie {
  readonly #root: TrieNode = { zero: undefined, one: undefined, entry: undefined }
  readonly #maxBits: number

  constructor (maxBits: number) { this.#maxBits = maxBits }

  insert (bytes: Uint8Array, bits: number, entry: TrieEntry): void {
    let node = this.#root
    for (let i = 0; i < bits; i++) {
      const bit = bitAt(bytes, i)
      const next = bit === 0 ? node.zero : node.one
      if (next !== undefined) { node = next; continue }
      const created: TrieNode = { zero: undefined, one: undefined, entry: undefined }
      if (bit === 0) node.zero = created
      else node.one = created
      node = created
    }
    node.entry = entry
  }

  /** The longest entry containing the first `bits` of `bytes`, its prefix, and the bits needed to keep out the rest. */
  match (bytes: Uint8Array, bits: number): { entry: TrieEntry | undefined, prefix: number, keepOut: number } {
    let node: TrieNode | undefined = this.#root
    let entry: TrieEntry | undefined
    let prefix = 0
    let depth = 0
    if (this.#root.zero === undefined && this.#root.one === undefined && this.#root.entry === undefined) return { entry, prefix, keepOut: 0 }
    for (; ; depth++) {
      if (node.entry !== undefined) { entry = node.entry; prefix = depth }
      if (depth >= bits || depth >= this.#maxBits) break
      const next: TrieNode | undefined = bitAt(bytes, depth) === 0 ? node.zero : node.one
      if (next === undefined) break
      node = next
    }
    // Entries below `node` (or on its other branch) differ from the client from bit `depth` on.
    const below = node.zero !== undefined || node.one !== undefined
    return { entry, prefix, keepOut: below ? Math.min(depth + 1, this.#maxBits) : depth }
  }
}

interface TrieNode { zero: TrieNode | undefined, one: TrieNode | undefined, entry: TrieEntry | undefined }

function bitAt (bytes: Uint8Array, i: number): number {
  return ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1
}
