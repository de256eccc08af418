/**
 * Several gslb nodes on one Redis, as processes: three `gslb serve` on loopback and a real
 * redis-server started by the test. A drain on one node reaches the others within a second; a
 * member failing only from one node's vantage point stays in every answer under majority quorum
 * and leaves when a majority sees it down; Redis lost mid-run leaves every node answering with its
 * last view, and restarted empty it gets the admin state back from the nodes; a node started while
 * Redis is unreachable serves from its own copy and joins when Redis comes.
 *
 * One node's vantage point is simulated by its configuration: its http check asks another path,
 * which the backend answers 404 (the check's target, and so its shared key, stays the same).
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { freePort, run, serve, stop, type Served } from './helpers/process.js'
import { RedisServer, redisMissing } from './helpers/redis.js'
import { writeConfig, zone } from './helpers/stack.js'

const MEMBERS = ['127.0.0.5', '127.0.0.6']

interface Node { name: string, dir: string, dns: number, admin: number, served?: Served }

function config (n: Node, redisPort: number, backendPort: number, path = '/healthz'): string {
  return `listen: { dns: ["127.0.0.1:${n.dns}"], admin: "127.0.0.1:${n.admin}" }
cluster: { node: ${n.name}, redis: "redis://127.0.0.1:${redisPort}", heartbeat: 200ms, stale_after: 1s }
health: { coalesce: 20ms }
checks:
  web: { type: http, port: ${backendPort}, path: ${path}, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
pools:
  web:
    check: web
    answers: 2
    members:
      - { name: m1, address: ${MEMBERS[0] ?? ''} }
      - { name: m2, address: ${MEMBERS[1] ?? ''} }
`
}

async function answer (n: Node): Promise<string[]> {
  const r = await udpExchange(n.dns, buildQuery({ name: 'www.example.test' }), '127.0.0.1', 500)
  return r === undefined ? ['(no answer)'] : decodeMessage(r).answer.map(a => a.data).sort()
}

/** Polls until `ok`, at most `limitMs`; returns how long it took. */
async function until (ok: () => Promise<boolean>, limitMs: number, what: string): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < limitMs) {
    if (await ok()) return Date.now() - start
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`not within ${limitMs} ms: ${what}`)
}

async function status (n: Node): Promise<{ cluster: { redis: { up: boolean }, nodes: Array<{ node: string, fresh: boolean }> } }> {
  return await (await fetch(`http://127.0.0.1:${n.admin}/v1/status`)).json() as never
}

describe('three gslb nodes on one Redis', { skip: redisMissing }, () => {
  let redis: RedisServer
  let backends: Server[]
  let backendPort: number
  const nodes: Node[] = []

  before(async () => {
    redis = await RedisServer.start()
    backendPort = await freePort()
    backends = await Promise.all(MEMBERS.map(async address => {
      const s = createServer((req, res) => { res.writeHead(req.url === '/healthz' ? 200 : 404).end() })
      await new Promise<void>(resolve => s.listen(backendPort, address, resolve))
      return s
    }))
    for (const name of ['a', 'b', 'c']) {
      const n: Node = { name, dir: '', dns: await freePort(), admin: await freePort() }
      // Node c sees m1 and m2 "down": its check asks a path the backends answer 404.
      n.dir = await writeConfig({ 'gslb.yaml': config(n, redis.port, backendPort, name === 'c' ? '/only-c-fails' : '/healthz'), 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
      nodes.push(n)
    }
    for (const n of nodes) n.served = await serve(n.dir, ['--no-watch'])
    // Everyone sees everyone.
    await until(async () => (await Promise.all(nodes.map(status))).every(s => s.cluster.nodes.filter(x => x.fresh).length === 3), 5000, 'three fresh nodes in every status')
  })

  after(async () => {
    for (const n of nodes) if (n.served !== undefined) await stop(n.served.proc)
    await redis.stop()
    for (const s of backends) s.close()
    for (const n of nodes) await rm(n.dir, { recursive: true, force: true })
  })

  const A = (): Node => nodes[0] as Node
  const B = (): Node => nodes[1] as Node
  const C = (): Node => nodes[2] as Node

  test('a member only node c cannot reach stays in every answer, node c\'s included (majority quorum)', async () => {
    for (const n of nodes) assert.deepEqual(await answer(n), MEMBERS, n.name)
    const pools = await (await fetch(`http://127.0.0.1:${C().admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ name: string, health: string, cluster: { local: string, nodes: Array<{ node: string, health: string }> } }> }> }
    const m1 = pools.pools[0]?.members[0]
    assert.equal(m1?.health, 'up')
    assert.equal(m1?.cluster.local, 'down', 'node c itself sees m1 down')
    assert.deepEqual(m1?.cluster.nodes.map(v => `${v.node} ${v.health}`).sort(), ['a up', 'b up'])
    const st = await run(['admin', 'status', '--admin', `127.0.0.1:${C().admin}`], C().dir)
    assert.match(st.stdout, /nodes: c down, a up, b up|nodes: c down, b up, a up/)
    assert.match(st.stdout, /^cluster: node c, Redis reachable; quorum majority; nodes c, /m)
    const metrics = await (await fetch(`http://127.0.0.1:${C().admin}/metrics`)).text()
    assert.match(metrics, /^gslb_cluster_redis_up 1$/m)
    assert.match(metrics, /^gslb_cluster_nodes\{state="fresh"\} 2$/m)
    assert.match(metrics, /^gslb_member_node_up\{pool="web",member="m1",site="",node="c"\} 0$/m)
    assert.match(metrics, /^gslb_member_node_up\{pool="web",member="m1",site="",node="a"\} 1$/m)
    assert.match(metrics, /^gslb_member_up\{pool="web",member="m1",site=""\} 1$/m, 'the quorum\'s health')
    const documented = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'metrics.md'), 'utf8')
    for (const name of ['gslb_cluster_redis_up', 'gslb_cluster_nodes', 'gslb_member_node_up']) assert.match(documented, new RegExp(`^\\| \`${name}\``, 'm'))
  })

  test('a drain on node a changes the answers of b and c within a second', async () => {
    const r = await run(['admin', 'drain', 'web/m1', '--note', 'kernel update', '--admin', `127.0.0.1:${A().admin}`], A().dir)
    assert.equal(r.code, 0, r.stderr)
    for (const n of [B(), C()]) {
      await until(async () => (await answer(n)).join() === MEMBERS[1], 1000, `node ${n.name} stops answering the drained m1`)
    }
    const back = await run(['admin', 'ready', 'web/m1', '--admin', `127.0.0.1:${B().admin}`], B().dir)
    assert.equal(back.code, 0, back.stderr)
    for (const n of nodes) await until(async () => (await answer(n)).length === 2, 1000, `node ${n.name} answers m1 again`)
  })

  test('two nodes changing one member at once: both changes apply, in one order, on every node', async () => {
    const put = async (n: Node, body: Record<string, unknown>): Promise<number> => (await fetch(`http://127.0.0.1:${n.admin}/v1/members/web/m1/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status
    for (let round = 0; round < 10; round++) {
      const weight = 10 + round
      const statuses = await Promise.all([put(A(), { state: 'drain', note: `round ${round}` }), put(B(), { weight })])
      assert.deepEqual(statuses, [200, 200])
      for (const n of nodes) {
        await until(async () => {
          const p = await (await fetch(`http://127.0.0.1:${n.admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ name: string, admin: string, weight: number, note: string | null }> }> }
          const m1 = p.pools[0]?.members.find(m => m.name === 'm1')
          return m1?.admin === 'drain' && m1.weight === weight && m1.note === `round ${round}`
        }, 1000, `round ${round}: node ${n.name} has the drain and the weight, neither lost`)
      }
      assert.equal(await put(C(), { state: 'ready', weight: null }), 200)
    }
    for (const n of nodes) await until(async () => (await answer(n)).length === 2, 1000, `node ${n.name} answers m1 again`)
  })

  test('when a majority sees it down, it leaves every answer, node a\'s included', async () => {
    // Node b now asks the failing path too: two of three see m1 and m2 down.
    await writeFile(join(B().dir, 'gslb.yaml'), config(B(), redis.port, backendPort, '/only-c-fails'))
    const r = await run(['admin', 'reload', '--admin', `127.0.0.1:${B().admin}`], B().dir)
    assert.equal(r.code, 0, r.stderr)
    // Both members down by quorum: the pool fails open (serve-all, the default), at the degraded TTL.
    await until(async () => {
      const p = await (await fetch(`http://127.0.0.1:${A().admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ health: string }> }> }
      return p.pools[0]?.members.every(m => m.health === 'down') === true
    }, 3000, 'node a takes m1 and m2 down by quorum although its own checks pass')
    await writeFile(join(B().dir, 'gslb.yaml'), config(B(), redis.port, backendPort))
    assert.equal((await run(['admin', 'reload', '--admin', `127.0.0.1:${B().admin}`], B().dir)).code, 0)
    await until(async () => {
      const p = await (await fetch(`http://127.0.0.1:${A().admin}/v1/pools`)).json() as { pools: Array<{ members: Array<{ health: string }> }> }
      return p.pools[0]?.members.every(m => m.health === 'up') === true
    }, 3000, 'back up once b sees them up again')
  })

  test('Redis lost: every node keeps answering with its last view; restarted empty, it gets the drains back', async () => {
    assert.equal((await run(['admin', 'drain', 'web/m2', '--admin', `127.0.0.1:${A().admin}`], A().dir)).code, 0)
    for (const n of nodes) await until(async () => (await answer(n)).join() === MEMBERS[0], 1000, `node ${n.name} drops m2`)
    await redis.stop()
    await until(async () => (await Promise.all(nodes.map(status))).every(s => !s.cluster.redis.up), 5000, 'every node says Redis is unreachable')
    for (const n of nodes) assert.equal((await answer(n)).join(), MEMBERS[0], `node ${n.name} still answers, drain kept`)
    const refused = await run(['admin', 'ready', 'web/m2', '--admin', `127.0.0.1:${A().admin}`], A().dir)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /the shared state \(Redis at redis:\/\/127\.0\.0\.1:\d+\) is unreachable; the change was not applied \[GSLB_E_STATE_UNAVAILABLE\]/)
    // Past stale_after, node c goes by its own checks alone: m1 is down from where it stands.
    await until(async () => (await answer(C())).join() !== MEMBERS[0] || (await status(C())).cluster.nodes.filter(x => x.fresh).length === 1, 5000, 'node c alone')
    await redis.start()
    await until(async () => (await Promise.all(nodes.map(status))).every(s => s.cluster.redis.up && s.cluster.nodes.filter(x => x.fresh).length === 3), 10_000, 'every node back on Redis, seeing the three')
    for (const n of nodes) assert.equal((await answer(n)).join(), MEMBERS[0], `node ${n.name}: the drain survived the empty Redis`)
    assert.equal((await run(['admin', 'ready', 'web/m2', '--admin', `127.0.0.1:${C().admin}`], C().dir)).code, 0)
    for (const n of nodes) await until(async () => (await answer(n)).length === 2, 1000, `node ${n.name} converges after Redis returned`)
  })
})

describe('a node started while Redis is unreachable', { skip: redisMissing }, () => {
  test('serves from its own copy and checks, then joins when Redis comes', async () => {
    const redisPort = await freePort()
    const backendPort = await freePort()
    const backends = await Promise.all(MEMBERS.map(async address => {
      const s = createServer((req, res) => { res.writeHead(req.url === '/healthz' ? 200 : 404).end() })
      await new Promise<void>(resolve => s.listen(backendPort, address, resolve))
      return s
    }))
    const n: Node = { name: 'solo', dir: '', dns: await freePort(), admin: await freePort() }
    n.dir = await writeConfig({
      'gslb.yaml': config(n, redisPort, backendPort),
      'zones/example.test.yaml': zone('  www: { pool: web }\n'),
      // Its copy of the shared state from an earlier run: m2 drained.
      'var/gslb-state.json': JSON.stringify({ version: 1, members: { 'web/m2': { state: 'drain', note: 'from before' } } }),
    })
    const served = await serve(n.dir, ['--no-watch'])
    let redis: RedisServer | undefined
    try {
      assert.equal((await answer(n)).join(), MEMBERS[0], 'answers, with the drain from its copy')
      assert.equal((await status(n)).cluster.redis.up, false)
      await served.logged('Redis unreachable at start')
      redis = await RedisServer.start(redisPort)
      await until(async () => (await status(n)).cluster.redis.up, 10_000, 'connected once Redis answers')
      // Redis was empty: the node's copy became the shared state.
      assert.equal((await answer(n)).join(), MEMBERS[0], 'the drain is now the shared one')
      assert.equal((await run(['admin', 'ready', 'web/m2', '--admin', `127.0.0.1:${n.admin}`], n.dir)).code, 0)
      await until(async () => (await answer(n)).length === 2, 1000, 'm2 back once made ready through Redis')
    } finally {
      await stop(served.proc)
      await redis?.stop()
      for (const s of backends) s.close()
      await rm(n.dir, { recursive: true, force: true })
    }
  })
})
