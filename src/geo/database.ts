/**
 * MaxMind DB files (GeoIP2 / GeoLite2 City or Country, DB-IP's lite City and Country databases,
 * and gslb's demo database) opened with `maxmind` and read as the core's GeoLocator. Each client
 * prefix is looked up once: the answer is cached per prefix (ClientAddress.lookupKey), so a query
 * costs a Map lookup, not a tree walk.
 */
import { readFile } from 'node:fs/promises'
import maxmind, { type Response } from 'maxmind'
import type { ClientAddress } from '../core/client.js'
import type { GeoHit, GeoLocation, GeoLocator } from '../core/geo.js'
import { PrefixCache } from '../core/prefix-cache.js'

/** Lookups kept per database (per generation: see PrefixCache). */
const LOOKUP_CACHE = 100_000

export interface GeoDatabase {
  readonly locator: GeoLocator
  /** The database's own type: GeoLite2-City, DBIP-City-Lite, gslb-demo-City. */
  readonly type: string
  readonly builtAt: Date
  readonly path: string
}

/** Open and check a database; throws an Error saying what is wrong with it. */
export async function openGeoDatabase (path: string): Promise<GeoDatabase> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new Error(`cannot read the geo database: ${(err as Error).message}`)
  }
  let reader: InstanceType<typeof maxmind.Reader<Response>>
  try {
    reader = new maxmind.Reader<Response>(bytes)
  } catch (err) {
    throw new Error(`not a MaxMind DB file (${(err as Error).message}); use a GeoIP2/GeoLite2 or DB-IP City or Country .mmdb`)
  }
  const type = reader.metadata.databaseType
  const problem = typeProblem(type)
  if (problem !== undefined) throw new Error(problem)
  const builtAt = reader.metadata.buildEpoch
  const hasCoordinates = /city|enterprise/i.test(type)
  return { locator: new MaxmindLocator(reader, `${path} (${type}, built ${builtAt.toISOString().slice(0, 10)})`, hasCoordinates), type, builtAt, path }
}

/** Why a database type cannot place clients; undefined when it can. */
export function typeProblem (type: string): string | undefined {
  if (/asn|isp|domain|anonymous|connection/i.test(type) || !/city|country|enterprise/i.test(type)) {
    return `database type "${type}" has no locations: use a City or Country database (GeoIP2, GeoLite2 or DB-IP lite)`
  }
  return undefined
}

interface Record {
  continent?: { code?: string }
  country?: { iso_code?: string }
  registered_country?: { iso_code?: string }
  subdivisions?: Array<{ iso_code?: string }>
  city?: { names?: { en?: string } }
  location?: { latitude?: number, longitude?: number, accuracy_radius?: number }
}

class MaxmindLocator implements GeoLocator {
  readonly description: string
  readonly hasCoordinates: boolean
  readonly #reader: InstanceType<typeof maxmind.Reader<Response>>
  readonly #cache = new PrefixCache<number | string, GeoHit>(LOOKUP_CACHE)

  constructor (reader: InstanceType<typeof maxmind.Reader<Response>>, description: string, hasCoordinates: boolean) {
    this.#reader = reader
    this.description = description
    this.hasCoordinates = hasCoordinates
  }

  lookup (client: ClientAddress): GeoHit {
    const key = client.lookupKey
    let hit = this.#cache.get(key)
    if (hit !== undefined) return hit
    const [record, prefix] = this.#reader.getWithPrefixLength(client.text)
    hit = { location: locationOf(record as Record | null), prefix }
    this.#cache.set(key, hit)
    return hit
  }
}

/** The fields gslb uses, from a GeoIP2 or DB-IP record; undefined when there is nothing to place by. */
function locationOf (r: Record | null): GeoLocation | undefined {
  if (r === null) return undefined
  const country = r.country?.iso_code ?? r.registered_country?.iso_code
  const loc: { -readonly [K in keyof GeoLocation]: GeoLocation[K] } = {}
  if (r.continent?.code !== undefined) loc.continent = r.continent.code
  if (country !== undefined) loc.country = country
  const sub = r.subdivisions?.[0]?.iso_code
  if (sub !== undefined) loc.subdivision = sub
  if (r.city?.names?.en !== undefined) loc.city = r.city.names.en
  if (typeof r.location?.latitude === 'number' && typeof r.location.longitude === 'number') {
    loc.lat = r.location.latitude
    loc.lon = r.location.longitude
  }
  if (typeof r.location?.accuracy_radius === 'number') loc.accuracyKm = r.location.accuracy_radius
  return Object.keys(loc).length === 0 ? undefined : Object.freeze(loc)
}
