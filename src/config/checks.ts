/**
 * Reads `checks` from gslb.yaml: named, reusable health-check profiles. Defaults live here and
 * are documented in docs/health.md with the reasons for them.
 */
import { ErrorCode } from '../errors.js'
import type { CheckConfig, CheckTiming, CheckType } from './model.js'
import { parseAbsoluteName } from './names.js'
import { join, type Fields, type Source, type YNode } from './source.js'

export const CHECK_DEFAULTS = {
  intervalMs: 5000,
  rise: 2,
  fall: 3,
  jitter: 0.1,
} as const

const CHECK_TYPES: readonly CheckType[] = ['tcp', 'http', 'https', 'dns', 'agent', 'haproxy', 'static']
/** Ports used when neither the member, the check nor the member's URL gives one. */
export const DEFAULT_CHECK_PORT: Partial<Record<CheckType, number>> = { http: 80, https: 443, dns: 53 }
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const

export function readChecks (src: Source, node: YNode): CheckConfig[] {
  const out: CheckConfig[] = []
  for (const { key, keyNode, value } of src.entries(node, 'checks') ?? []) {
    const path = join('checks', key)
    const f = src.map(value, path, ['type', 'port', 'interval', 'fast_interval', 'down_interval', 'timeout', 'rise', 'fall', 'jitter',
      'method', 'path', 'host', 'sni', 'insecure', 'expect', 'weight_from_body', 'query', 'state', 'backend', 'min_up'])
    if (f === undefined) continue
    const type = src.oneOf(f.require('type'), f.at('type'), CHECK_TYPES)
    if (type === undefined) continue
    const timing = readTiming(src, f)
    const only = (keys: string[], types: CheckType[]): void => {
      for (const k of keys) {
        if (f.has(k) && !types.includes(type)) src.error(f.keyNode(k), f.at(k), ErrorCode.UNKNOWN_KEY, `"${k}" does not apply to ${type} checks`)
      }
    }
    only(['method', 'host', 'sni', 'insecure', 'weight_from_body'], ['http', 'https'])
    only(['path'], ['http', 'https', 'haproxy'])
    only(['query'], ['dns'])
    only(['state'], ['static'])
    only(['backend', 'min_up'], ['haproxy'])
    only(['expect'], ['http', 'https', 'dns'])
    if (type === 'static' && !f.has('state')) src.error(f.node, path, ErrorCode.REQUIRED, 'missing required key "state" (up or down)')
    // HAProxy has no standard stats port, and a member's URL names the farm's front end, not its stats.
    if (type === 'haproxy') {
      for (const k of ['backend', 'port']) {
        if (!f.has(k)) src.error(f.node, path, ErrorCode.REQUIRED, `missing required key "${k}" (${k === 'port' ? 'the port of the HAProxy stats listener' : 'the HAProxy backend whose servers are counted'})`)
      }
    }
    const backend = type === 'haproxy' && f.has('backend') ? src.string(f.get('backend'), f.at('backend')) : undefined
    // HAProxy proxy names: letters, digits, "-", "_", "." and ":" (its configuration manual, section 4 "Proxies").
    if (backend !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(backend)) src.error(f.get('backend'), f.at('backend'), ErrorCode.VALUE, `must be an HAProxy backend name (letters, digits, "-", "_", ".", ":"): got ${JSON.stringify(backend)}`)
    const checkPath = f.has('path') ? src.string(f.get('path'), f.at('path')) : undefined
    if (type === 'haproxy' && checkPath !== undefined && !checkPath.startsWith('/')) src.error(f.get('path'), f.at('path'), ErrorCode.VALUE, `must start with "/": got ${JSON.stringify(checkPath)}`)
    let expectStatus: number[] = [200]
    let expectBody: string | undefined
    let expectRcode: string[] = ['NOERROR']
    if (f.has('expect')) {
      const e = src.map(f.get('expect'), f.at('expect'), type === 'dns' ? ['rcode'] : ['status', 'body'])
      if (e?.has('status') === true) {
        expectStatus = (src.list(e.get('status'), e.at('status')) ?? []).map(i => src.integer(i.node, i.path, 100, 599)).filter((n): n is number => n !== undefined)
      }
      if (e?.has('body') === true) expectBody = src.string(e.get('body'), e.at('body'))
      if (e?.has('rcode') === true) {
        expectRcode = (src.list(e.get('rcode'), e.at('rcode')) ?? []).map(i => src.oneOf(i.node, i.path, RCODES)).filter((s): s is typeof RCODES[number] => s !== undefined)
      }
    }
    let queryName: string | undefined
    let queryType = 'SOA'
    if (type === 'dns') {
      const q = src.map(f.require('query'), f.at('query'), ['name', 'type'])
      const n = q === undefined ? undefined : src.string(q.require('name'), q.at('name'))
      if (n !== undefined) {
        const r = parseAbsoluteName(n)
        if (r.ok) queryName = r.name === '' ? '.' : r.name
        else src.error(q?.get('name'), q?.at('name') ?? path, ErrorCode.NAME, `invalid name "${n}": ${r.reason}`)
      }
      if (q?.has('type') === true) queryType = src.oneOf(q.get('type'), q.at('type'), ['A', 'AAAA', 'NS', 'SOA', 'TXT', 'CNAME', 'MX'] as const) ?? 'SOA'
    }
    const at = src.position(keyNode)
    const text = (k: string): string | undefined => f.has(k) ? src.string(f.get(k), f.at(k)) : undefined
    if (timing === undefined) continue
    out.push({
      name: key,
      type,
      ...timing,
      port: f.has('port') ? src.integer(f.get('port'), f.at('port'), 1, 65535) : undefined,
      method: (text('method') ?? 'GET').toUpperCase(),
      path: text('path') ?? (type === 'haproxy' ? '/;csv' : '/'),
      host: text('host'),
      sni: text('sni'),
      insecure: f.has('insecure') ? src.boolean(f.get('insecure'), f.at('insecure')) ?? false : false,
      expectStatus,
      expectBody,
      weightFromBody: f.has('weight_from_body') ? src.boolean(f.get('weight_from_body'), f.at('weight_from_body')) ?? false : false,
      queryName,
      queryType,
      expectRcode,
      backend: text('backend'),
      minUp: f.has('min_up') ? src.integer(f.get('min_up'), f.at('min_up'), 1, 10_000) ?? 1 : 1,
      staticUp: f.has('state') ? src.oneOf(f.get('state'), f.at('state'), ['up', 'down'] as const) === 'up' : true,
      file: src.file,
      line: at.line,
      col: at.col,
    })
  }
  return out
}

function readTiming (src: Source, f: Fields): CheckTiming | undefined {
  const dur = (k: string, min: number, max: number): number | undefined => f.has(k) ? src.duration(f.get(k), f.at(k), min, max) : undefined
  const intervalMs = dur('interval', 50, 3_600_000) ?? CHECK_DEFAULTS.intervalMs
  const timeoutMs = dur('timeout', 10, 3_600_000) ?? Math.floor(intervalMs / 2)
  if (timeoutMs >= intervalMs) {
    src.error(f.get('timeout') ?? f.node, f.at('timeout'), ErrorCode.VALUE, `timeout must be shorter than interval: got ${timeoutMs} ms >= ${intervalMs} ms`)
    return undefined
  }
  const fast = dur('fast_interval', 50, 3_600_000) ?? Math.max(Math.floor(intervalMs / 2), timeoutMs + 1)
  const down = dur('down_interval', 50, 3_600_000) ?? intervalMs
  for (const [k, v] of [['fast_interval', fast], ['down_interval', down]] as const) {
    if (v <= timeoutMs) src.error(f.get(k), f.at(k), ErrorCode.VALUE, `${k} must be longer than timeout (${timeoutMs} ms): got ${v} ms`)
  }
  const rise = f.has('rise') ? src.integer(f.get('rise'), f.at('rise'), 1, 100) : CHECK_DEFAULTS.rise
  const fall = f.has('fall') ? src.integer(f.get('fall'), f.at('fall'), 1, 100) : CHECK_DEFAULTS.fall
  let jitter: number | undefined = CHECK_DEFAULTS.jitter
  if (f.has('jitter')) {
    const text = src.string(f.get('jitter'), f.at('jitter'))
    const m = text === undefined ? null : /^(\d+(?:\.\d+)?)%$/.exec(text)
    if (m === null || Number(m[1]) > 50) {
      src.error(f.get('jitter'), f.at('jitter'), ErrorCode.VALUE, `must be a percentage from 0% to 50%: got ${JSON.stringify(text)}`)
      jitter = undefined
    } else {
      jitter = Number(m[1]) / 100
    }
  }
  if (rise === undefined || fall === undefined || jitter === undefined) return undefined
  return { intervalMs, timeoutMs, fastIntervalMs: fast, downIntervalMs: down, rise, fall, jitter }
}

