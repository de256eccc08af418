/**
 * DNS answers from pools through real sockets (UDP and TCP), with admin state standing in for
 * health so the tests need no timing: rotation, answers, address families, CNAME pools, a CNAME
 * chain into a pool, a wildcard pool owner, ANY, nodata/servfail/fallback, degraded TTL.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { RCODE, TYPE } from '../src/dns/constants.js'
import { decodeMessage, type DecodedMessage } from '../src/dns/decode.js'
import { buildQuery, decodeBoth, tcpExchange, udpExchange } from './helpers/dns.js'
import { startIn, writeConfig, type Stack } from './helpers/stack.js'

const CONFIG = `listen: { dns: ["127.0.0.1:0"] }
pools:
  web:
    ttl: 40
    answers: 2
    members:
      - { name: a, address: 192.0.2.1 }
      - { name: b, address: 192.0.2.2 }
      - { name: c, address: 192.0.2.3 }
      - { name: v6, address: "2001:db8::1" }
  cdn:
    members:
      - { name: x, host: x.cdn.example.net }
      - { name: y, host: y.cdn.example.net }
  strict:
    min_healthy: 2
    on_insufficient: servfail
    members: [{ name: s1, address: 192.0.2.11 }, { name: s2, address: 192.0.2.12 }]
  empty-ok:
    on_insufficient: nodata
    members: [{ name: e1, address: 192.0.2.21 }]
  primary:
    on_insufficient: { fallback: backup }
    members: [{ name: p1, address: 192.0.2.31 }]
  backup:
    members: [{ name: b1, address: 198.51.100.1 }]
  sticky:
    policy: hash
    members: [{ name: h1, address: 192.0.2.41 }, { name: h2, address: 192.0.2.42 }, { name: h3, address: 192.0.2.43 }]
health: { coalesce: 0ms, state_file: state.json, startup_wait: 1s }
`
const ZONE = `zone: example.test
soa: { primary: ns1.example.test, contact: hostmaster.example.test, serial: 1, minimum: 60 }
records:
  "@": { NS: [ns1.example.test] }
  ns1: { A: 192.0.2.53 }
  www: { pool: web, TXT: "pool owners may hold other types" }
  alias: { CNAME: www.example.test }
  assets: { pool: cdn }
  img: { CNAME: assets.example.test }
  "*.apps": { pool: web }
  strict: { pool: strict }
  empty: { pool: empty-ok }
  site: { pool: primary }
  sticky: { pool: sticky }
`

describe('DNS answers from pools', () => {
  let stack: Stack
  const q = async (name: string, type: number = TYPE.A, tcp = false): Promise<DecodedMessage> => {
    const query = buildQuery({ name, type })
    const raw = tcp ? (await tcpExchange(stack.port, [query]))[0] : await udpExchange(stack.port, query)
    assert.ok(raw !== undefined)
    return decodeBoth(raw)
  }
  const data = (m: DecodedMessage): string[] => m.answer.map(a => a.data)
  const admin = async (key: string, state: 'ready' | 'drain' | 'maint', force?: 'up' | 'down'): Promise<void> => {
    await stack.app.core.setAdmin(key, { state, force: force ?? 'none' })
  }

  before(async () => { stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': ZONE })) })
  after(async () => { await stack.close() })

  test('A: `answers` records per response, rotating through every member, pool TTL, AA', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const m = await q('www.example.test')
      assert.equal(m.aa, true)
      assert.equal(m.answer.length, 2)
      assert.equal(m.answer[0]?.ttl, 40)
      for (const d of data(m)) seen.add(d)
    }
    assert.deepEqual([...seen].sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
  })

  test('AAAA comes from the IPv6 members only; other types from the zone', async () => {
    assert.deepEqual(data(await q('www.example.test', TYPE.AAAA)), ['2001:db8::1'])
    assert.deepEqual(data(await q('www.example.test', TYPE.TXT)), ['"pool owners may hold other types"'])
    const mx = await q('www.example.test', TYPE.MX)
    assert.equal(mx.answer.length, 0)
    assert.equal(mx.authority[0]?.typeName, 'SOA')
  })

  test('a pool of host names answers exactly one CNAME, rotating', async () => {
    const targets = new Set<string>()
    for (let i = 0; i < 4; i++) {
      for (const type of [TYPE.A, TYPE.AAAA, TYPE.CNAME]) {
        const m = await q('assets.example.test', type)
        assert.equal(m.answer.length, 1, 'one CNAME')
        assert.equal(m.answer[0]?.typeName, 'CNAME')
        targets.add(m.answer[0]?.data as string)
      }
    }
    assert.deepEqual([...targets].sort(), ['x.cdn.example.net.', 'y.cdn.example.net.'])
    const chain = await q('img.example.test')
    assert.deepEqual(chain.answer.map(a => a.typeName), ['CNAME', 'CNAME'])
  })

  test('a CNAME into a pool, a wildcard pool owner, ANY at a pool owner, over TCP too', async () => {
    const chain = await q('alias.example.test', TYPE.A, true)
    assert.deepEqual(chain.answer.map(a => a.typeName), ['CNAME', 'A', 'A'])
    assert.equal(chain.answer[1]?.name, 'www.example.test.')
    const wild = await q('x.y.apps.example.test')
    assert.equal(wild.answer.length, 2)
    assert.equal(wild.answer[0]?.name, 'x.y.apps.example.test.')
    const any = await q('www.example.test', TYPE.ANY)
    assert.ok(any.answer.length > 0 && any.answer.every(a => a.typeName === 'A'))
  })

  test('a drained member leaves the answers; the rest rotate; TTL stays (an operator choice is not degradation)', async () => {
    await admin('web/b', 'drain')
    try {
      for (let i = 0; i < 4; i++) {
        const m = await q('www.example.test')
        assert.ok(!data(m).includes('192.0.2.2'))
        assert.equal(m.answer[0]?.ttl, 40)
      }
    } finally { await admin('web/b', 'ready') }
  })

  test('a member forced down leaves the answers; TTL stays: forced down is an operator choice', async () => {
    await admin('web/a', 'ready', 'down')
    try {
      const m = await q('www.example.test')
      assert.ok(!data(m).includes('192.0.2.1'))
      assert.equal(m.answer[0]?.ttl, 40, 'forced down is an operator choice too')
    } finally { await admin('web/a', 'ready') }
  })

  test('below min_healthy: servfail and nodata as configured; fallback to another pool', async () => {
    await admin('strict/s1', 'maint')
    await admin('empty-ok/e1', 'maint')
    await admin('primary/p1', 'maint')
    try {
      assert.equal((await q('strict.example.test')).rcode, RCODE.SERVFAIL)
      const nodata = await q('empty.example.test')
      assert.equal(nodata.rcode, RCODE.NOERROR)
      assert.equal(nodata.answer.length, 0)
      assert.equal(nodata.authority[0]?.typeName, 'SOA')
      assert.deepEqual(data(await q('site.example.test')), ['198.51.100.1'])
    } finally {
      await admin('strict/s1', 'ready')
      await admin('empty-ok/e1', 'ready')
      await admin('primary/p1', 'ready')
    }
    assert.equal((await q('strict.example.test')).answer.length, 2)
  })

  test('hash: the same resolver subnet keeps its member', async () => {
    const first = data(await q('sticky.example.test'))
    assert.equal(first.length, 1)
    for (let i = 0; i < 5; i++) assert.deepEqual(data(await q('sticky.example.test')), first)
    const raw = await udpExchange(stack.port, buildQuery({ name: 'sticky.example.test', edns: false }))
    assert.deepEqual(decodeMessage(raw as Buffer).answer.map(a => a.data), first)
  })
})
