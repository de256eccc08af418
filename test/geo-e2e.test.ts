/**
 * Geo routing through real sockets: DNS over UDP with and without EDNS Client Subnet for each
 * policy (the answer, the echoed option and its scope), failover by geography when a site's
 * backends stop and return, the database swapped while serving (and a broken file refused), and
 * redirects placed by X-Forwarded-For or Forwarded from trusted proxies only.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildCityDatabase } from '../src/geo/build-demo.js'
import { clientOf, parseCidrs } from '../src/http/client-address.js'
import { FakeBackend } from './helpers/backend.js'
import { buildQuery, ecsOption, udpExchange } from './helpers/dns.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const DEMO_DB = join(import.meta.dirname, '..', '..', 'geo', 'demo-city.mmdb')
const SITES = `sites:
  fra: { country: DE, continent: EU, lat: 50.11, lon: 8.68 }
  nyc: { country: US, continent: NA, lat: 40.71, lon: -74.01 }
  tok: { country: JP, continent: AS, lat: 35.68, lon: 139.65 }
`
const members = (check = ''): string => `    members:
      - { name: fra-1, address: 127.0.1.1, site: fra, url: "http://fra-1.example.net/"${check === '' ? '' : `, ${check.replace('PORT', '0')}`} }
      - { name: fra-2, address: 127.0.1.2, site: fra, url: "http://fra-2.example.net/"${check === '' ? '' : `, ${check.replace('PORT', '1')}`} }
      - { name: nyc-1, address: 127.0.2.1, site: nyc, url: "http://nyc-1.example.net/"${check === '' ? '' : `, ${check.replace('PORT', '2')}`} }
      - { name: tok-1, address: 127.0.3.1, site: tok, url: "http://tok-1.example.net/"${check === '' ? '' : `, ${check.replace('PORT', '3')}`} }
`
const ZONE = zone('  geo: { pool: geo }\n  near: { pool: near }\n  hashed: { pool: hashed }\n  plain: { pool: plain }\n')
const POOLS = `checks: { up: { type: static, state: up } }
pools:
  geo:
    check: up
    policy: geo
    geo:
      map: { EU: [fra, nyc], NA: [nyc, fra], AS: [tok, nyc], default: [fra, nyc, tok] }
      nets: { "127.0.9.0/24": [tok] }
${members()}  near:
    check: up
    policy: nearest
    within: first
    answers: 1
${members()}  hashed:
    check: up
    policy: hash
${members()}  plain:
    check: up
${members()}`

interface Answer { addresses: string[], ecs: { source: number, scope: number, address: string } | undefined, ttl: number | undefined }

async function ask (port: number, name: string, subnet?: [number, number, number[]]): Promise<Answer> {
  const options = subnet === undefined ? [] : [ecsOption(subnet[0], subnet[1], 0, subnet[2])]
  const raw = await udpExchange(port, buildQuery({ name, edns: { options } }))
  assert.ok(raw !== undefined, 'no answer')
  const m = decodeMessage(raw)
  const opt = m.opt?.options.find(o => o.code === 8)?.data
  const ecs = opt === undefined ? undefined : { source: opt[2] as number, scope: opt[3] as number, address: opt.subarray(4).toString('hex') }
  return { addresses: m.answer.map(a => a.data).sort(), ecs, ttl: m.answer[0]?.ttl }
}

const v4 = (a: string): [number, number, number[]] => { const [net = '', bits = '24'] = a.split('/'); return [1, Number(bits), net.split('.').map(Number).slice(0, Math.ceil(Number(bits) / 8))] }

describe('geo over DNS, with the demo database', () => {
  let stack: Stack
  before(async () => {
    const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\ngeo: { database: ${DEMO_DB} }\n${SITES}${POOLS}`, 'zones/example.test.yaml': ZONE })
    stack = await startIn(dir)
  })
  after(async () => { await stack.close() })

  const cases: Array<{ name: string, q: string, subnet?: [number, number, number[]], addresses: string[], scope?: number }> = [
    { name: 'geo: a Frankfurt ECS client gets fra, scope 24', q: 'geo', subnet: v4('127.0.1.0/24'), addresses: ['127.0.1.1', '127.0.1.2'], scope: 24 },
    { name: 'geo: a New York ECS client gets nyc', q: 'geo', subnet: v4('127.0.2.0/24'), addresses: ['127.0.2.1'], scope: 24 },
    { name: 'geo: a Tokyo client over IPv6 ECS gets tok, scope 48 (its database network)', q: 'geo', subnet: [2, 56, [0x20, 0x01, 0x0d, 0xb8, 0, 3, 0]], addresses: ['127.0.3.1'], scope: 48 },
    { name: 'geo: nets beats the database (127.0.9.0/24 is Johannesburg, nets says tok)', q: 'geo', subnet: v4('127.0.9.0/24'), addresses: ['127.0.3.1'], scope: 24 },
    { name: 'geo: a /16 source is answered for its network, scope no longer than the source', q: 'geo', subnet: v4('127.0.0.0/16'), addresses: ['127.0.1.1', '127.0.1.2'], scope: 16 },
    { name: 'geo: source 0 means "do not use my address": the resolver\'s, scope 0', q: 'geo', subnet: [1, 0, []], addresses: ['127.0.1.1', '127.0.1.2'], scope: 0 },
    { name: 'geo: without ECS, the resolver (127.0.0.1, not in the database) gets the default list', q: 'geo', addresses: ['127.0.1.1', '127.0.1.2'] },
    { name: 'nearest: London is nearest to fra', q: 'near', subnet: v4('127.0.4.0/24'), addresses: ['127.0.1.1'], scope: 24 },
    { name: 'nearest: São Paulo is nearest to nyc', q: 'near', subnet: v4('127.0.5.0/24'), addresses: ['127.0.2.1'], scope: 24 },
    { name: 'nearest: Sydney is nearest to tok', q: 'near', subnet: v4('127.0.6.0/24'), addresses: ['127.0.3.1'], scope: 24 },
    { name: 'hash: the answer depends on the /24, scope 24', q: 'hashed', subnet: v4('127.0.7.0/24'), addresses: [], scope: 24 },
    { name: 'round-robin: the answer does not depend on the client, scope 0', q: 'plain', subnet: v4('127.0.1.0/24'), addresses: ['127.0.1.1', '127.0.1.2', '127.0.2.1', '127.0.3.1'], scope: 0 },
  ]
  for (const c of cases) {
    test(c.name, async () => {
      const a = await ask(stack.port, `${c.q}.example.test`, c.subnet)
      if (c.addresses.length > 0) assert.deepEqual(a.addresses, c.addresses)
      else assert.equal(a.addresses.length, 1)
      if (c.subnet === undefined) assert.equal(a.ecs, undefined, 'no ECS in the query: none in the answer')
      else assert.deepEqual(a.ecs && { source: a.ecs.source, scope: a.ecs.scope }, { source: c.subnet[1], scope: c.scope }, 'the option is echoed with its scope')
    })
  }

  test('hash: one /24 keeps its member; the whole /24 shares it', async () => {
    const first = await ask(stack.port, 'hashed.example.test', v4('127.0.7.0/24'))
    for (let i = 0; i < 5; i++) assert.deepEqual((await ask(stack.port, 'hashed.example.test', v4('127.0.7.0/24'))).addresses, first.addresses)
  })
})

test('geo.ecs: false ignores the option: placed by the resolver, echoed with scope 0', async () => {
  const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\ngeo: { database: ${DEMO_DB}, ecs: false }\n${SITES}${POOLS}`, 'zones/example.test.yaml': ZONE })
  const stack = await startIn(dir)
  try {
    const a = await ask(stack.port, 'geo.example.test', v4('127.0.2.0/24'))
    assert.deepEqual(a.addresses, ['127.0.1.1', '127.0.1.2'], 'the default list, not New York')
    assert.equal(a.ecs?.scope, 0)
  } finally {
    await stack.close()
  }
})

test('no database: geo pools answer with their default list, scope 0', async () => {
  const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\n${SITES}${POOLS.replace('nets: { "127.0.9.0/24": [tok] }', 'nets: {}')}`, 'zones/example.test.yaml': ZONE })
  const stack = await startIn(dir)
  try {
    const a = await ask(stack.port, 'geo.example.test', v4('127.0.2.0/24'))
    assert.deepEqual(a.addresses, ['127.0.1.1', '127.0.1.2'])
    assert.equal(a.ecs?.scope, 0)
  } finally {
    await stack.close()
  }
})

describe('failover by geography', () => {
  const backends = [new FakeBackend(), new FakeBackend(), new FakeBackend(), new FakeBackend()]
  let stack: Stack | undefined
  before(async () => {
    for (const b of backends) await b.start()
    const check = 'check_address: 127.0.0.1, check_port: PORT'
    const pool = `checks: { web: { type: http, path: /healthz, interval: 200ms, fast_interval: 200ms, down_interval: 200ms, timeout: 100ms, rise: 2, fall: 2, jitter: 0% } }
pools:
  geo:
    check: web
    policy: geo
    geo: { map: { EU: [fra, nyc], NA: [nyc, fra], default: [fra, nyc, tok] } }
${members(check)}`
    const withPorts = pool.replace(/check_port: (\d)/g, (_m, i: string) => `check_port: ${(backends[Number(i)] as FakeBackend).port}`)
    const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\ngeo: { database: ${DEMO_DB} }\nhealth: { coalesce: 50ms, startup_wait: 2s }\n${SITES}${withPorts}`, 'zones/example.test.yaml': zone('  geo: { pool: geo }\n') })
    stack = await startIn(dir)
  })
  after(async () => {
    await stack?.close()
    for (const b of backends) await b.stop()
  })

  test('Frankfurt clients go to nyc when both fra backends stop, and come back after rise', async () => {
    const port = (stack as Stack).port
    const frankfurt = async (): Promise<Answer> => await ask(port, 'geo.example.test', v4('127.0.1.0/24'))
    assert.deepEqual((await frankfurt()).addresses, ['127.0.1.1', '127.0.1.2'])
    await Promise.all([backends[0]?.set('refused'), backends[1]?.set('500')])
    await until(async () => (await frankfurt()).addresses.join() === '127.0.2.1', 5000, 'fra clients on nyc')
    const moved = await frankfurt()
    assert.equal(moved.ttl, 15, 'served past the first site: degraded TTL')
    assert.equal(moved.ecs?.scope, 24)
    assert.deepEqual((await ask(port, 'geo.example.test', v4('127.0.2.0/24'))).addresses, ['127.0.2.1'], 'New York is not affected')
    await backends[1]?.set('ok')
    await until(async () => (await frankfurt()).addresses.join() === '127.0.1.2', 5000, 'fra-2 back for fra clients')
    assert.ok(backends[1] !== undefined && backends[1].log.filter(e => e.ok).length >= 2, 'after rise (2) good probes')
    await backends[0]?.set('ok')
  })
})

/** Poll `cond` (a DNS answer) until it holds. */
async function until (cond: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`timed out waiting for: ${what}`)
}

test('the database file is swapped while serving; a broken file keeps the old one', async () => {
  const dir = await writeConfig({ 'gslb.yaml': `listen: { dns: ["127.0.0.1:0"] }\ngeo: { database: city.mmdb }\n${SITES}${POOLS}`, 'zones/example.test.yaml': ZONE })
  await copyFile(DEMO_DB, join(dir, 'city.mmdb'))
  const stack = await startIn(dir)
  const geo = stack.app.geo
  assert.ok(geo !== undefined)
  try {
    assert.deepEqual((await ask(stack.port, 'geo.example.test', v4('127.0.1.0/24'))).addresses, ['127.0.1.1', '127.0.1.2'])
    // geoipupdate's way: write a new file beside it, rename it over the old one.
    const moved = buildCityDatabase([{ network: '127.0.1.0/24', continent: 'NA', country: 'US', lat: 40, lon: -74 }], { databaseType: 'test-City', description: 'moved', buildEpoch: 2 })
    await writeFile(join(dir, 'city.mmdb.new'), moved)
    const loaded = once(geo, 'loaded')
    await rename(join(dir, 'city.mmdb.new'), join(dir, 'city.mmdb'))
    await loaded
    assert.deepEqual((await ask(stack.port, 'geo.example.test', v4('127.0.1.0/24'))).addresses, ['127.0.2.1'], 'the new database places the /24 in North America')

    const rejected = once(geo, 'rejected')
    await writeFile(join(dir, 'city.mmdb'), 'not a database')
    const [err] = await rejected as [Error]
    assert.match(err.message, /not a MaxMind DB file/)
    assert.deepEqual((await ask(stack.port, 'geo.example.test', v4('127.0.1.0/24'))).addresses, ['127.0.2.1'], 'the last good database keeps serving')
    assert.ok((await readFile(join(dir, 'city.mmdb'), 'utf8')).startsWith('not'))
  } finally {
    await stack.close()
  }
})

for (const header of ['x-forwarded-for', 'forwarded'] as const) {
  describe(`redirects placed by the client address (client_header: ${header})`, () => {
    let stack: Stack
    let port: number
    before(async () => {
      const dir = await writeConfig({
        'gslb.yaml': `listen: { dns: ["127.0.0.1:0"], http: "127.0.0.1:0" }
geo: { database: ${DEMO_DB} }
http: { trusted_proxies: [127.0.0.1], client_header: ${header} }
${SITES}${POOLS}redirects:
  - { host: dl.example.test, pool: near, alternates: 2 }
`,
        'zones/example.test.yaml': ZONE,
      })
      stack = await startIn(dir)
      port = (stack.app.http?.app.server.address() as { port: number }).port
    })
    after(async () => { await stack.close() })

    /** A GET from `localAddress` with `headers`; the Location and Link. */
    const get = (headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<{ status: number, location: string | undefined, link: string | undefined }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/pub/f.iso', localAddress, agent: false, headers: { host: 'dl.example.test', ...headers } }, res => {
          res.resume()
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, link: res.headers.link as string | undefined })
        })
        req.on('error', reject)
        req.end()
      })

    const tokyo = 'http://tok-1.example.net/pub/f.iso'
    const nyc = 'http://nyc-1.example.net/pub/f.iso'
    const fra = 'http://fra-1.example.net/pub/f.iso'
    const cases: Array<{ name: string, headers: Record<string, string>, from?: string, location: string }> = header === 'x-forwarded-for'
      ? [
          { name: 'X-Forwarded-For from a trusted proxy: placed in Tokyo', headers: { 'x-forwarded-for': '127.0.3.9' }, location: tokyo },
          { name: 'a client\'s own Forwarded passed through by the proxy is not read', headers: { forwarded: 'for=127.0.3.9', 'x-forwarded-for': '127.0.2.9' }, location: nyc },
          { name: 'X-Forwarded-For from an untrusted peer changes nothing', headers: { 'x-forwarded-for': '127.0.3.9' }, from: '127.0.5.5', location: nyc },
        ]
      : [
          { name: 'Forwarded from a trusted proxy: placed in Tokyo', headers: { forwarded: 'for=127.0.3.9;proto=http' }, location: tokyo },
          { name: 'Forwarded with a quoted IPv6 address and port', headers: { forwarded: 'for="[2001:db8:3::7]:4711"' }, location: tokyo },
          { name: 'a client\'s own X-Forwarded-For is not read', headers: { 'x-forwarded-for': '127.0.3.9', forwarded: 'for=127.0.2.9' }, location: nyc },
          { name: 'an obfuscated Forwarded hop ends the walk at the proxy', headers: { forwarded: 'for=127.0.3.9, for=_hidden' }, location: fra },
          { name: 'Forwarded from an untrusted peer changes nothing', headers: { forwarded: 'for=127.0.3.9' }, from: '127.0.5.5', location: nyc },
        ]
    for (const c of cases) {
      test(c.name, async () => {
        const r = await get(c.headers, c.from)
        assert.equal(r.status, 302)
        assert.equal(r.location, c.location)
      })
    }

    if (header === 'x-forwarded-for') {
      test('alternates go on into the client\'s next sites, nearest first', async () => {
        const r = await get({ 'x-forwarded-for': '127.0.4.4' }) // London: fra, then nyc
        assert.equal(r.location?.startsWith('http://fra-1.example.net/'), true)
        assert.equal(r.link, '<http://fra-2.example.net/pub/f.iso>; rel=duplicate; pri=1, <http://nyc-1.example.net/pub/f.iso>; rel=duplicate; pri=2')
      })
    }
  })
}

describe('client address from headers (table)', () => {
  const trusted = parseCidrs(['10.0.0.0/8', '2001:db8:ffff::/48'])
  const cases: Array<[string, string, { xff?: string, proto?: string, fwd?: string }, 'x-forwarded-for' | 'forwarded', string, boolean]> = [
    ['untrusted peer: the peer', '192.0.2.1', { xff: '198.51.100.7', fwd: 'for=198.51.100.8' }, 'x-forwarded-for', '192.0.2.1', false],
    ['XFF walked from the right past trusted hops', '10.0.0.1', { xff: '198.51.100.7, 10.0.0.9', proto: 'https' }, 'x-forwarded-for', '198.51.100.7', true],
    ['XFF: a client-supplied left part is not believed past an untrusted hop', '10.0.0.1', { xff: '6.6.6.6, 198.51.100.7' }, 'x-forwarded-for', '198.51.100.7', false],
    ['XFP: the entry beside the address when proxies append both', '10.0.0.1', { xff: '198.51.100.7, 10.0.0.9', proto: 'https, http' }, 'x-forwarded-for', '198.51.100.7', true],
    ['XFP: a client-supplied leftmost entry is not believed', '10.0.0.1', { xff: '198.51.100.7', proto: 'https, http' }, 'x-forwarded-for', '198.51.100.7', false],
    ['Forwarded: for and proto of the client\'s element', '10.0.0.1', { fwd: 'for=198.51.100.7;proto=https, for=10.0.0.9;proto=http' }, 'forwarded', '198.51.100.7', true],
    ['Forwarded: quoted IPv6 with port', '10.0.0.1', { fwd: 'For="[2001:DB8::1]:4711"' }, 'forwarded', '2001:db8::1', false],
    ['Forwarded: unknown ends the walk', '10.0.0.1', { fwd: 'for=198.51.100.7, for=unknown' }, 'forwarded', '10.0.0.1', false],
    ['Forwarded: a quoted comma does not split', '10.0.0.1', { fwd: 'for=198.51.100.7;by="a,b"' }, 'forwarded', '198.51.100.7', false],
    ['Forwarded is not read when the proxies write X-Forwarded-For', '10.0.0.1', { fwd: 'for=198.51.100.8', xff: '198.51.100.7' }, 'x-forwarded-for', '198.51.100.7', false],
    ['IPv4-mapped peer counts as IPv4, in any case', '::FFFF:10.0.0.1', { xff: '198.51.100.7' }, 'x-forwarded-for', '198.51.100.7', false],
  ]
  for (const [name, peer, h, header, address, https] of cases) {
    test(name, () => {
      const c = clientOf(peer, h.xff, h.proto, h.fwd, trusted, header)
      assert.deepEqual([c.address, c.https], [address, https])
    })
  }
})

describe('geo edge cases', () => {
  let stack: Stack
  let http: number
  before(async () => {
    const dir = await writeConfig({
      'gslb.yaml': `listen: { dns: ["127.0.0.1:0"], http: "127.0.0.1:0" }
geo: { database: ${DEMO_DB} }
http: { trusted_proxies: [127.0.0.1] }
${SITES}checks: { up: { type: static, state: up } }
pools:
  strict:
    check: up
    policy: geo
    on_insufficient: nodata
    geo: { map: { EU: [fra], NA: [nyc], default: [fra] } }
    members:
      - { name: fra-1, address: 127.0.1.1, site: fra }
      - { name: nyc-1, address: 127.0.2.1, site: nyc }
  a:
    check: up
    on_insufficient: { fallback: b }
    members: [{ name: a-1, address: 192.0.2.1 }]
  b:
    check: up
    on_insufficient: { fallback: geo2 }
    members: [{ name: b-1, address: 192.0.2.2 }]
  geo2:
    check: up
    policy: geo
    geo: { map: { EU: [fra, nyc], NA: [nyc, fra], AS: [tok, nyc], default: [fra, nyc, tok] }, nets: { "127.0.9.0/24": [tok] } }
${members()}  tls:
    check: up
    policy: geo
    geo: { map: { EU: [fra, nyc], default: [nyc, fra] } }
    members:
      - { name: fra-http, address: 127.0.1.1, site: fra, url: "http://fra.example.net/" }
      - { name: nyc-https, address: 127.0.2.1, site: nyc, url: "https://nyc.example.net/" }
redirects:
  - { host: tls.example.test, pool: tls, alternates: 1 }
`,
      'zones/example.test.yaml': zone('  strict: { pool: strict }\n  chain: { pool: a }\n  geo2: { pool: geo2 }\n'),
    })
    stack = await startIn(dir)
    http = (stack.app.http?.app.server.address() as { port: number }).port
    await stack.app.core.setAdmin('strict/fra-1', { state: 'maint' })
    await stack.app.core.setAdmin('a/a-1', { force: 'down' })
    await stack.app.core.setAdmin('b/b-1', { force: 'down' })
  })
  after(async () => { await stack.close() })

  test('a NODATA that depends on the client carries the scope, so a resolver does not cache it for everyone', async () => {
    const eu = await ask(stack.port, 'strict.example.test', v4('127.0.1.0/24'))
    assert.deepEqual(eu.addresses, [])
    assert.equal(eu.ecs?.scope, 24)
    const na = await ask(stack.port, 'strict.example.test', v4('127.0.2.0/24'))
    assert.deepEqual([na.addresses, na.ecs?.scope], [['127.0.2.1'], 24])
  })

  test('a fallback chain that ends in a geo pool places the client', async () => {
    const na = await ask(stack.port, 'chain.example.test', v4('127.0.2.0/24'))
    assert.deepEqual(na.addresses, ['127.0.2.1'])
    assert.equal(na.ecs?.scope, 24)
    const tokyo = await ask(stack.port, 'chain.example.test', v4('127.0.3.0/24'))
    assert.deepEqual(tokyo.addresses, ['127.0.3.1'])
  })

  test('an IPv4-mapped ECS subnet is an IPv4 client; the scope goes back in IPv6 bits', async () => {
    const mapped = (a: number, b: number, c: number): [number, number, number[]] => [2, 120, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c]]
    const tokyo = await ask(stack.port, 'geo2.example.test', mapped(127, 0, 3))
    assert.deepEqual([tokyo.addresses, tokyo.ecs?.scope], [['127.0.3.1'], 120])
    const nets = await ask(stack.port, 'geo2.example.test', mapped(127, 0, 9))
    assert.deepEqual(nets.addresses, ['127.0.3.1'], 'the IPv4 nets entry applies')
  })

  test('when the request filter empties the client\'s site (no https there), the redirect goes on to the next site', async () => {
    const location = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: http, path: '/x', agent: false, headers: { host: 'tls.example.test', 'x-forwarded-for': '127.0.1.9', 'x-forwarded-proto': 'https' } }, res => { res.resume(); resolve(`${res.statusCode ?? 0} ${res.headers.location ?? ''}`) })
      req.on('error', reject)
      req.end()
    })
    assert.equal(location, '302 https://nyc.example.net/x')
  })
})
