/**
 * The haproxy check against real HAProxy: two farms (127.0.4.1 and 127.0.5.1), each an haproxy
 * process in front of two local backends with fast server checks, and `gslb serve` with a
 * weighted pool of the two farms checked through their CSV stats. DNS answers and redirects
 * follow each farm's capacity as its backends stop and start: 50/50, a farm with half its
 * servers at half weight (1/3 of the answers), a farm with none out, and back. Each state is
 * waited for through GET /v1/pools; shares are counted over a fixed number of answers.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { FakeBackend } from './helpers/backend.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { freePort, serve, stop, type Served } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'

const HAPROXY = '/usr/sbin/haproxy'
const FARMS = { a: '127.0.4.1', b: '127.0.5.1' } as const
type Farm = keyof typeof FARMS
const DNS_QUERIES = 300
const REDIRECTS = 150
/** Shares are near-exact (a low-discrepancy sequence, docs/policies.md): allow a modest 5 points. */
const TOLERANCE = 0.05

function haproxyConfig (address: string, frontPort: number, statsPort: number, servers: number[]): string {
  return `global
  maxconn 200
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind ${address}:${frontPort}
  default_backend be_app
backend be_app
  default-server inter 100ms fall 1 rise 1
${servers.map((port, i) => `  server s${i + 1} 127.0.0.1:${port} check`).join('\n')}
listen stats
  bind ${address}:${statsPort}
  stats enable
  stats uri /stats
`
}

interface MemberJson { name: string, eligible: boolean, weight: number, health: string, health_reason: string }

describe('haproxy check against real HAProxy farms', { skip: existsSync(HAPROXY) ? false : `${HAPROXY} is missing (apt-get install haproxy)` }, () => {
  const backends: Record<Farm, FakeBackend[]> = { a: [], b: [] }
  const haproxies: ChildProcess[] = []
  let dir = ''
  let served: Served | undefined
  let ports = { dns: 0, http: 0, admin: 0, front: 0, stats: 0 }
  const diagnostics: string[] = []

  before(async () => {
    ports = { dns: await freePort(), http: await freePort(), admin: await freePort(), front: await freePort(), stats: await freePort() }
    dir = await writeConfig({})
    for (const farm of ['a', 'b'] as const) {
      for (const n of [1, 2]) {
        const b = new FakeBackend()
        b.body = `${farm}${n}`
        backends[farm].push(await b.start())
      }
      const cfg = join(dir, `haproxy-${farm}.cfg`)
      await writeFile(cfg, haproxyConfig(FARMS[farm], ports.front, ports.stats, backends[farm].map(b => b.port)))
      const proc = spawn(HAPROXY, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
      haproxies.push(proc)
      await until(`haproxy ${farm} serves its stats with 2 servers up`, async () => {
        if (proc.exitCode !== null) assert.fail(`haproxy exited ${proc.exitCode}: ${stderr}`)
        const csv = await get(FARMS[farm], ports.stats, '/stats;csv').catch(() => '')
        // Column 17 is status (HAProxy management guide 9.1).
        return csv.split('\n').filter(l => l.startsWith('be_app,s') && l.split(',')[17] === 'UP').length === 2
      })
    }
    await writeFile(join(dir, 'gslb.yaml'), `listen: { dns: ["127.0.0.1:${ports.dns}"], http: "127.0.0.1:${ports.http}", admin: "127.0.0.1:${ports.admin}" }
zones: zones/
checks:
  farm: { type: haproxy, port: ${ports.stats}, path: "/stats;csv", backend: be_app, min_up: 1, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
pools:
  farms:
    check: farm
    policy: weighted
    answers: 1
    members:
      - { name: farm-a, address: ${FARMS.a}, weight: 100, url: "http://${FARMS.a}:${ports.front}/" }
      - { name: farm-b, address: ${FARMS.b}, weight: 100, url: "http://${FARMS.b}:${ports.front}/" }
redirects:
  - { host: www.example.test, pool: farms, alternates: 0 }
`)
    await writeFile(join(dir, 'zones', 'example.test.yaml'), zone('  www: { pool: farms }\n'))
    served = await serve(dir, ['-c', join(dir, 'gslb.yaml')])
  })

  after(async () => {
    if (served !== undefined) await stop(served.proc)
    for (const p of haproxies) {
      if (p.exitCode === null && p.signalCode === null) { p.kill('SIGTERM'); await once(p, 'exit') }
    }
    for (const b of [...backends.a, ...backends.b]) await b.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function members (): Promise<Record<string, MemberJson>> {
    const body = JSON.parse(await get('127.0.0.1', ports.admin, '/v1/pools')) as { pools: Array<{ name: string, members: MemberJson[] }> }
    return Object.fromEntries((body.pools.find(p => p.name === 'farms')?.members ?? []).map(m => [m.name, m]))
  }

  /** Wait (through the admin API) until farm-a and farm-b are as given: a weight, or out. */
  async function farmsAre (a: number | 'out', b: number | 'out'): Promise<Record<string, MemberJson>> {
    let last: Record<string, MemberJson> = {}
    await until(`farm-a ${a}, farm-b ${b}`, async () => {
      last = await members()
      const is = (m: MemberJson | undefined, want: number | 'out'): boolean => want === 'out' ? m?.eligible === false : m?.eligible === true && m.weight === want
      return is(last['farm-a'], a) && is(last['farm-b'], b)
    }, () => JSON.stringify(last))
    return last
  }

  /** Share of farm A in DNS answers and in redirects, and that every redirect reaches a backend of its farm. */
  async function shares (): Promise<{ dns: number, http: number }> {
    let dnsA = 0
    for (let i = 0; i < DNS_QUERIES; i++) {
      const raw = await udpExchange(ports.dns, buildQuery({ name: 'www.example.test' }))
      const answer = decodeMessage(raw as Buffer).answer.map(r => r.data)
      assert.equal(answer.length, 1)
      assert.ok(answer[0] === FARMS.a || answer[0] === FARMS.b, `answer ${String(answer[0])} is not a farm`)
      if (answer[0] === FARMS.a) dnsA++
    }
    let httpA = 0
    for (let i = 0; i < REDIRECTS; i++) {
      const location = await redirect(ports.http)
      const farm = location === `http://${FARMS.a}:${ports.front}/x` ? 'a' : location === `http://${FARMS.b}:${ports.front}/x` ? 'b' : assert.fail(`redirect to ${location}`)
      if (farm === 'a') httpA++
      // Follow a few: the farm's HAProxy answers from one of its own backends.
      if (i < 10) {
        const body = await get(FARMS[farm], ports.front, '/x')
        assert.match(body, farm === 'a' ? /^a[12]$/ : /^b[12]$/)
      }
    }
    return { dns: dnsA / DNS_QUERIES, http: httpA / REDIRECTS }
  }

  const near = (got: number, want: number, what: string): void => {
    diagnostics.push(`${what}: farm A ${(got * 100).toFixed(1)}% (expected ${(want * 100).toFixed(1)}%)`)
    assert.ok(Math.abs(got - want) <= TOLERANCE, `${what}: farm A got ${(got * 100).toFixed(1)}%, expected ${(want * 100).toFixed(1)}% ± ${TOLERANCE * 100}`)
  }

  test('every backend up: both farms at full weight, answers and redirects 50/50', async t => {
    const m = await farmsAre(100, 100)
    assert.equal(m['farm-a']?.health_reason.includes('2/2 servers up in be_app'), true, m['farm-a']?.health_reason)
    const s = await shares()
    near(s.dns, 1 / 2, 'DNS')
    near(s.http, 1 / 2, 'redirects')
    for (const d of diagnostics.splice(0)) t.diagnostic(d)
  })

  test('one backend of farm A stops: A at half weight, 1/3 of answers and redirects', async t => {
    await backends.a[0]?.set('refused')
    const m = await farmsAre(50, 100)
    assert.match(m['farm-a']?.health_reason ?? '', /1\/2 servers up in be_app/)
    const s = await shares()
    near(s.dns, 1 / 3, 'DNS')
    near(s.http, 1 / 3, 'redirects')
    for (const d of diagnostics.splice(0)) t.diagnostic(d)
  })

  test('both backends of farm A stop: A out of answers and redirects, and says why', async () => {
    await backends.a[1]?.set('refused')
    const m = await farmsAre('out', 100)
    assert.equal(m['farm-a']?.health, 'down')
    assert.match(m['farm-a']?.health_reason ?? '', /0\/2 servers up in be_app, fewer than min_up 1/)
    const s = await shares()
    assert.equal(s.dns, 0)
    assert.equal(s.http, 0)
  })

  test('farm A\'s backends start again: back to full weight and 50/50', async t => {
    await backends.a[0]?.set('ok')
    await backends.a[1]?.set('ok')
    await farmsAre(100, 100)
    const s = await shares()
    near(s.dns, 1 / 2, 'DNS')
    near(s.http, 1 / 2, 'redirects')
    for (const d of diagnostics.splice(0)) t.diagnostic(d)
  })
})

/** Poll `ready` (an HTTP read) every 50 ms until it holds, for at most 15 s. */
async function until (what: string, ready: () => Promise<boolean>, state: () => string = () => ''): Promise<void> {
  const end = Date.now() + 15_000
  while (!await ready()) {
    if (Date.now() > end) assert.fail(`not ${what} within 15 s ${state()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

function get (host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 2000 }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve(body))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

function redirect (port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/x', agent: false, headers: { host: 'www.example.test' } }, res => {
      res.resume()
      resolve(res.statusCode === 302 ? res.headers.location ?? '' : `HTTP ${String(res.statusCode)}`)
    })
    req.on('error', reject)
    req.end()
  })
}
