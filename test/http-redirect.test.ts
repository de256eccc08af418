/**
 * The redirect service: with inject() for routing, headers, filters and the malicious-input table
 * (the table in docs/redirects.md#safety), and over real sockets for what inject() cannot send
 * (duplicate Host, absolute-form targets, NUL, oversized headers) and for live health changes.
 */
import assert from 'node:assert/strict'
import { get as httpGet } from 'node:http'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildRedirectApp, type ServerLimits } from '../src/http/app.js'
import { normalizePath } from '../src/http/location.js'
import { RouteTable } from '../src/http/route-table.js'
import type { RouteConfig } from '../src/config/model.js'
import { FakeBackend } from './helpers/backend.js'
import { rawExchange } from './helpers/http.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const ZONE = zone()
const CONFIG = `listen: { dns: ["127.0.0.1:0"], http: "127.0.0.1:0", admin: "127.0.0.1:0" }
http: { trusted_proxies: [127.0.0.0/8] }
pools:
  mirrors:
    members:
      - { name: m1, url: "https://m1.example.net/debian/" }
      - { name: m2, url: "https://m2.example.net/debian" }
      - { name: m3, url: "http://m3.example.net/", url_ipv6: true }
  single:
    members: [{ name: only, url: "https://only.example.net/" }]
  sticky:
    policy: hash
    members:
      - { name: c1, url: "https://c1.example.net/" }
      - { name: c2, url: "https://c2.example.net/" }
      - { name: c3, url: "https://c3.example.net/" }
redirects:
  - { host: dl.example.test, path: /pub/, pool: mirrors, alternates: 2, debug_headers: true, allow_downgrade: true }
  - { host: dl.example.test, path: /secure/, pool: mirrors }
  - { host: dl.example.test, path: /v6/, pool: mirrors, match_family: true, allow_downgrade: true }
  - { host: dl.example.test, path: /noquery/, pool: mirrors, keep_query: false, allow_downgrade: true }
  - { host: dl.example.test, path: /perm/, pool: single, status: 301 }
  - { host: dl.example.test, path: /temp/, pool: single, status: 307, cache_control: "max-age=60" }
  - { host: dl.example.test, path: /other/, pool: single, status: 308, alternates: 0 }
  - { host: dl.example.test, path: /see/, pool: single, status: 303 }
  - { host: ["*.cdn.example.test", cdn.example.test], pool: sticky, affinity: path }
  - { host: fb.example.test, pool: single, fallback_url: "https://origin.example.net/files/", debug_headers: true }
  - { host: none.example.test, pool: single, retry_after: 1m, debug_headers: true }
health: { coalesce: 0ms, state_file: state.json, startup_wait: 1s }
`

describe('redirects (inject)', () => {
  let stack: Stack
  let app: FastifyInstance
  const get = async (url: string, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
    await app.inject({ method: 'GET', url, headers: { host: 'dl.example.test', ...headers } })

  before(async () => {
    stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': ZONE }))
    app = buildRedirectApp({ snapshot: () => stack.app.core.snapshot, http: stack.app.config.http })
    await app.ready()
  })
  after(async () => { await app.close(); await stack.close() })

  test('302 to a member: base URL + path under the prefix + query, no-cache, Link alternates, debug headers', async () => {
    const r = await get('/pub/dists/bookworm/Release?x=1&y=a%20b')
    assert.equal(r.statusCode, 302)
    const loc = r.headers.location as string
    assert.match(loc, /^(https:\/\/m1\.example\.net\/debian|https:\/\/m2\.example\.net\/debian|http:\/\/m3\.example\.net)\/dists\/bookworm\/Release\?x=1&y=a%20b$/)
    assert.equal(r.headers['cache-control'], 'no-cache')
    const links = String(r.headers.link).split(', ')
    assert.equal(links.length, 2)
    assert.match(links[0] as string, /^<https?:\/\/m\d\.example\.net\/.*dists\/bookworm\/Release\?x=1&y=a%20b>; rel=duplicate; pri=1$/)
    assert.match(links[1] as string, /; rel=duplicate; pri=2$/)
    assert.equal(r.headers['x-gslb-pool'], 'mirrors')
    assert.match(String(r.headers['x-gslb-member']), /^m[123]$/)
  })

  test('round-robin: consecutive requests start with different members; Location and Link follow the rotation and carry each request\'s own path', async () => {
    const seen = new Set<string>()
    const base: Record<string, string> = { m1: 'https://m1.example.net/debian/', m2: 'https://m2.example.net/debian/', m3: 'http://m3.example.net/' }
    const order = ['m1', 'm2', 'm3']
    for (let i = 0; i < 6; i++) {
      const r = await get(`/pub/file-${i}?n=${i}`)
      const member = String(r.headers['x-gslb-member'])
      seen.add(member)
      const next = order.slice(order.indexOf(member) + 1).concat(order).slice(0, 2)
      assert.equal(r.headers.location, `${base[member] as string}file-${i}?n=${i}`)
      assert.equal(r.headers.link, next.map((m, k) => `<${base[m] as string}file-${i}?n=${i}>; rel=duplicate; pri=${k + 1}`).join(', '))
    }
    assert.equal(seen.size, 3)
  })

  test('status and Cache-Control per route', async () => {
    const cases: Array<[string, number, string | undefined]> = [['/perm/x', 301, undefined], ['/temp/x', 307, 'max-age=60'], ['/other/x', 308, undefined], ['/see/x', 303, 'no-cache']]
    for (const [url, status, cc] of cases) {
      const r = await get(url)
      assert.equal(r.statusCode, status, url)
      assert.equal(r.headers['cache-control'], cc, url)
      assert.equal(r.headers.location, `https://only.example.net/${url.split('/')[2] as string}`)
    }
    assert.equal((await get('/other/x')).headers.link, undefined, 'alternates: 0')
  })

  test('keep_query: false drops the query', async () => {
    assert.doesNotMatch(String((await get('/noquery/f?token=1')).headers.location), /\?/)
  })

  test('wildcard host with path affinity: the same path goes to the same member from any client', async () => {
    const a = await app.inject({ url: '/big/file.iso', headers: { host: 'eu.cdn.example.test', 'x-forwarded-for': '198.51.100.7' } })
    const b = await app.inject({ url: '/big/file.iso', headers: { host: 'cdn.example.test', 'x-forwarded-for': '203.0.113.9' } })
    assert.equal(a.statusCode, 302)
    assert.equal(a.headers.location, b.headers.location)
    const others = new Set<string>()
    for (let i = 0; i < 20; i++) others.add(String((await app.inject({ url: `/f${i}`, headers: { host: 'cdn.example.test' } })).headers.location).split('/')[2] as string)
    assert.ok(others.size >= 2, 'different paths spread over members')
  })

  test('https requests only get https members unless the route allows a downgrade; only from trusted proxies', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get('/secure/f', { 'x-forwarded-proto': 'https' })
      assert.match(String(r.headers.location), /^https:/)
    }
    const all = new Set<string>()
    for (let i = 0; i < 6; i++) all.add(String((await get('/pub/f', { 'x-forwarded-proto': 'https' })).headers.location).split(':')[0] as string)
    assert.deepEqual([...all].sort(), ['http', 'https'], 'downgrade allowed on /pub/')
    const untrusted = await app.inject({ url: '/secure/f', headers: { host: 'dl.example.test', 'x-forwarded-proto': 'https' }, remoteAddress: '198.51.100.1' })
    const seen = new Set<string>()
    seen.add(String(untrusted.headers.location).split(':')[0] as string)
    for (let i = 0; i < 5; i++) seen.add(String((await app.inject({ url: '/secure/f', headers: { host: 'dl.example.test', 'x-forwarded-proto': 'https' }, remoteAddress: '198.51.100.1' })).headers.location).split(':')[0] as string)
    assert.ok(seen.has('http'), 'an untrusted peer cannot claim https')
  })

  test('IPv6 clients only get members with IPv6 when the route asks for it', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await get('/v6/f', { 'x-forwarded-for': '2001:db8::7' })
      assert.equal(r.headers.location, 'http://m3.example.net/f')
    }
    const v4 = new Set<string>()
    for (let i = 0; i < 6; i++) v4.add(String((await get('/v6/f', { 'x-forwarded-for': '198.51.100.7' })).headers.location))
    assert.equal(v4.size, 3)
  })

  test('?mirrorlist lists chosen, alternates and excluded members with reasons', async () => {
    await stack.app.core.setAdmin('mirrors/m2', { state: 'drain' })
    try {
      const r = await get('/pub/some/file?mirrorlist')
      assert.equal(r.statusCode, 200)
      const body = r.json() as { chosen: { name: string }, alternates: Array<{ name: string }>, excluded: Array<{ name: string, reason: string }> }
      assert.ok(['m1', 'm3'].includes(body.chosen.name))
      assert.equal(body.alternates.length, 1)
      assert.deepEqual(body.excluded, [{ name: 'm2', url: 'https://m2.example.net/debian/', site: null, country: null, reason: 'drain (operator)' }])
    } finally {
      await stack.app.core.setAdmin('mirrors/m2', { state: 'ready', force: 'none' })
    }
  })

  test('a member taken out between two requests: the second goes elsewhere', async () => {
    const first = await get('/perm/x')
    assert.equal(first.headers.location, 'https://only.example.net/x')
    await stack.app.core.setAdmin('single/only', { force: 'down' })
    try {
      const r = await get('/perm/x')
      assert.equal(r.statusCode, 503, 'no other member: 503, never the down one')
      assert.equal(r.headers['retry-after'], '30')
      const fb = await app.inject({ url: '/a/b.iso?v=1', headers: { host: 'fb.example.test' } })
      assert.equal(fb.statusCode, 302)
      assert.equal(fb.headers.location, 'https://origin.example.net/files/a/b.iso?v=1', 'fallback URL')
      assert.equal(fb.headers['x-gslb-pool'], 'single', 'debug headers on the fallback redirect too')
      const none = await app.inject({ url: '/x', headers: { host: 'none.example.test' } })
      assert.equal(none.headers['retry-after'], '60')
      assert.equal(none.headers['x-gslb-pool'], 'single')
    } finally {
      await stack.app.core.setAdmin('single/only', { state: 'ready', force: 'none' })
    }
  })

  // docs/redirects.md#safety, one case per row
  const malicious: Array<{ row: string, url: string, headers?: Record<string, string>, method?: 'GET' | 'POST' | 'TRACE', status: number, location?: RegExp }> = [
    { row: '85 CRLF encoded in the path', url: '/pub/a%0d%0aSet-Cookie:x=1', status: 400 },
    { row: '85 CRLF encoded in the query stays encoded', url: '/pub/a?x=%0d%0aSet-Cookie:x=1', status: 302, location: /\?x=%0D%0ASet-Cookie:x=1$/ },
    { row: '86 //evil.example stays under the member', url: '//evil.example/pub/x', status: 404 },
    { row: '86 //evil after the prefix', url: '/pub//evil.example/x', status: 302, location: /^https?:\/\/m\d\.example\.net\/(debian\/)?evil\.example\/x$/ },
    { row: '87 encoded backslash', url: '/pub/%5cevil.example', status: 400 },
    { row: '88 ?to=https://evil is only a query', url: '/pub/x?to=https://evil.example', status: 302, location: /^https?:\/\/m\d\.example\.net\/.*x\?to=https:\/\/evil\.example$/ },
    { row: '89 unknown Host', url: '/pub/x', headers: { host: 'evil.example' }, status: 421 },
    { row: '93 ../ inside the prefix is resolved', url: '/pub/a/../b', status: 302, location: /\/b$/ },
    { row: '93 ../ out of the prefix leaves the route', url: '/pub/../secret', status: 404 },
    { row: '94 bad percent-encoding', url: '/pub/%zz', status: 400 },
    { row: '98 TRACE', url: '/pub/x', method: 'TRACE', status: 404 },
    { row: 'non-ASCII is percent-encoded', url: '/pub/caf\u00e9 "x"', status: 302, location: /\/caf%C3%A9%20%22x%22$/ },
  ]
  for (const c of malicious) {
    test(`malicious input ${c.row}`, async () => {
      const r = await app.inject({ method: c.method ?? 'GET', url: c.url, headers: { host: 'dl.example.test', ...c.headers } })
      assert.equal(r.statusCode, c.status, `${c.url}: ${r.body}`)
      if (c.location !== undefined) assert.match(String(r.headers.location), c.location)
      if (r.headers.location !== undefined) assert.match(String(r.headers.location), /^https?:\/\/(m\d|only)\.example\.net\//, 'Location only under a member URL')
    })
  }
})

describe('normalizePath', () => {
  const cases: Array<[string, string | null]> = [
    ['/', '/'], ['/a/b', '/a/b'], ['/a//b', '/a/b'], ['/a/./b', '/a/b'], ['/a/%2E/b', '/a/b'], ['/a/b/..', '/a'], ['/a/b/', '/a/b/'],
    ['/..', null], ['/a\\b', null], ['/a%00', null], ['/a%7f', null], ['/%G1', null], ['a', null], ['/a%2fb', '/a%2Fb'],
    ['/.hidden/a.b', '/.hidden/a.b'], ['/a/.', '/a'], ['/a/..b', '/a/..b'], ['/a~b/c;d=1/', '/a~b/c;d=1/'], ['/\u00c3\u00a9', '/%C3%A9'], ['/a b', '/a%20b'], ['/a%3fb', '/a%3Fb'],
    // Found by test/fuzz-path.test.ts: a surrogate pair or a lone surrogate threw URIError.
    ['/\u2028', '/%E2%80%A8'], ['/a\u{1f600}b', '/a%F0%9F%98%80b'], ['/a\ud800b', '/a%EF%BF%BDb'], ['/\udc00', '/%EF%BF%BD'],
  ]
  // Node hands the request target over as latin1: raw UTF-8 "é" arrives as "\u00c3\u00a9".
  for (const [input, want] of cases) {
    test(JSON.stringify(input), () => {
      const r = normalizePath(input)
      if (want === null) assert.equal(r.ok, false)
      else assert.deepEqual(r, { ok: true, path: want })
      // The handler passes the whole target and where its path ends; a query must change nothing.
      const q = normalizePath(`${input}?x=/..//y`, input.length)
      if (want === null) assert.equal(q.ok, false)
      else assert.deepEqual(q, { ok: true, path: want })
    })
  }
})

describe('RouteTable', () => {
  const route = (hosts: string[], path: string): RouteConfig => ({ hosts, path, pool: `${hosts[0] as string}${path}` }) as unknown as RouteConfig
  const table = new RouteTable([route(['a.test'], '/'), route(['a.test'], '/pub/'), route(['*.b.test'], '/x/'), route(['c.test'], '/only/')])
  const pool = (host: string, path: string): string => {
    const m = table.match(host, path)
    return m.kind === 'route' ? m.route.pool : m.kind
  }
  test('longest prefix, wildcards, unknown hosts and missing routes, in any order of lookups', () => {
    // Repeated and alternating hosts: the last-host shortcut must never leak one host's routes to another.
    const cases: Array<[string, string, string]> = [
      ['a.test', '/pub/f', 'a.test/pub/'], ['a.test', '/pub', 'a.test/pub/'], ['a.test', '/public', 'a.test/'],
      ['z.b.test', '/x/1', '*.b.test/x/'], ['z.b.test', '/y', 'no-route'], ['b.test', '/x/1', 'unknown-host'],
      ['a.test', '/', 'a.test/'], ['c.test', '/', 'no-route'], ['nope.test', '/', 'unknown-host'], ['c.test', '/only/x', 'c.test/only/'],
      ['nope.test', '/', 'unknown-host'], ['a.test', '/pub/', 'a.test/pub/'],
    ]
    for (const [host, path, want] of [...cases, ...cases.reverse()]) assert.equal(pool(host, path), want, `${host}${path}`)
  })
})

describe('redirects over real sockets', () => {
  let stack: Stack
  let httpPort: number
  before(async () => {
    stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': ZONE }))
    httpPort = (stack.app.http?.app.server.address() as { port: number }).port
  })
  after(async () => { await stack.close() })

  const rows: Array<[string, string, RegExp]> = [
    ['a plain GET', 'GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 302 /],
    ['HEAD', 'HEAD /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 302 /],
    ['90 missing Host', 'GET /pub/f HTTP/1.1\r\nConnection: close\r\n\r\n', / 400 /],
    ['91 duplicate Host', 'GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nHost: evil.example\r\nConnection: close\r\n\r\n', / 400 /],
    ['92 absolute-form target', 'GET http://evil.example/pub/f HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 400 /],
    // inject() parses URLs like a browser (\\ → /, dot segments resolved), so these go over a socket.
    ['87 backslash', 'GET /pub/\\evil.example HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 400 /],
    ['93 ../ climbing above the root', 'GET /pub/../../etc/passwd HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 400 /],
    ['93 %2e%2e climbing above the root', 'GET /%2e%2e/%2E%2E/etc HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 400 /],
    ['93 ../ out of the prefix leaves the route', 'GET /pub/../secret HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 404 /],
    ['95 NUL in the path', 'GET /pub/a\0b HTTP/1.1\r\nHost: dl.example.test\r\nConnection: close\r\n\r\n', / 400 /],
    ['95 CL and TE together', 'GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n', / 400 /],
    ['96 body over the limit', `POST /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n${'x'.repeat(5000)}`, / 4\d\d /],
    ['97 header over 16 KiB', `GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nX-Big: ${'x'.repeat(17000)}\r\nConnection: close\r\n\r\n`, / 431 /],
    ['97 header over 8 KiB (our limit)', `GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\nX-Big: ${'x'.repeat(9000)}\r\nConnection: close\r\n\r\n`, / 431 /],
  ]
  for (const [name, request, want] of rows) {
    test(name, async () => { assert.match((await rawExchange(httpPort, request)).split('\r\n')[0] ?? '', want) })
  }

  /** A redirect app on the running stack's snapshot with shrunk limits, listening on a free port. */
  const listenWith = async (limits: Partial<ServerLimits>): Promise<{ app: FastifyInstance, port: number }> => {
    const app = buildRedirectApp({ snapshot: () => stack.app.core.snapshot, http: stack.app.config.http, limits })
    await app.listen({ host: '127.0.0.1', port: 0 })
    return { app, port: (app.server.address() as { port: number }).port }
  }

  test('99/100 slowloris: headers dripped byte by byte, or nothing sent, get 408 once the headers timeout passes', async () => {
    const { app, port } = await listenWith({ headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 })
    const drip = async (bytes: string): Promise<{ status: string, ms: number }> => {
      const sock = connect({ port, host: '127.0.0.1' })
      const started = Date.now()
      let data = ''
      sock.on('data', d => { data += d.toString('latin1') })
      const closed = new Promise<void>(resolve => sock.once('close', () => resolve()))
      sock.on('error', () => {})
      for (const b of bytes) {
        if (sock.destroyed) break
        sock.write(b)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      await closed
      return { status: data.split('\r\n')[0] ?? '', ms: Date.now() - started }
    }
    const slow = await drip('GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\n')
    assert.match(slow.status, / 408 /)
    assert.ok(slow.ms < 2000, `closed after ${slow.ms} ms`)
    const idle = await drip('')
    assert.ok(idle.ms < 2000, `idle socket closed after ${idle.ms} ms`)
    await app.close()
  })

  test('a slow reader (requests sent, answers never read) is cut once its responses stop draining', async () => {
    const { app, port } = await listenWith({ writeStallMs: 300, checkIntervalMs: 50, maxRequestsPerSocket: 100_000 })
    const count = async (): Promise<number> => await new Promise((resolve, reject) => app.server.getConnections((err, n) => err === null ? resolve(n) : reject(err)))
    const sock = connect({ port, host: '127.0.0.1' })
    sock.on('error', () => {})
    await new Promise<void>(resolve => sock.once('connect', () => resolve()))
    // Never read: the answers (about 450 bytes each) fill the kernel's buffers (about 4 MB on
    // loopback), then Node's, and Node stops reading the requests.
    sock.pause()
    sock.write('GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\n\r\n'.repeat(40_000))
    // A reader that keeps up is left alone.
    const good = connect({ port, host: '127.0.0.1' })
    let answers = 0
    good.on('data', d => { answers += d.toString('latin1').split('HTTP/1.1 302').length - 1 })
    await new Promise<void>(resolve => good.once('connect', () => resolve()))
    const started = Date.now()
    while (Date.now() - started < 4000) {
      good.write('GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\n\r\n')
      await new Promise(resolve => setTimeout(resolve, 50))
      if (await count() === 1) break
    }
    const ms = Date.now() - started
    assert.equal(await count(), 1, 'the slow reader was cut, the good one kept')
    assert.ok(ms < 4000, `cut after ${ms} ms`)
    assert.ok(answers > 0)
    good.destroy()
    sock.destroy()
    await app.close()
  })

  test('a keep-alive connection is told to close after maxRequestsPerSocket requests; a request past the cap gets 503', async () => {
    const { app, port } = await listenWith({ maxRequestsPerSocket: 3 })
    const sock = connect({ port, host: '127.0.0.1' })
    let data = ''
    sock.on('data', d => { data += d.toString('latin1') })
    sock.on('error', () => {})
    // Pipelined: four requests in one write. Node answers three, the third with Connection: close,
    // and refuses the fourth (a client that ignores Connection: close).
    sock.write('GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\n\r\n'.repeat(4))
    const statuses = (): string[] => data.split('\r\n').filter(l => l.startsWith('HTTP/1.1 ')).map(l => l.split(' ')[1] as string)
    for (let i = 0; i < 200 && statuses().length < 4; i++) await new Promise(resolve => setTimeout(resolve, 10))
    sock.destroy()
    assert.deepEqual(statuses(), ['302', '302', '302', '503'], data)
    const heads = data.split('\r\n\r\n')
    assert.match(heads[0] as string, /^keep-alive: timeout=5, max=3$/im)
    assert.match(heads[2] as string, /^connection: close$/im)
    await app.close()
  })

  test('graceful close: idle keep-alive connections are closed after the grace, new connections refused, close() returns promptly', async () => {
    const live = await startIn(await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': ZONE }))
    const port = (live.app.http?.app.server.address() as { port: number }).port
    const sock = connect({ port, host: '127.0.0.1' })
    let data = ''
    sock.on('data', d => { data += d.toString('latin1') })
    await new Promise<void>(resolve => sock.once('connect', () => resolve()))
    sock.write('GET /pub/f HTTP/1.1\r\nHost: dl.example.test\r\n\r\n')
    while (!data.includes('\r\n\r\n')) await new Promise(resolve => setTimeout(resolve, 5))
    assert.match(data, /^HTTP\/1\.1 302 /)
    const closed = new Promise<void>(resolve => sock.once('close', () => resolve()))
    const started = Date.now()
    await live.app.http?.close({ graceMs: 300, timeoutMs: 5000 })
    await closed
    assert.ok(Date.now() - started < 2000, 'closed promptly')
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`), 'no longer accepting')
    await live.close()
  })

  test('a member whose backend fails its health check is not redirected to', async () => {
    const backends = [await new FakeBackend().start(), await new FakeBackend().start()]
    const dir = await writeConfig({
      'zones/example.test.yaml': ZONE,
      'gslb.yaml': `listen: { dns: ["127.0.0.1:0"], http: "127.0.0.1:0" }
checks:
  web: { type: http, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }
pools:
  origin:
    check: web
    members:
${backends.map((b, i) => `      - { name: o${i}, url: "http://127.0.0.1:${b.port}/" }`).join('\n')}
redirects: [{ host: dl.example.test, pool: origin, debug_headers: true }]
health: { coalesce: 0ms, state_file: state.json, startup_wait: 2s }
`,
    })
    const live = await startIn(dir)
    try {
      const port = (live.app.http?.app.server.address() as { port: number }).port
      // fetch() drops a custom Host header (a forbidden header), so use node:http.
      const member = (): Promise<string | undefined> => new Promise((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/x', headers: { host: 'dl.example.test' }, agent: false }, res => {
          res.resume()
          resolve(res.headers['x-gslb-member'] as string | undefined)
        }).on('error', reject)
      })
      const seen = new Set([await member(), await member()])
      assert.deepEqual([...seen].sort(), ['o0', 'o1'])
      await (backends[0] as FakeBackend).set('500')
      const end = Date.now() + 3000
      while (Date.now() < end && (live.app.core.snapshot.byName.get('origin')?.members[0]?.eligible ?? true)) await new Promise(resolve => setTimeout(resolve, 20))
      for (let i = 0; i < 4; i++) assert.equal(await member(), 'o1')
    } finally {
      await live.close()
      for (const b of backends) await b.stop()
    }
  })
})
