/**
 * Compiles validated zones into an AnswerIndex: for every name we serve, a precompiled Plan per
 * query type (answers, CNAME chains followed through our zones, NODATA/NXDOMAIN with the SOA in
 * authority, referrals with glue), keyed by the lowercase wire form of the name so that a query is
 * answered with one Map lookup. Built off the hot path at load or reload, then never mutated.
 */
import type { OwnerConfig, RRsetConfig, Rdata, ZoneConfig } from '../config/model.js'
import { isSubdomain, parentName } from '../config/names.js'
import { RCODE, TYPE } from './constants.js'
import { Limit, type LimitAs } from './rrl.js'
import { QNAME, RR_TYPE_CODE, TemplateBuilder, writeRdata, type Owner, type Template } from './template.js'

export interface Plan {
  readonly rcode: number
  readonly aa: boolean
  readonly template: Template
  /** Set when the answer ends in records chosen per query from a pool. */
  readonly dynamic?: DynamicPart
  /** NXDOMAIN, NODATA and referrals are rate limited per zone or cut (dns/rrl.ts); answers per name. */
  readonly limitAs?: LimitAs
}

/** The per-query part of a plan: `template` holds what comes before (a CNAME chain, or nothing). */
export interface DynamicPart {
  /** Index into the snapshot's pools (config order). */
  readonly pool: number
  readonly family: 4 | 6 | 'host'
  readonly type: number
  /** The owner of the chosen records, as a pointer fixup (see pointerOffset). */
  readonly ownerKind: number
  readonly ownerValue: number
  /** What to send when the pool has nothing for this family: the same prefix, then the SOA. */
  readonly nodata: Plan
}

/** What the answer compiler needs to know about each pool. */
export interface PoolShape {
  readonly name: string
  readonly kind: 'address' | 'host'
  readonly hasV4: boolean
}

export interface NameEntry {
  /** Answers by query type; types without an entry get `other`. */
  readonly plans: ReadonlyMap<number, Plan>
  readonly other: Plan
  /** Set when the name is at or below a delegation: every query type gets this, but DS at the cut. */
  readonly referral: Plan | undefined
  readonly isCut: boolean
  /** Answers synthesised from `*.<this name>`, for query names that do not exist below it. */
  readonly wildcard: NameEntry | undefined
  readonly zone: ZoneEntry
}

export interface ZoneEntry {
  readonly name: string
  readonly nxdomain: Plan
}

export interface AnswerIndex {
  readonly names: ReadonlyMap<string, NameEntry>
  readonly zones: readonly ZoneEntry[]
}

/** ANY gets one RRset (RFC 8482), the first present in this order. */
const ANY_PREFERENCE = ['CNAME', 'A', 'AAAA', 'MX', 'TXT', 'SRV', 'CAA', 'PTR', 'NS', 'SOA'] as const
const MAX_CHAIN = 8

/** The lowercase wire form as a latin1 string: the lookup key the query parser produces. */
export function wireKey (name: string): string {
  if (name === '') return '\0'
  let out = ''
  for (const label of name.split('.')) out += String.fromCharCode(label.length) + label
  return out + '\0'
}

interface Node {
  readonly name: string
  readonly zone: ZoneConfig
  readonly rrsets: Map<string, RRsetConfig>
  cut: string | undefined
  pool: (PoolShape & { index: number }) | undefined
}

type Found =
  | { kind: 'node', node: Node }
  | { kind: 'nxdomain', zone: ZoneConfig }
  | { kind: 'stop' } // delegated or outside our zones: the chain ends here

export function compileAnswers (zones: readonly ZoneConfig[], pools: readonly PoolShape[] = []): AnswerIndex {
  const nodes = collectNodes(zones, pools)
  const zoneEntries = new Map<string, ZoneEntry>()
  for (const z of zones) {
    const b = new TemplateBuilder(z.name)
    b.section('authority')
    writeNegativeSoa(b, z)
    zoneEntries.set(z.name, { name: z.name, nxdomain: { rcode: RCODE.NXDOMAIN, aa: true, template: b.build(), limitAs: { kind: Limit.NXDOMAIN, name: z.name } } })
  }

  const find = (name: string): Found => {
    for (let n: string | undefined = name, child: string | undefined; n !== undefined; child = n, n = parentName(n)) {
      const node = nodes.get(n)
      if (node === undefined) continue
      if (node.cut !== undefined) return { kind: 'stop' }
      if (n === name) return { kind: 'node', node }
      const wild = child === undefined ? undefined : nodes.get(`*.${n}`)
      if (wild !== undefined) {
        // The synthesised owner is the looked-up name itself, with the wildcard's data.
        return { kind: 'node', node: { ...wild, name } }
      }
      return { kind: 'nxdomain', zone: node.zone }
    }
    return { kind: 'stop' }
  }

  const referrals = new Map<string, Plan>()
  const referralFor = (cut: string): Plan => {
    let plan = referrals.get(cut)
    if (plan === undefined) {
      plan = compileReferral(nodes.get(cut) as Node, nodes)
      referrals.set(cut, plan)
    }
    return plan
  }

  const entries = new Map<string, NameEntry>()
  const entryFor = (node: Node, owner: Owner): NameEntry => {
    const zone = zoneEntries.get(node.zone.name) as ZoneEntry
    const seed = owner === QNAME ? (parentName(node.name) ?? '') : node.name
    if (node.cut !== undefined) {
      const isCut = node.cut === node.name
      const plans = new Map<number, Plan>()
      if (isCut) plans.set(TYPE.DS, nodata(node, seed))
      return { plans, other: referralFor(node.cut), referral: referralFor(node.cut), isCut, wildcard: undefined, zone }
    }
    const plans = new Map<number, Plan>()
    const types = new Set<string>(node.rrsets.keys())
    if (node.pool?.kind === 'address') { types.add('A'); types.add('AAAA') }
    const cname = node.rrsets.get('CNAME') ?? (node.pool?.kind === 'host' ? node.pool : undefined)
    if (cname !== undefined) {
      // Every query type follows the chain; precompile the types found along it.
      for (const t of chainTypes(node, find)) types.add(t)
    }
    for (const t of types) plans.set(RR_TYPE_CODE[t as Rdata['type']], compileAnswer(node, owner, seed, RR_TYPE_CODE[t as Rdata['type']], find, nodes))
    const anyType = node.pool !== undefined ? (node.pool.kind === 'host' ? 'CNAME' : node.pool.hasV4 ? 'A' : 'AAAA') : ANY_PREFERENCE.find(t => node.rrsets.has(t))
    if (anyType !== undefined) plans.set(TYPE.ANY, compileAnswer(node, owner, seed, RR_TYPE_CODE[anyType], find, nodes))
    const other = cname !== undefined ? compileAnswer(node, owner, seed, -1, find, nodes) : nodata(node, seed)
    return { plans, other, referral: undefined, isCut: false, wildcard: undefined, zone }
  }

  for (const node of nodes.values()) {
    const entry = entryFor(node, node.name)
    const wild = nodes.get(`*.${node.name}`)
    const wildcard = wild === undefined || node.cut !== undefined ? undefined : entryFor(wild, QNAME)
    entries.set(wireKey(node.name), wildcard === undefined ? entry : { ...entry, wildcard })
  }
  return { names: entries, zones: [...zoneEntries.values()] }
}

/** Every owner, plus the empty non-terminals between owners and their apex; child zones win. */
function collectNodes (zones: readonly ZoneConfig[], pools: readonly PoolShape[]): Map<string, Node> {
  const nodes = new Map<string, Node>()
  const sorted = [...zones].sort((a, b) => labelCount(a.name) - labelCount(b.name))
  for (const zone of sorted) {
    for (const name of [...nodes.keys()]) if (isSubdomain(name, zone.name)) nodes.delete(name)
    for (const owner of zone.owners) addOwner(nodes, zone, owner, pools)
    const cuts = zone.owners.filter(o => o.name !== zone.name && o.rrsets.some(s => s.type === 'NS')).map(o => o.name)
    for (const node of nodes.values()) {
      if (node.zone !== zone) continue
      node.cut = cuts.filter(c => isSubdomain(node.name, c)).sort((a, b) => labelCount(a) - labelCount(b))[0]
    }
  }
  return nodes
}

function addOwner (nodes: Map<string, Node>, zone: ZoneConfig, owner: OwnerConfig, pools: readonly PoolShape[]): void {
  const rrsets = new Map(owner.rrsets.map(s => [s.type as string, s]))
  const index = owner.pool === undefined ? -1 : pools.findIndex(p => p.name === owner.pool)
  if (owner.pool !== undefined && index === -1) throw new RangeError(`zone ${zone.name}: owner ${owner.name} names an unknown pool "${owner.pool}"`)
  const pool = index === -1 ? undefined : { ...(pools[index] as PoolShape), index }
  nodes.set(owner.name, { name: owner.name, zone, rrsets, cut: undefined, pool })
  for (let n = parentName(owner.name); n !== undefined && isSubdomain(n, zone.name); n = parentName(n)) {
    if (!nodes.has(n)) nodes.set(n, { name: n, zone, rrsets: new Map(), cut: undefined, pool: undefined })
    if (n === zone.name) break
  }
}

function labelCount (name: string): number { return name === '' ? 0 : name.split('.').length }

function chainTypes (node: Node, find: (n: string) => Found): Set<string> {
  const out = new Set<string>()
  const seen = new Set<string>()
  let current: Node | undefined = node
  for (let hop = 0; current !== undefined && hop < MAX_CHAIN; hop++) {
    const cname = current.rrsets.get('CNAME')?.rdata[0]
    if (cname?.type !== 'CNAME' || seen.has(cname.target)) break
    seen.add(cname.target)
    const f = find(cname.target)
    if (f.kind !== 'node') break
    for (const t of f.node.rrsets.keys()) out.add(t)
    if (f.node.pool?.kind === 'address') { out.add('A'); out.add('AAAA') }
    current = f.node
  }
  out.delete('CNAME')
  return out
}

/**
 * An answer for `qtype` at `node`, following CNAMEs through our zones. `qtype` -1 stands for any
 * type the chain does not hold (the chain then ends in NODATA).
 */
function compileAnswer (node: Node, owner: Owner, seed: string, qtype: number, find: (n: string) => Found,
  nodes: ReadonlyMap<string, Node>): Plan {
  const answers: Array<{ owner: Owner, set: RRsetConfig }> = []
  let rcode: number = RCODE.NOERROR
  let negative: ZoneConfig | undefined
  let current: Node = node
  let currentOwner: Owner = owner
  const seen = new Set<string>([node.name])
  let dynamicEnd: { owner: Owner, node: Node, family: 4 | 6 | 'host' } | undefined
  for (let hop = 0; ; hop++) {
    const pool = current.pool
    const family = pool === undefined ? undefined : pool.kind === 'host' ? 'host' : qtype === TYPE.A ? 4 : qtype === TYPE.AAAA ? 6 : undefined
    if (family !== undefined) { dynamicEnd = { owner: currentOwner, node: current, family }; break }
    const direct = [...current.rrsets.values()].find(s => RR_TYPE_CODE[s.type] === qtype)
    if (direct !== undefined) { answers.push({ owner: currentOwner, set: direct }); break }
    const cname = current.rrsets.get('CNAME')
    if (cname === undefined) { negative = current.zone; break }
    answers.push({ owner: currentOwner, set: cname })
    const target = (cname.rdata[0] as { target: string }).target
    if (hop + 1 >= MAX_CHAIN || seen.has(target)) break
    seen.add(target)
    const f = find(target)
    if (f.kind === 'stop') break
    if (f.kind === 'nxdomain') { rcode = RCODE.NXDOMAIN; negative = f.zone; break }
    current = f.node
    currentOwner = target
  }

  const b = new TemplateBuilder(seed)
  for (const a of answers) writeSet(b, a.owner, a.set)
  if (dynamicEnd !== undefined) {
    const ref = b.ref(dynamicEnd.owner)
    if (ref === undefined) throw new Error(`no pointer for ${String(dynamicEnd.owner)}`)
    const prefix = b.build()
    const nb = new TemplateBuilder(seed)
    for (const a of answers) writeSet(nb, a.owner, a.set)
    nb.section('authority')
    writeNegativeSoa(nb, dynamicEnd.node.zone)
    const pool = dynamicEnd.node.pool as PoolShape & { index: number }
    return {
      rcode: RCODE.NOERROR,
      aa: true,
      template: prefix,
      dynamic: {
        pool: pool.index,
        family: dynamicEnd.family,
        type: dynamicEnd.family === 'host' ? TYPE.CNAME : dynamicEnd.family === 4 ? TYPE.A : TYPE.AAAA,
        ownerKind: ref[0],
        ownerValue: ref[1],
        nodata: { rcode: RCODE.NOERROR, aa: true, template: nb.build(), limitAs: { kind: Limit.NODATA, name: dynamicEnd.node.zone.name } },
      },
    }
  }
  if (negative !== undefined) {
    b.section('authority')
    writeNegativeSoa(b, negative)
  }
  b.markRequiredEnd()
  b.section('additional')
  for (const a of answers) writeAdditional(b, a.set, nodes)
  if (negative === undefined) return { rcode, aa: true, template: b.build() }
  return { rcode, aa: true, template: b.build(), limitAs: { kind: rcode === RCODE.NXDOMAIN ? Limit.NXDOMAIN : Limit.NODATA, name: negative.name } }
}

function nodata (node: Node, seed: string): Plan {
  const b = new TemplateBuilder(seed)
  b.section('authority')
  writeNegativeSoa(b, node.zone)
  return { rcode: RCODE.NOERROR, aa: true, template: b.build(), limitAs: { kind: Limit.NODATA, name: node.zone.name } }
}

/** NS of the cut in authority; glue for name servers below the cut is required additional data. */
function compileReferral (cut: Node, nodes: ReadonlyMap<string, Node>): Plan {
  const b = new TemplateBuilder(cut.name)
  b.section('authority')
  const ns = cut.rrsets.get('NS') as RRsetConfig
  writeSet(b, cut.name, ns)
  b.section('additional')
  for (const r of ns.rdata) {
    if (r.type !== 'NS' || !isSubdomain(r.target, cut.name)) continue
    const glue = nodes.get(r.target)
    for (const t of ['A', 'AAAA']) {
      const set = glue?.rrsets.get(t)
      if (set !== undefined) writeSet(b, r.target, set)
    }
  }
  return { rcode: RCODE.NOERROR, aa: false, template: b.build(), limitAs: { kind: Limit.REFERRAL, name: cut.name } }
}

function writeSet (b: TemplateBuilder, owner: Owner, set: RRsetConfig): void {
  for (const r of set.rdata) b.rr(owner, RR_TYPE_CODE[set.type], set.ttl, x => writeRdata(x, r))
}

/** RFC 2308 §3: the SOA in a negative answer carries min(SOA TTL, SOA MINIMUM). */
function writeNegativeSoa (b: TemplateBuilder, zone: ZoneConfig): void {
  const ttl = Math.min(zone.ttl, zone.soa.minimum)
  b.rr(zone.name, TYPE.SOA, ttl, x => writeRdata(x, { type: 'SOA', ...zone.soa }))
}

/** Optional addresses of in-zone NS, MX and SRV targets, dropped first when space is short. */
function writeAdditional (b: TemplateBuilder, set: RRsetConfig, nodes: ReadonlyMap<string, Node>): void {
  for (const r of set.rdata) {
    const target = r.type === 'NS' || r.type === 'SRV' ? r.target : r.type === 'MX' ? r.host : undefined
    const node = target === undefined ? undefined : nodes.get(target)
    if (node === undefined || node.cut !== undefined || target === undefined) continue
    for (const t of ['A', 'AAAA']) {
      const s = node.rrsets.get(t)
      if (s !== undefined) writeSet(b, target, s)
    }
  }
}
