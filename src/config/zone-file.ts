/**
 * Reads one `zones/*.yaml` file into a ZoneConfig. Shape errors are collected per field; the
 * semantic checks that need the whole zone (CNAME beside other data, delegations, glue, names
 * outside the zone) run after every owner has been read, so a file reports all of its problems.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { ErrorCode } from '../errors.js'
import type { OwnerConfig, Rdata, RRsetConfig, RRType, Soa, ZoneConfig } from './model.js'
import { isSubdomain, parentName, parseAbsoluteName, parseOwner, parseTarget } from './names.js'
import { allRead, join, type Source, type YNode } from './source.js'

const MAX_TTL = 2_147_483_647
export const RECORD_TYPES = ['A', 'AAAA', 'NS', 'CNAME', 'PTR', 'MX', 'TXT', 'SRV', 'CAA'] as const
const OWNER_KEYS = [...RECORD_TYPES, 'ttl', 'pool'] as const

/** Where a zone owner names a pool; checked against the pools once every file is read. */
export interface PoolRef { pool: string, owner: string, file: string, line: number, col: number, path: string }

export function readZoneFile (src: Source, poolRefs: PoolRef[] = []): ZoneConfig | undefined {
  const top = src.map(src.root, '', ['zone', 'ttl', 'soa', 'records'])
  if (top === undefined) return undefined
  const zoneText = src.string(top.require('zone'), 'zone')
  const parsed = zoneText === undefined ? undefined : parseAbsoluteName(zoneText)
  if (parsed !== undefined && !parsed.ok) src.error(top.get('zone'), 'zone', ErrorCode.NAME, `invalid zone name "${zoneText ?? ''}": ${parsed.reason}`)
  const zone = parsed?.ok === true ? parsed.name : undefined
  const ttl = top.has('ttl') ? src.integer(top.get('ttl'), 'ttl', 0, MAX_TTL) : 3600
  const soa = zone === undefined ? undefined : readSoa(src, top.require('soa'), zone)

  const owners: OwnerConfig[] = []
  const entries = top.has('records') ? src.entries(top.get('records'), 'records') : []
  const seen = new Map<string, string>()
  for (const { key, keyNode, value } of entries ?? []) {
    if (zone === undefined) break
    const path = join('records', key)
    const owner = parseOwner(key, zone)
    if (!owner.ok) { src.error(keyNode, path, ErrorCode.NAME, `invalid owner name "${key}": ${owner.reason}`); continue }
    if (!isSubdomain(owner.name, zone)) {
      src.error(keyNode, path, ErrorCode.OUT_OF_ZONE, `owner "${key}" is outside zone "${zone}"; records (glue included) must be inside the zone`)
      continue
    }
    const earlier = seen.get(owner.name)
    if (earlier !== undefined) {
      src.error(keyNode, path, ErrorCode.DUPLICATE_OWNER, `owner "${key}" is the same name as "${earlier}"; merge them`)
      continue
    }
    seen.set(owner.name, key)
    const fields = src.map(value, path, OWNER_KEYS)
    if (fields === undefined) continue
    const ownerTtl = fields.has('ttl') ? src.integer(fields.get('ttl'), join(path, 'ttl'), 0, MAX_TTL) : undefined
    const rrsets: RRsetConfig[] = []
    for (const type of RECORD_TYPES) {
      if (!fields.has(type)) continue
      const rdata = readRdatas(src, type, fields.get(type), join(path, type), zone)
      if (rdata.length > 0) rrsets.push({ type, ttl: ownerTtl ?? ttl ?? 3600, rdata })
    }
    const pool = fields.has('pool') ? src.string(fields.get('pool'), join(path, 'pool')) : undefined
    if (pool !== undefined) {
      const clash = rrsets.filter(s => s.type === 'A' || s.type === 'AAAA' || s.type === 'CNAME').map(s => s.type)
      if (clash.length > 0) {
        src.error(fields.keyNode('pool'), join(path, 'pool'), ErrorCode.CNAME_CONFLICT,
          `a pool owner gets its A/AAAA (or CNAME) answers from the pool: remove ${clash.join(', ')}`)
      }
      const p = src.position(fields.get('pool'))
      poolRefs.push({ pool, owner: owner.name, file: src.file, line: p.line, col: p.col, path: join(path, 'pool') })
    }
    const at = src.position(keyNode)
    owners.push({ name: owner.name, rrsets, pool, file: src.file, line: at.line, col: at.col })
  }
  if (zone === undefined || soa === undefined || ttl === undefined) return undefined

  const at = src.position(top.get('zone'))
  const apex = owners.find(o => o.name === zone)
  const soaSet: RRsetConfig = { type: 'SOA', ttl, rdata: [{ type: 'SOA', ...soa }] }
  const withSoa = apex === undefined
    ? [{ name: zone, rrsets: [soaSet], pool: undefined, file: src.file, line: at.line, col: at.col }, ...owners]
    : owners.map(o => o === apex ? { ...o, rrsets: [soaSet, ...o.rrsets] } : o)
  const config: ZoneConfig = { name: zone, ttl, soa, owners: withSoa, file: src.file, line: at.line, col: at.col }
  checkZone(src, config, entries ?? [])
  return config
}

function readSoa (src: Source, node: YNode, zone: string): Soa | undefined {
  const f = src.map(node, 'soa', ['primary', 'contact', 'serial', 'refresh', 'retry', 'expire', 'minimum'])
  if (f === undefined) return undefined
  const name = (key: string): string | undefined => {
    let text = src.string(f.require(key), `soa.${key}`)
    if (text === undefined) return undefined
    if (key === 'contact' && text.includes('@')) text = text.replace('@', '.') // hostmaster@example.test
    const r = parseTarget(text, zone)
    if (!r.ok) { src.error(f.get(key), `soa.${key}`, ErrorCode.NAME, `invalid name "${text}": ${r.reason}`); return undefined }
    return r.name
  }
  const num = (key: string, dflt: number): number | undefined =>
    f.has(key) ? src.integer(f.get(key), `soa.${key}`, 0, 4_294_967_295) : dflt
  const soa = {
    primary: name('primary'),
    contact: name('contact'),
    serial: src.integer(f.require('serial'), 'soa.serial', 0, 4_294_967_295),
    refresh: num('refresh', 7200),
    retry: num('retry', 900),
    expire: num('expire', 1_209_600),
    minimum: num('minimum', 300),
  }
  return allRead<Soa>(soa)
}

function readRdatas (src: Source, type: RRType, node: YNode, path: string, zone: string): Rdata[] {
  const items = src.list(node, path)
  if (items === undefined) return []
  if (type === 'CNAME' && items.length !== 1) {
    src.error(node, path, ErrorCode.VALUE, `an owner has exactly one CNAME: got ${items.length}`)
    return []
  }
  const out: Rdata[] = []
  const seen = new Set<string>()
  for (const item of items) {
    const rdata = readRdata(src, type, item.node, item.path, zone)
    if (rdata === undefined) continue
    const key = JSON.stringify(rdata)
    if (seen.has(key)) { src.error(item.node, item.path, ErrorCode.VALUE, 'duplicate record in the same set'); continue }
    seen.add(key)
    out.push(rdata)
  }
  return out
}

function readRdata (src: Source, type: RRType, node: YNode, path: string, zone: string): Rdata | undefined {
  const target = (n: YNode, p: string): string | undefined => {
    const text = src.string(n, p)
    if (text === undefined) return undefined
    const r = parseTarget(text, zone)
    if (!r.ok) { src.error(n, p, ErrorCode.NAME, `invalid name "${text}": ${r.reason}`); return undefined }
    return r.name
  }
  switch (type) {
    case 'A':
    case 'AAAA': {
      const text = src.string(node, path)
      if (text === undefined) return undefined
      const ok = type === 'A' ? isIPv4(text) : isIPv6(text) && !text.includes('%')
      if (!ok) { src.error(node, path, ErrorCode.ADDRESS, `invalid ${type === 'A' ? 'IPv4' : 'IPv6'} address: got "${text}"`); return undefined }
      return { type, address: text }
    }
    case 'NS':
    case 'CNAME':
    case 'PTR': {
      const t = target(node, path)
      return t === undefined ? undefined : { type, target: t }
    }
    case 'MX': {
      const f = src.map(node, path, ['priority', 'host'])
      if (f === undefined) return undefined
      const priority = src.integer(f.require('priority'), f.at('priority'), 0, 65535)
      const host = target(f.require('host'), f.at('host'))
      return priority === undefined || host === undefined ? undefined : { type, priority, host }
    }
    case 'SRV': {
      const f = src.map(node, path, ['priority', 'weight', 'port', 'target'])
      if (f === undefined) return undefined
      const priority = src.integer(f.require('priority'), f.at('priority'), 0, 65535)
      const weight = src.integer(f.require('weight'), f.at('weight'), 0, 65535)
      const port = src.integer(f.require('port'), f.at('port'), 0, 65535)
      const t = target(f.require('target'), f.at('target'))
      if (priority === undefined || weight === undefined || port === undefined || t === undefined) return undefined
      return { type, priority, weight, port, target: t }
    }
    case 'TXT': {
      const text = src.string(node, path)
      if (text === undefined) return undefined
      const bytes = Buffer.from(text, 'utf8')
      if (bytes.length > 65000) { src.error(node, path, ErrorCode.VALUE, `TXT value is too long: ${bytes.length} bytes`); return undefined }
      const strings: string[] = []
      // One record per list item; a value over 255 bytes becomes several character-strings.
      for (let i = 0; i < bytes.length || i === 0; i += 255) strings.push(bytes.subarray(i, i + 255).toString('latin1'))
      return { type, strings }
    }
    case 'CAA': {
      const f = src.map(node, path, ['flags', 'tag', 'value'])
      if (f === undefined) return undefined
      const flags = f.has('flags') ? src.integer(f.get('flags'), f.at('flags'), 0, 255) : 0
      const tag = src.string(f.require('tag'), f.at('tag'))
      const value = src.string(f.require('value'), f.at('value'))
      if (tag !== undefined && !/^[A-Za-z0-9]{1,15}$/.test(tag)) {
        src.error(f.get('tag'), f.at('tag'), ErrorCode.VALUE, `CAA tag must be 1-15 letters or digits: got "${tag}"`)
        return undefined
      }
      if (flags === undefined || tag === undefined || value === undefined) return undefined
      return { type, flags, tag: tag.toLowerCase(), value }
    }
    case 'SOA':
      return undefined
  }
}

/** Whole-zone rules: CNAME exclusivity, apex NS, delegations, glue and occluded data. */
function checkZone (src: Source, zone: ZoneConfig, entries: Array<{ key: string, keyNode: YNode }>): void {
  const keyNodeOf = (name: string): YNode => {
    for (const e of entries) {
      const r = parseOwner(e.key, zone.name)
      if (r.ok && r.name === name) return e.keyNode
    }
    return undefined
  }
  const pathOf = (name: string): string => {
    const e = entries.find(x => { const r = parseOwner(x.key, zone.name); return r.ok && r.name === name })
    return e === undefined ? 'records' : join('records', e.key)
  }
  const byName = new Map(zone.owners.map(o => [o.name, o]))
  const apex = byName.get(zone.name)
  if (apex === undefined || !apex.rrsets.some(s => s.type === 'NS')) {
    src.error(keyNodeOf(zone.name) ?? src.root, pathOf(zone.name), ErrorCode.REQUIRED,
      `the apex of zone "${zone.name}" needs NS records ("@": { NS: [...] })`)
  }
  const cuts = new Set<string>()
  for (const o of zone.owners) {
    const types = o.rrsets.map(s => s.type)
    if (types.includes('CNAME') && types.length > 1) {
      src.error(keyNodeOf(o.name), pathOf(o.name), ErrorCode.CNAME_CONFLICT,
        `a CNAME cannot stand beside other data at the same owner: found ${types.join(', ')}`)
    }
    if (o.name !== zone.name && types.includes('NS')) {
      if (o.name.startsWith('*.')) {
        src.error(keyNodeOf(o.name), pathOf(o.name), ErrorCode.VALUE, 'a wildcard owner cannot be a delegation (NS)')
      } else {
        cuts.add(o.name)
      }
    }
  }
  for (const o of zone.owners) {
    const cut = enclosingCut(o.name, cuts, zone.name)
    if (cut === undefined) continue
    const bad: string[] = o.rrsets.filter(s => cut === o.name ? s.type !== 'NS' : s.type !== 'A' && s.type !== 'AAAA').map(s => s.type)
    if (o.pool !== undefined) bad.push(`pool ${o.pool}`)
    if (bad.length > 0) {
      src.error(keyNodeOf(o.name), pathOf(o.name), ErrorCode.OCCLUDED,
        `${bad.join(', ')} at "${o.name}" is hidden by the delegation at "${cut}"; only NS at the cut and A/AAAA glue below it are allowed`)
    }
  }
  for (const cutName of cuts) {
    const ns = byName.get(cutName)?.rrsets.find(s => s.type === 'NS')
    for (const r of ns?.rdata ?? []) {
      if (r.type !== 'NS' || !isSubdomain(r.target, cutName)) continue
      const glue = byName.get(r.target)?.rrsets.some(s => s.type === 'A' || s.type === 'AAAA')
      if (glue !== true) {
        src.error(keyNodeOf(cutName), pathOf(cutName), ErrorCode.REF,
          `name server "${r.target}" is below the delegation "${cutName}" and needs glue: add an A or AAAA record for it`)
      }
    }
  }
}

function enclosingCut (name: string, cuts: ReadonlySet<string>, apex: string): string | undefined {
  for (let n: string | undefined = name; n !== undefined && n !== apex; n = parentName(n)) {
    if (cuts.has(n)) return n
  }
  return undefined
}

/** Records in a zone (the SOA included), for logs and `gslb check`. */
export function countRecords (z: ZoneConfig): number {
  return z.owners.reduce((n, o) => n + o.rrsets.reduce((m, s) => m + s.rdata.length, 0), 0)
}
