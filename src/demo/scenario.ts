/**
 * Scenario files (scenarios/*.yaml, docs/demo.md): faults over time and what chosen clients must
 * get, read with file:line:col errors like the configuration. A scenario names what is asked (a
 * DNS name, a redirect URL), the clients (each an ECS subnet; its first address plays the client
 * for redirects), and steps: `expect` (each client's answer comes from these sites, now or
 * `within` a time, and may have to `hold`), `fault` (site or backend → up/down/slow/error/flap),
 * `wait`, and `at` (wait until this long after the start).
 */
import { readFile } from 'node:fs/promises'
import { isMap, isScalar } from 'yaml'
import { parseCidr, type Cidr } from '../net/cidr.js'
import { ConfigError, ErrorCode, type ConfigIssue } from '../errors.js'
import { Source, type YNode } from '../config/source.js'
import { FAULT_KINDS, type Fault } from './backend.js'
import { parseFault } from './farm.js'

export interface ScenarioClient { readonly name: string, readonly subnet: Cidr }

/** Sites an answer may come from; `none`: no answer (NODATA, SERVFAIL, 503). */
export type Expected = readonly string[] | 'none'

interface Located { readonly line: number, readonly col: number }

export type Step = Located & (
  | { readonly kind: 'expect', readonly expect: ReadonlyArray<{ client: string, sites: Expected }>, readonly withinMs: number, readonly holdMs: number, readonly via: 'dns' | 'redirect' | 'both' }
  | { readonly kind: 'fault', readonly faults: ReadonlyArray<{ target: string, fault: Fault }> }
  | { readonly kind: 'wait', readonly ms: number }
  | { readonly kind: 'at', readonly ms: number }
)

export interface Scenario {
  readonly file: string
  readonly name: string
  /** The DNS name asked (A records). */
  readonly dns: string | undefined
  /** The redirect asked: a URL whose host is a redirect route's. */
  readonly redirect: string | undefined
  readonly clients: ReadonlyMap<string, ScenarioClient>
  readonly steps: readonly Step[]
}

const MAX_MS = 600_000
const STEP_KINDS = ['expect', 'fault', 'wait', 'at']

export async function loadScenario (file: string): Promise<Scenario> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError([{ file, line: 1, col: 1, path: '', code: ErrorCode.FILE, message: `cannot read scenario: ${(err as Error).message}` }])
  }
  return parseScenario(file, text)
}

export function parseScenario (file: string, text: string): Scenario {
  const issues: ConfigIssue[] = []
  const src = new Source(file, text, issues)
  const top = src.map(src.root, '', ['name', 'ask', 'clients', 'steps'])
  if (top === undefined) throw new ConfigError(issues)
  const name = top.has('name') ? src.string(top.get('name'), 'name') : undefined
  const ask = src.map(top.require('ask'), 'ask', ['dns', 'redirect'])
  const dns = ask?.has('dns') === true ? src.string(ask.get('dns'), 'ask.dns') : undefined
  let redirect: string | undefined
  if (ask?.has('redirect') === true) {
    redirect = src.string(ask.get('redirect'), 'ask.redirect')
    if (redirect !== undefined && !/^https?:\/\/[^/]+\//.test(redirect)) {
      src.error(ask.get('redirect'), 'ask.redirect', ErrorCode.VALUE, `must be an http:// or https:// URL with a path: got "${redirect}"`)
    }
  }
  if (ask !== undefined && dns === undefined && redirect === undefined) src.error(top.get('ask'), 'ask', ErrorCode.REQUIRED, 'give dns (a name), redirect (a URL), or both')

  const clients = new Map<string, ScenarioClient>()
  for (const { key, value } of src.entries(top.require('clients'), 'clients') ?? []) {
    const text = src.string(value, `clients.${key}`)
    if (text === undefined) continue
    const subnet = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`)
    if (typeof subnet === 'string') src.error(value, `clients.${key}`, ErrorCode.ADDRESS, subnet)
    else clients.set(key, { name: key, subnet })
  }

  const steps: Step[] = []
  for (const item of src.list(top.require('steps'), 'steps', false) ?? []) {
    const step = readStep(src, item.node, item.path, clients, redirect !== undefined, dns !== undefined)
    if (step !== undefined) steps.push(step)
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return { file, name: name ?? file, dns, redirect, clients, steps }
}

function readStep (src: Source, node: YNode, path: string, clients: ReadonlyMap<string, ScenarioClient>, hasRedirect: boolean, hasDns: boolean): Step | undefined {
  const f = src.map(node, path, ['expect', 'within', 'hold', 'via', 'fault', 'wait', 'at'])
  if (f === undefined) return undefined
  const { line, col } = src.position(node)
  const kinds = STEP_KINDS.filter(k => f.has(k))
  if (kinds.length !== 1) {
    src.error(node, path, ErrorCode.VALUE, `a step has exactly one of ${STEP_KINDS.join(', ')}: got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`)
    return undefined
  }
  const kind = kinds[0]
  for (const k of ['within', 'hold', 'via']) {
    if (f.has(k) && kind !== 'expect') src.error(f.keyNode(k), f.at(k), ErrorCode.UNKNOWN_KEY, `"${k}" belongs to expect steps`)
  }
  if (kind === 'wait' || kind === 'at') {
    const ms = src.duration(f.get(kind), f.at(kind), 0, MAX_MS)
    return ms === undefined ? undefined : { line, col, kind, ms }
  }
  if (kind === 'fault') {
    const faults: Array<{ target: string, fault: Fault }> = []
    for (const { key, value } of src.entries(f.get('fault'), f.at('fault')) ?? []) {
      const fault = readFault(src, value, `${f.at('fault')}.${key}`)
      if (fault !== undefined) faults.push({ target: key, fault })
    }
    return { line, col, kind, faults }
  }
  const expect: Array<{ client: string, sites: Expected }> = []
  for (const { key, keyNode, value } of src.entries(f.get('expect'), f.at('expect')) ?? []) {
    if (!clients.has(key)) {
      src.error(keyNode, `${f.at('expect')}.${key}`, ErrorCode.REF, `no client "${key}" in clients (${[...clients.keys()].join(', ')})`)
      continue
    }
    const sites = readExpected(src, value, `${f.at('expect')}.${key}`)
    if (sites !== undefined) expect.push({ client: key, sites })
  }
  const withinMs = f.opt('within', (n, p) => src.duration(n, p, 0, MAX_MS), 0)
  const holdMs = f.opt('hold', (n, p) => src.duration(n, p, 0, MAX_MS), 0)
  const via = f.opt('via', (n, p) => src.oneOf(n, p, ['dns', 'redirect', 'both'] as const), hasDns && hasRedirect ? 'both' : hasDns ? 'dns' : 'redirect')
  if (via !== undefined && ((via !== 'dns' && !hasRedirect) || (via !== 'redirect' && !hasDns))) {
    src.error(f.has('via') ? f.get('via') : node, f.at('via'), ErrorCode.VALUE, `via ${via} needs ask.${via === 'dns' ? 'dns' : 'redirect'}`)
  }
  if (withinMs === undefined || holdMs === undefined || via === undefined) return undefined
  return { line, col, kind: 'expect', expect, withinMs, holdMs, via }
}

/** `fra`, `[fra, nyc]` (any of them), or `none`. */
function readExpected (src: Source, node: YNode, path: string): Expected | undefined {
  const items = src.list(node, path)
  if (items === undefined) return undefined
  const sites = items.map(i => src.string(i.node, i.path)).filter((s): s is string => s !== undefined)
  if (sites.length !== items.length) return undefined
  if (sites.includes('none')) {
    if (sites.length > 1) { src.error(node, path, ErrorCode.VALUE, '"none" stands alone'); return undefined }
    return 'none'
  }
  return sites
}

/** `down`, or `{ slow: 2s }`, or `{ flap: 3s }`. */
function readFault (src: Source, node: YNode, path: string): Fault | undefined {
  if (isScalar(node)) {
    const kind = src.oneOf(node, path, FAULT_KINDS)
    if (kind === undefined) return undefined
    const fault = parseFault(kind)
    return typeof fault === 'string' ? undefined : fault
  }
  if (!isMap(node)) { src.error(node, path, ErrorCode.TYPE, `must be one of ${FAULT_KINDS.join(', ')}, or { slow: 2s } or { flap: 3s }`); return undefined }
  const f = src.map(node, path, ['slow', 'flap'])
  if (f === undefined) return undefined
  const [kind] = f.names()
  if (kind === undefined || f.names().length !== 1) { src.error(node, path, ErrorCode.VALUE, 'give one of slow or flap, with its duration'); return undefined }
  const ms = src.duration(f.get(kind), f.at(kind), 0, 60_000)
  if (ms === undefined) return undefined
  const fault = kind === 'slow' ? parseFault('slow', ms) : parseFault('flap', undefined, ms)
  if (typeof fault === 'string') { src.error(f.get(kind), f.at(kind), ErrorCode.VALUE, fault); return undefined }
  return fault
}
