/**
 * GET /metrics: every metric is documented in docs/metrics.md and every documented one exists;
 * counters move with real queries and redirects; one scrape of `--workers 2` sums both workers;
 * `metrics.enabled: false` turns it off. (A real Prometheus and promtool check it in
 * test/interop/run.sh.)
 */
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { buildQuery, ecsOption, tcpExchange, udpExchange } from './helpers/dns.js'
import { freePort, serve, stop } from './helpers/process.js'
import { startIn, writeConfig, zone, type Stack } from './helpers/stack.js'

const ROOT = join(import.meta.dirname, '..', '..')
const CONFIG = (listen: string, extra = ''): string => `listen: ${listen}
sites:
  fra: { country: DE, continent: EU }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    members:
      - { name: a, address: 127.0.1.1, site: fra, url: "http://a.example.net/" }
      - { name: b, address: 127.0.1.2, site: fra, url: "http://b.example.net/" }
redirects:
  - { host: dl.example.test, pool: web, alternates: 0 }
${extra}`

/** name → type, and the sample lines, of a Prometheus text scrape. */
function parse (text: string): { types: Map<string, string>, samples: Map<string, number> } {
  const types = new Map<string, string>()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (t !== null) { types.set(t[1] as string, t[2] as string); continue }
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\S+?(?:\{[^}]*\})?) (\S+)$/.exec(line)
    assert.ok(m !== null, `a sample line: ${line}`)
    samples.set(m[1] as string, Number(m[2]))
  }
  return { types, samples }
}

async function scrape (port: number): Promise<{ status: number, type: string, text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

function redirect (port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/f', agent: false, headers: { host: 'dl.example.test' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end()
  })
}

describe('metrics', () => {
  let stack: Stack
  before(async () => {
    stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG('{ dns: ["127.0.0.1:0"], http: "127.0.0.1:0", admin: "127.0.0.1:0" }'), 'zones/example.test.yaml': zone('  www: { pool: web }\n') }))
  })
  after(async () => { await stack.close() })

  test('every metric is in docs/metrics.md, and every documented metric exists', async () => {
    const { types } = parse((await scrape(stack.adminPort as number)).text)
    const documented = new Set([...(await readFile(join(ROOT, 'docs', 'metrics.md'), 'utf8')).matchAll(/^\| `(gslb_[a-z0-9_]+)`/gm)].map(m => m[1] as string))
    const served = new Set(types.keys())
    assert.deepEqual([...served].filter(n => !documented.has(n)).sort(), [], 'served but not documented')
    // A node with a cluster: section serves these too; test/cluster.test.ts checks them there.
    const clusterOnly = (n: string): boolean => n.startsWith('gslb_cluster_') || n === 'gslb_member_node_up'
    assert.deepEqual([...documented].filter(n => !served.has(n) && !clusterOnly(n)).sort(), [], 'documented but not served')
    assert.ok([...served].every(n => n.startsWith('gslb_')))
  })

  test('counters move with queries and redirects; the text is Prometheus format', async () => {
    const before = parse((await scrape(stack.adminPort as number)).text).samples
    for (let i = 0; i < 5; i++) await udpExchange(stack.port, buildQuery({ name: 'www.example.test' }))
    await udpExchange(stack.port, buildQuery({ name: 'www.example.test', edns: { options: [ecsOption(1, 24, 0, [198, 51, 100])] } }))
    await udpExchange(stack.port, buildQuery({ name: 'nope.example.test', type: 28 }))
    await tcpExchange(stack.port, [buildQuery({ name: 'www.example.test' })])
    const httpPort = (stack.app.http?.app.server.address() as { port: number }).port
    for (let i = 0; i < 3; i++) assert.equal(await redirect(httpPort), 302)
    const res = await scrape(stack.adminPort as number)
    assert.equal(res.status, 200)
    assert.match(res.type, /^text\/plain; version=0\.0\.4/)
    const now = parse(res.text).samples
    const moved = (k: string): number => (now.get(k) ?? 0) - (before.get(k) ?? 0)
    assert.equal(moved('gslb_dns_queries_total{transport="udp",qtype="A",rcode="NOERROR"}'), 6)
    assert.equal(moved('gslb_dns_queries_total{transport="udp",qtype="AAAA",rcode="NXDOMAIN"}'), 1)
    assert.equal(moved('gslb_dns_queries_total{transport="tcp",qtype="A",rcode="NOERROR"}'), 1)
    assert.equal(moved('gslb_dns_ecs_queries_total{transport="udp"}'), 1)
    assert.equal(moved('gslb_dns_pool_answers_total{pool="web"}'), 7)
    assert.equal(moved('gslb_dns_member_answers_total{pool="web",member="a",site="fra"}') + moved('gslb_dns_member_answers_total{pool="web",member="b",site="fra"}'), 14, 'both members in each of 7 answers')
    assert.equal(moved('gslb_http_responses_total{route="dl.example.test/",status="302"}'), 3)
    assert.equal(moved('gslb_http_member_redirects_total{pool="web",member="a",site="fra"}') + moved('gslb_http_member_redirects_total{pool="web",member="b",site="fra"}'), 3)
    assert.equal(now.get('gslb_member_eligible{pool="web",member="a",site="fra"}'), 1)
    assert.equal(now.get('gslb_pool_mode{pool="web",family="ipv4",mode="normal"}'), 1)
    assert.equal(now.get(`gslb_config_info{version="${stack.app.config.version}"}`), 1)
    assert.equal(now.get('gslb_ready'), 1)
  })

  test('admin changes, reloads and state show up', async () => {
    const admin = `http://127.0.0.1:${stack.adminPort as number}`
    const put = await fetch(`${admin}/v1/members/web/a/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: 'drain' }) })
    assert.equal(put.status, 200)
    assert.equal((await stack.app.reload()).ok, true)
    const now = parse((await scrape(stack.adminPort as number)).text).samples
    assert.equal(now.get('gslb_member_admin_state{pool="web",member="a",state="drain"}'), 1)
    assert.equal(now.get('gslb_member_eligible{pool="web",member="a",site="fra"}'), 0)
    assert.equal(now.get('gslb_admin_changes_total{result="ok"}'), 1)
    assert.equal(now.get('gslb_config_reloads_total{result="ok"}'), 1)
  })
})

test('metrics.enabled: false serves no /metrics', async () => {
  const stack = await startIn(await writeConfig({ 'gslb.yaml': CONFIG('{ dns: ["127.0.0.1:0"], admin: "127.0.0.1:0" }', 'metrics: { enabled: false }\n'), 'zones/example.test.yaml': zone('  www: { pool: web }\n') }))
  try {
    assert.equal((await scrape(stack.adminPort as number)).status, 404)
  } finally {
    await stack.close()
  }
})

test('--workers 2: one scrape sums both workers', async () => {
  const ports = { dns: await freePort(), admin: await freePort() }
  const dir = await writeConfig({ 'gslb.yaml': CONFIG(`{ dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }`), 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
  const served = await serve(dir, ['--workers', '2'])
  try {
    for (let i = 0; i < 40; i++) await tcpExchange(ports.dns, [buildQuery({ name: 'www.example.test' })])
    for (let i = 0; i < 3; i++) {
      const s = parse((await scrape(ports.admin)).text).samples
      assert.equal(s.get('gslb_dns_queries_total{transport="tcp",qtype="A",rcode="NOERROR"}'), 40, 'whichever worker takes the scrape')
      assert.equal(s.get('gslb_config_info{version="' + [...s.keys()].find(k => k.startsWith('gslb_config_info'))?.split('"')[1] + '"}'), 2, 'two processes serve the version')
    }
  } finally {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  }
})
