/**
 * Pool decisions and selection policies as pure functions: eligibility, min_healthy, every
 * on_insufficient action, failover groups, weight 0, per-family health, degraded TTL; then the
 * query-time policies, including the statistical ones (weighted shares, hash stability).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { HealthOptions, MemberConfig, PoolConfig } from '../src/config/model.js'
import type { AdminEntry } from '../src/core/admin-state.js'
import type { Ordering } from '../src/core/select.js'
import type { HealthStatus } from '../src/core/health-state.js'
import { decideFamily, memberView, needed, percentOf, type FamilyDecision, type MemberView } from '../src/core/pool-view.js'
import { fnv1a, LoadTracker, rotationStart, select } from '../src/core/select.js'

const HEALTH: HealthOptions = { initialState: 'up', startupWaitMs: 0, coalesceMs: 0, maxInFlight: 10, stateFile: 'x' }

interface M { name: string, address?: string, weight?: number, group?: number, health?: HealthStatus, admin?: Partial<AdminEntry> }

function pool (members: M[], over: Partial<PoolConfig> = {}): { pool: PoolConfig, views: MemberView[] } {
  const configs: MemberConfig[] = members.map((m, i) => ({
    name: m.name, site: undefined, address: m.address ?? `192.0.2.${i + 1}`, host: undefined, family: (m.address ?? '').includes(':') ? 6 : 4,
    weight: m.weight ?? 1, group: m.group ?? 1, checkAddress: undefined, checkPort: undefined, url: undefined, urlIpv6: false, file: 'x', line: 1, col: 1,
  }))
  const p: PoolConfig = {
    name: 'p', check: 'c', policy: 'round-robin', answers: 64, ttl: 30, degradedTtl: 15, minHealthy: { count: 1 },
    onInsufficient: { action: 'serve-all' }, hashBalanceFactor: 1.25, within: 'round-robin', geo: undefined, members: configs, file: 'x', line: 1, col: 1, ...over,
  }
  const views = configs.map((c, i) => {
    const m = members[i] as M
    const admin = m.admin === undefined ? undefined : { state: 'ready' as const, force: undefined, expiresAt: undefined, setAt: 0, note: undefined, ...m.admin }
    return memberView(p, c, { health: m.health ?? 'up', healthReason: m.health === 'down' ? '3 failed checks' : 'ok', checkKey: 'k', reportedWeight: undefined, agentState: undefined, admin, rdata: Buffer.alloc(4), slot: i }, HEALTH)
  })
  return { pool: p, views }
}

function decide4 (members: M[], over: Partial<PoolConfig> = {}, fallback?: FamilyDecision): FamilyDecision {
  const { pool: p, views } = pool(members, over)
  return decideFamily(p, views, 4, () => fallback ?? assert.fail('no fallback expected'))
}
const names = (d: FamilyDecision): string[] => d.members.map(m => m.name)

describe('pool decision', () => {
  test('healthy members are served; a down one is excluded with its reason; TTL shortened while degraded', () => {
    const d = decide4([{ name: 'a' }, { name: 'b', health: 'down' }, { name: 'c' }])
    assert.equal(d.kind, 'members')
    assert.deepEqual(names(d), ['a', 'c'])
    assert.equal(d.degraded, true)
    assert.equal(d.ttl, 15)
    assert.ok(d.reasons.some(r => r === 'b excluded: down: 3 failed checks'))
  })

  test('all healthy: full TTL, not degraded', () => {
    const d = decide4([{ name: 'a' }, { name: 'b' }])
    assert.equal(d.ttl, 30)
    assert.equal(d.degraded, false)
  })

  test('drain and maint are excluded, forced up is served whatever its health, forced down is not', () => {
    const d = decide4([
      { name: 'drained', admin: { state: 'drain' } },
      { name: 'maint', admin: { state: 'maint' } },
      { name: 'forced-up', health: 'down', admin: { force: 'up' } },
      { name: 'forced-down', admin: { force: 'down' } },
    ])
    assert.deepEqual(names(d), ['forced-up'])
    assert.equal(d.degraded, false, 'admin removals do not count as degradation')
  })

  test('unknown health follows health.initial_state', () => {
    const { pool: p, views } = pool([{ name: 'a', health: 'unknown' }])
    assert.equal(views[0]?.eligible, true)
    const down = memberView(p, p.members[0] as MemberConfig, { health: 'unknown', healthReason: '', checkKey: 'k', reportedWeight: undefined, agentState: undefined, admin: undefined, rdata: Buffer.alloc(4), slot: 0 }, { ...HEALTH, initialState: 'down' })
    assert.equal(down.eligible, false)
    assert.match(down.why, /initial_state: down/)
  })

  test('weight 0 members serve only when nothing else is eligible', () => {
    assert.deepEqual(names(decide4([{ name: 'a' }, { name: 'standby', weight: 0 }])), ['a'])
    assert.deepEqual(names(decide4([{ name: 'a', health: 'down' }, { name: 'standby', weight: 0 }])), ['standby'])
  })

  test('a reported percent scales the configured weight, rounded, never down to 0 from a positive share', () => {
    assert.equal(percentOf(100, 50), 50)
    assert.equal(percentOf(100, 33), 33)
    assert.equal(percentOf(2, 50), 1)
    assert.equal(percentOf(1, 33), 1, 'not 0: that would make the member a standby')
    assert.equal(percentOf(1, 0), 0)
    assert.equal(percentOf(0, 50), 0)
  })

  test('needed(): counts capped at the set size, percentages rounded up, at least 1', () => {
    assert.equal(needed({ count: 2 }, 5), 2)
    assert.equal(needed({ count: 9 }, 3), 3)
    assert.equal(needed({ percent: 50 }, 3), 2)
    assert.equal(needed({ percent: 50 }, 4), 2)
    assert.equal(needed({ percent: 0 }, 4), 1)
  })

  const threeOfWhichTwoDown: M[] = [{ name: 'a' }, { name: 'b', health: 'down' }, { name: 'c', health: 'down' }]
  test('below min_healthy, serve-all fails open with every member not taken out by an operator', () => {
    const d = decide4([...threeOfWhichTwoDown, { name: 'm', admin: { state: 'maint' } }], { minHealthy: { count: 2 } })
    assert.equal(d.kind, 'members')
    assert.deepEqual(names(d), ['a', 'b', 'c'])
    assert.equal(d.ttl, 15)
    assert.ok(d.reasons.some(r => r.includes('serve-all')))
  })
  test('all down with serve-all (the default) still answers with all of them', () => {
    assert.deepEqual(names(decide4([{ name: 'a', health: 'down' }, { name: 'b', health: 'down' }])), ['a', 'b'])
  })
  test('below min_healthy: nodata', () => {
    assert.equal(decide4(threeOfWhichTwoDown, { minHealthy: { percent: 50 }, onInsufficient: { action: 'nodata' } }).kind, 'nodata')
  })
  test('below min_healthy: servfail', () => {
    assert.equal(decide4(threeOfWhichTwoDown, { minHealthy: { count: 2 }, onInsufficient: { action: 'servfail' } }).kind, 'servfail')
  })
  test('below min_healthy: fallback to another pool, with the shorter TTL', () => {
    const other = decide4([{ name: 'x' }], { name: 'other', ttl: 60, degradedTtl: 30 })
    const d = decide4(threeOfWhichTwoDown, { minHealthy: { count: 2 }, onInsufficient: { action: 'fallback', pool: 'other' } }, other)
    assert.deepEqual(names(d), ['x'])
    assert.equal(d.servedBy, 'other', 'the pool whose members are served')
    assert.equal(d.ttl, 15)
    assert.ok(d.reasons.some(r => r === 'on_insufficient: fallback to pool other'))
  })

  test('failover: the first group with enough healthy members wins', () => {
    const members: M[] = [{ name: 'p1', group: 1 }, { name: 'p2', group: 1 }, { name: 's1', group: 2 }, { name: 't1', group: 3 }]
    assert.deepEqual(names(decide4(members, { policy: 'failover' })), ['p1', 'p2'])
    const primaryDown = members.map(m => m.group === 1 ? { ...m, health: 'down' as const } : m)
    const d = decide4(primaryDown, { policy: 'failover' })
    assert.deepEqual(names(d), ['s1'])
    assert.ok(d.reasons.some(r => r.includes('group 1: 0/2 eligible, fewer than the 1 needed')))
    const half = members.map(m => m.name === 'p1' ? { ...m, health: 'down' as const } : m)
    assert.deepEqual(names(decide4(half, { policy: 'failover', minHealthy: { percent: 100 } })), ['s1'], 'min_healthy applies per group')
  })

  test('health is judged per address family', () => {
    const { pool: p, views } = pool([{ name: 'v4', address: '192.0.2.1', health: 'down' }, { name: 'v6', address: '2001:db8::1' }])
    const v4 = decideFamily(p, views, 4, () => assert.fail())
    const v6 = decideFamily(p, views, 6, () => assert.fail())
    assert.equal(v4.degraded, true)
    assert.deepEqual(names(v4), ['v4'], 'all IPv4 down: fail open within IPv4')
    assert.equal(v6.degraded, false)
    assert.deepEqual(names(v6), ['v6'])
    assert.equal(decideFamily(p, views, 'host', () => assert.fail()).kind, 'empty')
  })
})

function ctx (policy: Ordering, cursor: number, over: Partial<Parameters<typeof select>[1]> = {}): Parameters<typeof select>[1] {
  return { policy, answers: 64, cursor, clientHash: 0, balanceFactor: 1.25, load: undefined, ...over }
}

describe('policies', () => {
  const d = decide4([{ name: 'a' }, { name: 'b' }, { name: 'c' }])
  test('round-robin rotates the whole set on every response', () => {
    const seen = [0, 1, 2, 3].map(c => select(d, ctx('round-robin', c)).map(m => m.name).join(''))
    assert.deepEqual(seen, ['abc', 'bca', 'cab', 'abc'])
  })
  test('answers limits the records per response', () => {
    assert.deepEqual(select(d, ctx('round-robin', 1, { answers: 2 })).map(m => m.name), ['b', 'c'])
  })
  test('first: config order, no rotation', () => {
    assert.deepEqual([0, 1, 2].map(c => select(d, ctx('first', c, { answers: 1 }))[0]?.name), ['a', 'a', 'a'])
  })
  test('explain receives a reason per step', () => {
    const why: string[] = []
    select(d, ctx('round-robin', 4), why)
    assert.deepEqual(why, ['round-robin: rotation 1 of 3, 3 answers'])
  })

  test('weighted: first-record shares within 5% of the weights over 10,000 answers', () => {
    const w = decide4([{ name: 'a', weight: 5 }, { name: 'b', weight: 3 }, { name: 'c', weight: 2 }])
    const counts = new Map<string, number>()
    for (let c = 0; c < 10_000; c++) {
      const first = select(w, ctx('weighted', c, { answers: 1 }))[0]?.name as string
      counts.set(first, (counts.get(first) ?? 0) + 1)
    }
    for (const [name, weight] of [['a', 5], ['b', 3], ['c', 2]] as const) {
      const share = (counts.get(name) ?? 0) / 10_000
      assert.ok(Math.abs(share - weight / 10) <= 0.05 * weight / 10, `${name}: ${share} vs ${weight / 10}`)
    }
  })

  test('rotationStart is where select() starts, for every rotating policy; -1 for hash', () => {
    const w = decide4([{ name: 'a', weight: 5 }, { name: 'b', weight: 0 }, { name: 'c', weight: 2 }, { name: 'd', weight: 1 }])
    for (const policy of ['first', 'round-robin', 'failover', 'weighted'] as const) {
      for (let c = 0; c < 500; c++) {
        const start = rotationStart(w.members, policy, c)
        assert.equal(w.members[start]?.name, select(w, ctx(policy, c, { answers: 1 }))[0]?.name, `${policy} cursor ${c}`)
      }
    }
    assert.equal(rotationStart(w.members, 'hash', 3), -1)
  })

  test('hash: a client keeps its member; when one of N goes down only about 1/N of clients move', () => {
    const n = 5
    const all = decide4(Array.from({ length: n }, (_, i) => ({ name: `m${i}` })))
    const without = decide4(Array.from({ length: n }, (_, i) => ({ name: `m${i}`, health: i === 2 ? 'down' as const : 'up' as const })), { minHealthy: { count: 1 } })
    const clients = Array.from({ length: 5000 }, (_, i) => fnv1a(`198.51.${i >> 8}.${i & 255}`))
    const pick = (dd: FamilyDecision, h: number): string => select(dd, ctx('hash', 0, { answers: 1, clientHash: h }))[0]?.name as string
    assert.deepEqual(clients.slice(0, 50).map(h => pick(all, h)), clients.slice(0, 50).map(h => pick(all, h)), 'stable')
    let moved = 0
    let lost = 0
    for (const h of clients) {
      const before = pick(all, h)
      const after = pick(without, h)
      if (before === 'm2') lost++
      else if (before !== after) moved++
    }
    assert.equal(moved, 0, 'clients of surviving members stay put')
    assert.ok(lost / clients.length < 1.5 / n, `moved ${lost} of ${clients.length}`)
  })

  test('hash with bounded load: no member takes more than the factor × average', () => {
    const dd = decide4(Array.from({ length: 4 }, (_, i) => ({ name: `m${i}` })))
    const load = new LoadTracker()
    const counts = new Map<string, number>()
    // A skewed client mix: 60% of queries from one subnet.
    for (let i = 0; i < 4000; i++) {
      const h = i % 10 < 6 ? 12345 : fnv1a(`client-${i}`)
      const name = select(dd, ctx('hash', 0, { answers: 1, clientHash: h, balanceFactor: 1.25, load }))[0]?.name as string
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    for (const [name, c] of counts) assert.ok(c <= 1.25 * 1000 + 1, `${name} took ${c}`)
  })
})
