/**
 * `gslb explain` agrees with what the servers answer: for the same client, the DNS answer it shows
 * is the one a query over UDP gets (same records, same ECS scope), and the redirect it shows goes
 * to the same site as a real request. Through the admin API, the CLI against a running server,
 * and --offline on a configuration file.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import type { DnsExplain, HttpExplain } from '../src/explain/explain.js'
import { buildQuery, ecsOption, udpExchange } from './helpers/dns.js'
import { freePort, run, serve, stop } from './helpers/process.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const DEMO_DB = join(import.meta.dirname, '..', '..', 'geo', 'demo-city.mmdb')
const CONFIG = (listen: string): string => `listen: ${listen}
geo: { database: ${DEMO_DB} }
http: { trusted_proxies: [127.0.0.1] }
sites:
  fra: { country: DE, continent: EU, lat: 50.11, lon: 8.68 }
  nyc: { country: US, continent: NA, lat: 40.71, lon: -74.01 }
  tok: { country: JP, continent: AS, lat: 35.68, lon: 139.65 }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    policy: geo
    geo: { map: { EU: [fra, nyc], NA: [nyc, fra], AS: [tok, nyc], default: [fra, nyc, tok] } }
    members:
      - { name: fra-1, address: 127.0.1.1, site: fra, url: "http://fra-1.example.net/" }
      - { name: fra-2, address: 127.0.1.2, site: fra, url: "http://fra-2.example.net/" }
      - { name: nyc-1, address: 127.0.2.1, site: nyc, url: "http://nyc-1.example.net/" }
      - { name: tok-1, address: 127.0.3.1, site: tok, url: "http://tok-1.example.net/" }
redirects:
  - { host: dl.example.test, pool: web, alternates: 1 }
`
const ZONE = zone('  www: { pool: web }\n  dl: { CNAME: www.example.test }\n')

function siteOf (address: string): string {
  return address.startsWith('127.0.1.') || address.includes('fra-') ? 'fra' : address.startsWith('127.0.2.') || address.includes('nyc-') ? 'nyc' : 'tok'
}

describe('explain agrees with the servers', () => {
  let stack: Stack
  before(async () => {
    stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG('{ dns: ["127.0.0.1:0"], http: "127.0.0.1:0", admin: "127.0.0.1:0" }'), 'zones/example.test.yaml': ZONE }))
  })
  after(async () => { await stack.close() })

  const explainApi = async <T = DnsExplain>(params: Record<string, string>): Promise<{ status: number, body: T & { code?: string } }> => {
    const res = await fetch(`http://127.0.0.1:${stack.adminPort as number}/v1/explain?${new URLSearchParams(params).toString()}`)
    return { status: res.status, body: await res.json() as T & { code?: string } }
  }

  const subnets: Array<[string, number[]]> = [['127.0.1.0/24', [127, 0, 1]], ['127.0.2.0/24', [127, 0, 2]], ['127.0.3.0/24', [127, 0, 3]], ['127.0.6.0/24', [127, 0, 6]], ['192.0.2.0/24', [192, 0, 2]]]
  for (const [subnet, bytes] of subnets) {
    test(`DNS, ECS ${subnet}: the same records and scope as a query over UDP`, async () => {
      for (const name of ['www.example.test', 'dl.example.test']) {
        const raw = await udpExchange(stack.port, buildQuery({ name, edns: { options: [ecsOption(1, 24, 0, bytes)] } }))
        const served = decodeMessage(raw as Buffer)
        const scope = served.opt?.options.find(o => o.code === 8)?.data[3]
        const { status, body } = await explainApi({ name, type: 'A', client: '127.0.0.1', ecs: subnet })
        assert.equal(status, 200)
        const shown = body.answer.records.filter(r => r.type === 'A').map(r => r.data).sort()
        assert.deepEqual(shown, served.answer.filter(a => a.type === 1).map(a => a.data).sort(), name)
        assert.equal(body.answer.ecs_scope, scope)
        assert.equal(body.pool?.placement?.sites[0] !== undefined, true)
        const serving = body.pool?.sites.find(s => s.verdict.startsWith('serves'))
        assert.equal(serving?.site, siteOf(shown[0] as string), 'the site explain says serves is the site of the answer')
      }
    })
  }

  test('HTTP: the redirect explain shows goes to the same site as a real request from that client', async () => {
    const port = (stack.app.http?.app.server.address() as { port: number }).port
    for (const client of ['127.0.1.9', '127.0.2.9', '127.0.3.9']) {
      const real = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/pub/x', agent: false, headers: { host: 'dl.example.test', 'x-forwarded-for': client } }, res => { res.resume(); resolve(res.headers.location ?? '') })
        req.on('error', reject)
        req.end()
      })
      const { body } = await explainApi<HttpExplain>({ url: 'http://dl.example.test/pub/x', client })
      assert.equal(body.answer.status, 302)
      assert.equal(siteOf(body.answer.location ?? ''), siteOf(real), client)
      assert.deepEqual((body.why?.client as { sites: string[] }).sites[0], siteOf(real))
    }
  })

  test('asking explain is not traffic: redirect counters do not move', async () => {
    const scrape = async (): Promise<string> => await (await fetch(`http://127.0.0.1:${stack.adminPort as number}/metrics`)).text()
    const redirects = (text: string): number => [...text.matchAll(/^gslb_http_member_redirects_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const before = redirects(await scrape())
    for (let i = 0; i < 5; i++) await explainApi<HttpExplain>({ url: 'http://dl.example.test/pub/x', client: '127.0.1.9' })
    assert.equal(redirects(await scrape()), before)
  })

  test('bad input is a 400 with a code', async () => {
    for (const params of [{ name: 'www.example.test', client: 'nobody' }, { name: 'www.example.test', type: 'BOGUS', client: '127.0.0.1' }, { name: 'www.example.test', client: '127.0.0.1', ecs: '10.0.0.1/8' }, { client: '127.0.0.1' }]) {
      const { status, body } = await explainApi(params)
      assert.equal(status, 400, JSON.stringify(params))
      assert.equal(body.code, 'GSLB_E_BAD_REQUEST')
    }
    for (const query of ['name=a&name=b&client=127.0.0.1', 'url=http://dl.example.test/x&url=y&client=127.0.0.1']) {
      const res = await fetch(`http://127.0.0.1:${stack.adminPort as number}/v1/explain?${query}`)
      assert.equal(res.status, 400, `a repeated parameter: ${query}`)
    }
  })
})

describe('gslb explain, the command', () => {
  test('against a running gslb serve: text for people, --json for scripts', async () => {
    const ports = { dns: await freePort(), admin: await freePort() }
    const dir = await writeConfig({ 'gslb.yaml': CONFIG(`{ dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }`), 'zones/example.test.yaml': ZONE })
    const served = await serve(dir, [])
    try {
      const text = await run(['explain', 'www.example.test', 'A', '--client', '127.0.0.1', '--ecs', '127.0.3.0/24'], dir)
      assert.equal(text.code, 0, text.stderr)
      assert.match(text.stdout, /^www\.example\.test A, asked by 127\.0\.0\.1 for ECS 127\.0\.3\.0\/24$/m)
      assert.match(text.stdout, /^location +AS JP 13 Tokyo, network \/24$/m)
      assert.match(text.stdout, /^sites +map AS → tok, nyc$/m)
      assert.match(text.stdout, /^ +tok +serves \(1\/1 eligible\)$/m)
      assert.match(text.stdout, /^answer +NOERROR, ECS scope \/24$/m)
      assert.match(text.stdout, /www\.example\.test\. 30 A 127\.0\.3\.1/)
      const json = await run(['explain', 'www.example.test', '--client', '127.0.0.1', '--ecs', '127.0.2.0/24', '--json'], dir)
      const parsed = JSON.parse(json.stdout) as DnsExplain
      assert.deepEqual(parsed.answer.records.map(r => r.data), ['127.0.2.1'])
      const usage = await run(['explain', 'www.example.test'], dir)
      assert.equal(usage.code, 2, 'no --client: usage')
      const bad = await run(['explain', 'www.example.test', '--client', 'x'], dir)
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /client must be an IP address/)
    } finally {
      await stop(served.proc)
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('--offline evaluates the configuration with every member up, no server needed', async () => {
    const dir = await writeConfig({ 'gslb.yaml': CONFIG('{ dns: ["127.0.0.1:0"], http: "127.0.0.1:0" }'), 'zones/example.test.yaml': ZONE })
    try {
      const r = await run(['explain', '--offline', 'www.example.test', '--client', '127.0.0.1', '--ecs', '2001:db8:3::/48'], dir)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /www\.example\.test\. 30 A 127\.0\.3\.1/)
      assert.match(r.stdout, /offline: taken as up|eligible/)
      const url = await run(['explain', '--offline', '--url', 'http://dl.example.test/a/b.iso', '--client', '127.0.2.7'], dir)
      assert.equal(url.code, 0, url.stderr)
      assert.match(url.stdout, /^answer +302 Location: http:\/\/nyc-1\.example\.net\/a\/b\.iso$/m)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
