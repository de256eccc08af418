/**
 * The health core end to end, through real sockets: fake HTTP backends switched between failure
 * modes, DNS queries to a running server, the admin API over HTTP, and a restart that must keep a
 * drain. Intervals are short (200 ms); waits poll the DNS answer, they do not sleep blindly.
 */
import assert from 'node:assert/strict'
import { createServer as createTcpServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { FakeBackend, type Mode } from './helpers/backend.js'
import { buildQuery, ecsOption, udpExchange } from './helpers/dns.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const ZONE = zone('  www: { pool: web }\n  dl: { CNAME: www.example.test }\n')
const INTERVAL = 200
const COALESCE = 50

async function answers (port: number, name = 'www.example.test', type = 1): Promise<string[]> {
  const r = await udpExchange(port, buildQuery({ name, type }), '127.0.0.1', 1000)
  assert.ok(r !== undefined, 'no DNS answer')
  return decodeMessage(r).answer.filter(a => a.type === type).map(a => a.data)
}

/** Poll until `cond` holds; returns the time it first held. */
async function until (cond: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const end = Date.now() + limitMs
  while (Date.now() < end) {
    if (await cond()) return Date.now()
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for: ${what}`)
}

function config (backends: FakeBackend[], extra = ''): string {
  return `listen: { dns: ["127.0.0.1:0"], admin: "127.0.0.1:0" }
checks:
  web: { type: http, path: /healthz, interval: ${INTERVAL}ms, fast_interval: ${INTERVAL}ms, down_interval: ${INTERVAL}ms, timeout: 100ms, rise: 2, fall: 2, jitter: 0% }
pools:
  web:
    check: web
    ttl: 30
    members:
${backends.map((b, i) => `      - { name: m${i + 1}, address: 127.0.0.${11 + i}, check_address: 127.0.0.1, check_port: ${b.port} }`).join('\n')}
health: { coalesce: ${COALESCE}ms, state_file: state/admin.json, startup_wait: 2s }
${extra}`
}

describe('health-checked pool, end to end', () => {
  const backends = [new FakeBackend(), new FakeBackend(), new FakeBackend()]
  let stack: Stack
  let dir: string

  before(async () => {
    for (const b of backends) await b.start()
    dir = await writeConfig({ 'gslb.yaml': config(backends), 'zones/example.test.yaml': ZONE })
    stack = await startIn(dir, true)
  })
  after(async () => {
    await stack.close()
    for (const b of backends) await b.stop()
  })

  test('the server is ready after the first round and answers with every member, rotating', async () => {
    assert.equal(stack.app.core.snapshot.ready, true)
    const seen = new Set<string>()
    for (let i = 0; i < 3; i++) seen.add((await answers(stack.port)).join(','))
    assert.equal(seen.size, 3, `three rotations: ${[...seen].join(' | ')}`)
    assert.deepEqual((await answers(stack.port))?.sort(), ['127.0.0.11', '127.0.0.12', '127.0.0.13'])
  })

  for (const mode of ['500', 'hang', 'refused', 'reset'] as Mode[]) {
    test(`${mode}: the member leaves within one interval plus coalescing of its fall-th failure, and returns after rise successes`, async () => {
      const b = backends[0] as FakeBackend
      const start = b.log.length
      await b.set(mode)
      const goneAt = await until(async () => !(await answers(stack.port)).includes('127.0.0.11'), 5000, 'member gone')
      if (mode !== 'refused') {
        const firstFail = b.log.slice(start).find(e => !e.ok)
        assert.ok(firstFail !== undefined)
        // fall = 2: the second failure comes one interval after the first; then the coalescing delay.
        const limit = INTERVAL + 100 /* timeout */ + COALESCE + 150 /* scheduling and polling slack */
        assert.ok(goneAt - firstFail.at <= limit, `${goneAt - firstFail.at} ms from the first failed probe (limit ${limit})`)
      }
      const answer = await udpExchange(stack.port, buildQuery({ name: 'www.example.test' }))
      assert.equal(decodeMessage(answer as Buffer).answer[0]?.ttl, 15, 'TTL halved while degraded')
      await b.set('ok')
      const okFrom = Date.now()
      const backAt = await until(async () => (await answers(stack.port)).includes('127.0.0.11'), 5000, 'member back')
      const oks = b.log.filter(e => e.ok && e.at >= okFrom)
      assert.ok(oks.length >= 2, `returned after ${oks.length} successful probes (rise 2)`)
      assert.ok(backAt >= (oks[1]?.at ?? 0), 'not before the rise-th success')
    })
  }

  test('a down member\'s reason follows its latest probe, and the API shows the last probes', async () => {
    const b = backends[1] as FakeBackend
    const admin = `http://127.0.0.1:${stack.adminPort as number}`
    const member = async (): Promise<{ health: string, health_reason: string, recent_probes: Array<{ ok: boolean, ms: number, detail: string }> }> => {
      const pools = await (await fetch(`${admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ name: string, health: string, health_reason: string, recent_probes: Array<{ ok: boolean, ms: number, detail: string }> }> }> }
      return pools.pools[0]?.members.find(m => m.name === 'm2') as Awaited<ReturnType<typeof member>>
    }
    try {
      await b.set('refused')
      await until(async () => (await member()).health === 'down', 5000, 'down, refused')
      assert.match((await member()).health_reason, /ECONNREFUSED/)
      await b.set('hang') // the backend is replaced by one that accepts and never answers
      await until(async () => /timeout after 100 ms/.test((await member()).health_reason), 5000, 'the reason follows the hang')
      const m = await member()
      assert.equal(m.health, 'down')
      assert.match(m.health_reason, /^http check failed again: timeout after 100 ms$/)
      assert.ok(m.recent_probes.length >= 3 && m.recent_probes.length <= 10)
      const last = m.recent_probes.at(-1)
      assert.equal(last?.ok, false)
      assert.ok((last?.ms ?? 0) >= 90, `the timed-out probe took ${last?.ms ?? 0} ms`)
      assert.ok(m.recent_probes.some(p => /ECONNREFUSED/.test(p.detail)), 'the refused probes are still in the history')
    } finally {
      await b.set('ok')
      await until(async () => (await answers(stack.port)).includes('127.0.0.12'), 5000, 'm2 back')
    }
  })

  test('slow (just under the timeout): stays up', async () => {
    const b = backends[1] as FakeBackend
    b.slowMs = 80
    await b.set('slow')
    const probesBefore = b.log.length
    await until(async () => b.log.length >= probesBefore + 3, 3000, 'three slow probes')
    assert.ok((await answers(stack.port)).includes('127.0.0.12'))
    await b.set('ok')
  })

  test('flapping (alternating ok and 500) with rise 2 / fall 2: never changes state', async () => {
    const b = backends[1] as FakeBackend
    await b.set('flap')
    const probesBefore = b.log.length
    await until(async () => b.log.length >= probesBefore + 6, 4000, 'six flapping probes')
    const key = stack.app.core.snapshot.byName.get('web')?.members[1]?.checkKey as string
    assert.equal(stack.app.core.monitor.get(key)?.health.status, 'up')
    assert.ok((await answers(stack.port)).includes('127.0.0.12'))
    await b.set('ok')
  })

  test('a CNAME into the pool gets the same health-filtered members', async () => {
    await (backends[2] as FakeBackend).set('500')
    await until(async () => !(await answers(stack.port, 'dl.example.test')).includes('127.0.0.13'), 5000, 'gone behind the CNAME')
    await (backends[2] as FakeBackend).set('ok')
    await until(async () => (await answers(stack.port, 'dl.example.test')).includes('127.0.0.13'), 5000, 'back behind the CNAME')
  })

  test('drain through the admin API without a restart; a restart keeps it; ready undoes it', async () => {
    const admin = `http://127.0.0.1:${stack.adminPort as number}`
    const put = (body: object): Promise<Response> => fetch(`${admin}/v1/members/web/m2/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await put({ state: 'drain', note: 'kernel upgrade' })).status, 200)
    assert.ok(!(await answers(stack.port)).includes('127.0.0.12'), 'drained at once')
    const pools = await (await fetch(`${admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ name: string, health: string, admin: string }> }> }
    const m2 = pools.pools[0]?.members.find(m => m.name === 'm2')
    assert.deepEqual([m2?.health, m2?.admin], ['up', 'drain'], 'health and admin state both visible')

    await stack.close()
    stack = await startIn(dir, true)
    assert.ok(!(await answers(stack.port)).includes('127.0.0.12'), 'still drained after a restart')

    const admin2 = `http://127.0.0.1:${stack.adminPort as number}`
    const r = await fetch(`${admin2}/v1/members/web/m2/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'ready' }) })
    assert.equal(r.status, 200)
    assert.ok((await answers(stack.port)).includes('127.0.0.12'))
    const bad = await fetch(`${admin2}/v1/members/web/nope/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'drain' }) })
    assert.equal(bad.status, 404)
    const invalid = await fetch(`${admin2}/v1/members/web/m1/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'sleeping' }) })
    assert.equal(invalid.status, 400)
  })

  test('force down with an expiry comes back by itself', async () => {
    const admin = `http://127.0.0.1:${stack.adminPort as number}`
    const r = await fetch(`${admin}/v1/members/web/m3/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ force: 'down', expires: new Date(Date.now() + 600).toISOString() }) })
    assert.equal(r.status, 200)
    assert.ok(!(await answers(stack.port)).includes('127.0.0.13'))
    await until(async () => (await answers(stack.port)).includes('127.0.0.13'), 3000, 'expiry')
  })
})

describe('other check types, end to end', () => {
  test('tcp, dns (against our own server), agent (drain, weight) and http weight_from_body', async () => {
    const agentReply = { text: 'up 50%\n' }
    const agent = createTcpServer(s => { s.on('error', () => {}); s.end(agentReply.text) })
    await new Promise<void>(resolve => agent.listen(0, '127.0.0.1', resolve))
    const agentPort = (agent.address() as { port: number }).port
    const weighted = await new FakeBackend().start()
    weighted.body = '7'
    const dir = await writeConfig({
      'zones/example.test.yaml': zone('  tcp: { pool: tcp }\n  agent: { pool: agent }\n  wt: { pool: wt }\n'),
      'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }
checks:
  tcp: { type: tcp, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }
  agent: { type: agent, port: ${agentPort}, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }
  wt: { type: http, port: ${weighted.port}, weight_from_body: true, interval: 200ms, timeout: 100ms }
pools:
  tcp:
    check: tcp
    members:
      - { name: open, address: 192.0.2.1, check_address: 127.0.0.1, check_port: ${agentPort} }
      - { name: closed, address: 192.0.2.2, check_address: 127.0.0.1, check_port: 1 }
  agent:
    check: agent
    members:
      - { name: a, address: 192.0.2.10, weight: 10, check_address: 127.0.0.1 }
      - { name: b, address: 192.0.2.11, check_address: 127.0.0.2 }
  wt:
    check: wt
    members: [{ name: w, address: 192.0.2.20, check_address: 127.0.0.1 }]
health: { coalesce: 0ms, startup_wait: 2s, state_file: state.json }
`,
    })
    const stack = await startIn(dir)
    try {
      assert.deepEqual(await answers(stack.port, 'tcp.example.test'), ['192.0.2.1'])
      const a = stack.app.core.snapshot.byName.get('agent')?.members[0]
      assert.equal(a?.weight, 5, 'agent "50%" halves the configured weight 10')
      assert.equal(stack.app.core.snapshot.byName.get('wt')?.members[0]?.weight, 7, 'weight from the body')
      agentReply.text = 'drain\n'
      await until(async () => !(await answers(stack.port, 'agent.example.test')).includes('192.0.2.10'), 3000, 'agent drain')
      assert.equal(stack.app.core.snapshot.byName.get('agent')?.members[0]?.adminSource, 'agent')
    } finally {
      await stack.close()
      agent.close()
      await weighted.stop()
    }
  })

  test('a dns check against our own server; hash policy pins a client subnet and reports its ECS scope', async () => {
    const dir = await writeConfig({
      'zones/example.test.yaml': zone('  h: { pool: hashed }\n'),
      'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }
checks:
  self: { type: dns, query: { name: example.test, type: SOA }, interval: 200ms, timeout: 100ms }
pools:
  hashed:
    check: self
    policy: hash
    members:
${Array.from({ length: 4 }, (_, i) => `      - { name: h${i}, address: 192.0.2.${30 + i}, check_address: 127.0.0.1, check_port: 1 }`).join('\n')}
health: { coalesce: 0ms, startup_wait: 1s, state_file: state.json }
`,
    })
    const stack = await startIn(dir)
    try {
      // Port 1 answers nothing: the dns check fails and the pool fails open; the check itself is what we test first.
      const key = stack.app.core.snapshot.byName.get('hashed')?.members[0]?.checkKey as string
      assert.equal(stack.app.core.monitor.get(key)?.health.status, 'down')
      const q = (net: number[]): Buffer => buildQuery({ name: 'h.example.test', edns: { options: [ecsOption(1, 24, 0, net)] } })
      const first = decodeMessage(await udpExchange(stack.port, q([198, 51, 100])) as Buffer)
      assert.equal(first.answer.length, 1)
      for (let i = 0; i < 5; i++) {
        const again = decodeMessage(await udpExchange(stack.port, q([198, 51, 100])) as Buffer)
        assert.equal(again.answer[0]?.data, first.answer[0]?.data, 'same subnet, same member')
      }
      assert.deepEqual([...(first.opt?.options[0]?.data ?? [])], [0, 1, 24, 24, 198, 51, 100], 'ECS scope 24: the answer depends on the /24')
    } finally {
      await stack.close()
    }
    // And a dns check that passes: point it at a server that answers.
    const okDir = await writeConfig({
      'zones/example.test.yaml': zone('  self: { pool: self }\n'),
      'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }
checks:
  self: { type: dns, query: { name: example.test, type: SOA }, interval: 200ms, timeout: 150ms }
pools:
  self:
    check: self
    members: [{ name: s, address: 192.0.2.40, check_address: 127.0.0.1, check_port: PORT }]
health: { coalesce: 0ms, startup_wait: 1s, state_file: state.json }
`,
    })
    const upstream = await startIn(await writeConfig({ 'zones/example.test.yaml': zone() }))
    const { readFile, writeFile } = await import('node:fs/promises')
    const cfgPath = `${okDir}/gslb.yaml`
    await writeFile(cfgPath, (await readFile(cfgPath, 'utf8')).replace('PORT', String(upstream.port)))
    const checked = await startIn(okDir)
    try {
      const key = checked.app.core.snapshot.byName.get('self')?.members[0]?.checkKey as string
      assert.equal(checked.app.core.monitor.get(key)?.health.status, 'up')
      assert.match(checked.app.core.monitor.get(key)?.health.lastDetail ?? '', /DNS NOERROR/)
    } finally {
      await checked.close()
      await upstream.close()
    }
  })
})
