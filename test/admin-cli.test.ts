/**
 * `gslb admin` against `gslb serve`, as an operator uses it: a drain with an expiry and a note
 * leaves DNS and redirects at once, shows in `status`, and undoes itself; a run-time weight; a
 * whole site drained at once; audit lines; status with pool reasons and "serving (fail-open)";
 * the CLI working while the rest of the configuration is broken; one-line errors; the bearer token.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { rm } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { freePort, MAIN, run, serve, stop, type Served } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'
import { spawn } from 'node:child_process'
import { once } from 'node:events'

interface Ports { dns: number, http: number, admin: number }

const CONFIG = (p: Ports, extra = ''): string => `listen: { dns: ["127.0.0.1:${p.dns}"], http: "127.0.0.1:${p.http}", admin: "127.0.0.1:${p.admin}" }
sites:
  fra: { country: DE, continent: EU }
  nyc: { country: US, continent: NA }
checks:
  up: { type: static, state: up }
  down: { type: static, state: down }
pools:
  web:
    check: up
    members:
      - { name: a, address: 127.0.1.1, site: fra, url: "http://a.example.net/" }
      - { name: b, address: 127.0.2.1, site: nyc, url: "http://b.example.net/" }
  weighted:
    check: up
    policy: weighted
    members:
      - { name: a, address: 127.0.1.1, site: fra, weight: 1 }
      - { name: b, address: 127.0.2.1, site: nyc, weight: 1 }
  dead:
    check: down
    members:
      - { name: x, address: 192.0.2.9 }
redirects:
  - { host: dl.example.test, pool: web, alternates: 0 }
${extra}`
const ZONE = zone('  www: { pool: web }\n  w: { pool: weighted }\n  dead: { pool: dead }\n')

async function answers (port: number, name = 'www.example.test', n = 1): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await udpExchange(port, buildQuery({ name }))
    out.push(...decodeMessage(r as Buffer).answer.map(a => a.data))
  }
  return out.sort()
}

function redirects (port: number, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, () => new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/x', agent: false, headers: { host: 'dl.example.test' } }, res => { res.resume(); resolve(res.headers.location ?? String(res.statusCode)) })
    req.on('error', reject)
    req.end()
  })))
}

describe('gslb admin, against gslb serve', () => {
  let ports: Ports
  let dir: string
  let served: Served
  before(async () => {
    ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    dir = await writeConfig({ 'gslb.yaml': CONFIG(ports), 'zones/example.test.yaml': ZONE })
    served = await serve(dir, [])
  })
  after(async () => {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  })

  test('web pages cannot drive it through a browser: another site\'s Origin, or a Host that is not this machine (DNS rebinding), get 403', async () => {
    const ask = (method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number, code?: string }> => new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: ports.admin, method, path, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers } }, res => {
        let text = ''
        res.on('data', (d: Buffer) => { text += d.toString() })
        res.on('end', () => { let code: string | undefined; try { code = (JSON.parse(text) as { code?: string }).code } catch {} resolve({ status: res.statusCode ?? 0, ...(code === undefined ? {} : { code }) }) })
      })
      req.on('error', reject)
      req.end(body)
    })
    const here = `127.0.0.1:${ports.admin}`
    assert.deepEqual(await ask('PUT', '/v1/members/web/a/admin', { host: `attacker.example:${ports.admin}` }, '{"state":"drain"}'), { status: 403, code: 'GSLB_E_FORBIDDEN' })
    assert.deepEqual(await ask('POST', '/v1/reload', { host: here, origin: 'http://evil.example' }, 'x'), { status: 403, code: 'GSLB_E_FORBIDDEN' })
    assert.deepEqual(await ask('GET', '/v1/pools', { host: 'rebound.example' }), { status: 403, code: 'GSLB_E_FORBIDDEN' })
    assert.equal((await ask('GET', '/v1/pools', { host: `localhost:${ports.admin}` })).status, 200)
    assert.equal((await ask('GET', '/v1/pools', { host: here, origin: `http://${here}` })).status, 200, 'the dashboard\'s own requests')
    const st = await run(['admin', 'status'], dir)
    assert.match(st.stdout, /^ {2}a +fra .* ready /m, 'nothing was drained')
  })

  test('drain with --for and --note: out of DNS and redirects at once, shown in status, back by itself', async () => {
    const r = await run(['admin', 'drain', 'web/a', '--for', '1.5s', '--note', 'kernel update'], dir)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^web\/a: drain until \S+ \(kernel update\)$/m)
    assert.deepEqual(await answers(ports.dns), ['127.0.2.1'])
    assert.deepEqual([...new Set(await redirects(ports.http, 6))], ['http://b.example.net/x'])
    const st = await run(['admin', 'status'], dir)
    assert.match(st.stdout, /^ {2}a +fra +127\.0\.1\.1 +up +drain +1 +out: drain \(operator\) {2}\["kernel update", until \S+, by \S+@127\.0\.0\.1\]$/m)
    assert.match(served.log.join(''), /"audit":true,"member":"web\/a","members":\["web\/a"\],"by":"[^"]+@127\.0\.0\.1".*"note":"kernel update"/)
    const end = Date.now() + 5000
    while ((await answers(ports.dns)).length < 2 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 100))
    assert.deepEqual(await answers(ports.dns), ['127.0.1.1', '127.0.2.1'], 'back after the expiry')
  })

  test('weight at run time: shown with a star, shifts the weighted answers, reset undoes it', async () => {
    assert.equal((await run(['admin', 'weight', 'weighted/a', '9'], dir)).code, 0)
    const picks = await answers(ports.dns, 'w.example.test', 100)
    const a = picks.filter(x => x === '127.0.1.1').length
    assert.ok(a >= 85 && a <= 95, `a got ${a} of 100 at weight 9:1`)
    assert.match((await run(['admin', 'status'], dir)).stdout, /^ {2}a +fra +127\.0\.1\.1 +up +ready +9\* +serving$/m)
    assert.equal((await run(['admin', 'weight', 'weighted/a', 'reset'], dir)).code, 0)
    assert.match((await run(['admin', 'status'], dir)).stdout, /^ {2}a +fra +127\.0\.1\.1 +up +ready +1 +serving$/m)
  })

  test('a whole site at once, in every pool; ready brings it back', async () => {
    const r = await run(['admin', 'site', 'drain', 'fra', '--note', 'fiber cut'], dir)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^site fra: drain \(web\/a, weighted\/a\)$/m)
    assert.deepEqual(await answers(ports.dns), ['127.0.2.1'])
    assert.deepEqual([...new Set(await answers(ports.dns, 'w.example.test', 10))], ['127.0.2.1'])
    assert.equal((await run(['admin', 'site', 'ready', 'fra'], dir)).code, 0)
    assert.deepEqual(await answers(ports.dns), ['127.0.1.1', '127.0.2.1'])
    const bad = await run(['admin', 'site', 'drain', 'mars'], dir)
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^gslb admin: site "mars" has no members \(sites: fra, nyc\) \[GSLB_E_NO_MEMBER\]$/m)
  })

  test('status shows pool reasons and says "serving (fail-open)" when DNS fails open', async () => {
    const st = await run(['admin', 'status'], dir)
    assert.equal(st.code, 0)
    assert.match(st.stdout, /^pool dead \(round-robin\)$/m)
    assert.match(st.stdout, /^ {2}IPv4 +fail-open: on_insufficient serve-all: failing open with 1 members, health ignored$/m)
    assert.match(st.stdout, /^ {2}x +- +192\.0\.2\.9 +down +ready +1 +serving \(fail-open\)$/m)
    assert.match(st.stdout, /^ {2}IPv4 +normal: web IPv4: 2\/2 eligible, at least 1 needed$/m)
  })

  test('the CLI needs only listen.admin: a broken configuration elsewhere does not stop it', async () => {
    const broken = await writeConfig({ 'gslb.yaml': CONFIG(ports, 'health: { startup_wait: soon }\n') })
    try {
      const st = await run(['admin', 'status'], broken)
      assert.equal(st.code, 0, st.stderr)
      assert.match(st.stdout, /^pool web/m)
    } finally {
      await rm(broken, { recursive: true, force: true })
    }
  })

  test('errors are one line: unknown member, bad duration, nothing listening', async () => {
    const unknown = await run(['admin', 'drain', 'web/zz'], dir)
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'gslb admin: no member "web/zz" (use pool/member) [GSLB_E_NO_MEMBER]\n'])
    const typo = await run(['admin', 'drain', 'web/a/typo'], dir)
    assert.equal(typo.code, 2, 'a key with two slashes is a usage error, not web/a')
    assert.match(typo.stderr, /^gslb admin: gslb admin drain POOL\/MEMBER: got "web\/a\/typo"$/m)
    const api = await fetch(`http://127.0.0.1:${ports.admin}/v1/members/web%2Fa/x/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"state":"drain"}' })
    assert.equal(api.status, 404, 'web/a/x is no member, and nothing is kept for it')
    const dur = await run(['admin', 'drain', 'web/a', '--for', 'soon'], dir)
    assert.equal(dur.code, 1)
    assert.match(dur.stderr, /^gslb admin: expires must be a duration \(500ms, 2s, 1\.5m, 1h or 1d\) or an ISO time, in the next 366 days: got "soon" \[GSLB_E_BAD_REQUEST\]\n$/)
    const down = await run(['admin', 'status', '--admin', `127.0.0.1:${await freePort()}`], dir)
    assert.equal(down.code, 1)
    assert.match(down.stderr, /^gslb admin: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(is gslb serve running\?\)\n$/)
  })
})

describe('the admin token', () => {
  test('a configured token is required on every request; gslb admin and explain send it from admin.token_file', async () => {
    const ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    const dir = await writeConfig({ 'gslb.yaml': CONFIG(ports, 'admin: { token_file: admin.token }\n'), 'zones/example.test.yaml': ZONE, 'admin.token': 'correct-horse-battery-staple\n' })
    const served = await serve(dir, [])
    try {
      const anon = await fetch(`http://127.0.0.1:${ports.admin}/v1/pools`)
      assert.equal(anon.status, 401)
      assert.equal((await anon.json() as { code: string }).code, 'GSLB_E_UNAUTHORIZED')
      const wrong = await fetch(`http://127.0.0.1:${ports.admin}/v1/pools`, { headers: { authorization: 'Bearer correct-horse-battery-stapler' } })
      assert.equal(wrong.status, 401)
      const right = await fetch(`http://127.0.0.1:${ports.admin}/v1/pools`, { headers: { authorization: 'Bearer correct-horse-battery-staple' } })
      assert.equal(right.status, 200)
      const cli = await run(['admin', 'drain', 'web/b'], dir)
      assert.equal(cli.code, 0, cli.stderr)
      const explain = await run(['explain', 'www.example.test', '--client', '192.0.2.1', '--json'], dir)
      assert.equal(explain.code, 0, explain.stderr)
      assert.equal((JSON.parse(explain.stdout) as { name: string }).name, 'www.example.test')
    } finally {
      await stop(served.proc)
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('listen.admin off loopback without a token: serve refuses to start', async () => {
    const ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    const dir = await writeConfig({ 'gslb.yaml': CONFIG(ports).replace(`admin: "127.0.0.1:${ports.admin}"`, `admin: "0.0.0.0:${ports.admin}"`), 'zones/example.test.yaml': ZONE })
    try {
      const proc = spawn(process.execPath, [MAIN, 'serve'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GSLB_ADMIN_TOKEN: '' } })
      let out = ''
      proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
      proc.stderr.on('data', (d: Buffer) => { out += d.toString() })
      const [code] = await once(proc, 'exit') as [number]
      assert.equal(code, 1)
      assert.match(out, /listen\.admin 0\.0\.0\.0:\d+ is not a loopback address: set GSLB_ADMIN_TOKEN or admin\.token_file/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
