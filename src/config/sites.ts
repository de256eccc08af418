/**
 * Reads `sites` from gslb.yaml: named locations members belong to (geo routing will use them).
 */
import { ErrorCode } from '../errors.js'
import type { SiteConfig } from './model.js'
import { describe, join, type Source, type YNode } from './source.js'

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const

export function readSites (src: Source, node: YNode): SiteConfig[] {
  const out: SiteConfig[] = []
  for (const { key, keyNode, value } of src.entries(node, 'sites') ?? []) {
    const path = join('sites', key)
    const f = src.map(value, path, ['country', 'continent', 'lat', 'lon'])
    if (f === undefined) continue
    let country = f.has('country') ? src.string(f.get('country'), f.at('country')) : undefined
    if (country !== undefined && !/^[A-Za-z]{2}$/.test(country)) {
      src.error(f.get('country'), f.at('country'), ErrorCode.VALUE, `must be a two-letter ISO 3166 country code such as DE: got "${country}"`)
      country = undefined
    }
    const continent = f.has('continent') ? src.oneOf(f.get('continent'), f.at('continent'), CONTINENTS) : undefined
    const coord = (k: string, limit: number): number | undefined => {
      if (!f.has(k)) return undefined
      const n = f.get(k)
      const v = typeof (n as { value?: unknown } | null)?.value === 'number' ? (n as { value: number }).value : NaN
      if (!(Math.abs(v) <= limit)) { src.error(n, f.at(k), ErrorCode.VALUE, `must be a number from -${limit} to ${limit}: got ${describe(n)}`); return undefined }
      return v
    }
    const lat = coord('lat', 90)
    const lon = coord('lon', 180)
    if (f.has('lat') !== f.has('lon')) src.error(f.node, path, ErrorCode.REQUIRED, 'give both lat and lon, or neither')
    const at = src.position(keyNode)
    out.push({ name: key, country: country?.toUpperCase(), continent, lat, lon, file: src.file, line: at.line, col: at.col })
  }
  return out
}

