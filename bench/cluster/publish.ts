/**
 * Cluster publishing at scale (docs/cluster.md "How it scales"): a real redis-server, node A with
 * 10,000 targets (by default) shares its health views through the same RedisHealth the server
 * uses, node B (another connection set) follows them. Measured:
 *   1. A's full view (a start, a reload, a reconnect): time to write it, and until B holds all of it;
 *   2. every target flipping at once (the worst burst: a network cut seen by A): time until B has
 *      applied every change, messages and bytes published, commands Redis ran;
 *   3. idle: Redis commands per second per node from heartbeats and version checks alone;
 *   4. Redis memory for the views of the nodes.
 * Results are printed as a table.
 *
 *   npm run build && node dist/bench/cluster/publish.js [--members 10000] [--nodes 3] [--idle 5]
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { RedisHealth } from '../../src/cluster/redis-health.js'
import { RedisLink } from '../../src/cluster/redis-link.js'
import type { ClusterOptions } from '../../src/config/model.js'
import { systemClock } from '../../src/core/clock.js'
import { INITIAL_HEALTH, nextHealth, type HealthState } from '../../src/core/health-state.js'
import { silentLogger } from '../../src/log.js'
import { freePort } from '../../src/net/free-port.js'

const { values } = parseArgs({ options: { members: { type: 'string', default: '10000' }, nodes: { type: 'string', default: '3' }, idle: { type: 'string', default: '5' } } })
const N = Number(values.members)
const NODES = Number(values.nodes)
const IDLE_S = Number(values.idle)

const port = await freePort()
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
await new Promise<void>(resolve => redis.stdout.on('data', (d: Buffer) => { if (d.toString().includes('Ready to accept')) resolve() }))
const probe = new Redis(port, '127.0.0.1')
const info = async (section: string, key: string): Promise<number> => Number(new RegExp(`^${key}:(\\S+)`, 'm').exec(await probe.info(section))?.[1] ?? NaN)

const options = (node: string): ClusterOptions => ({ node, redisUrl: `redis://127.0.0.1:${port}`, passwordFile: undefined, tlsCa: undefined, prefix: 'bench:', quorum: 'majority', minNodes: 1, heartbeatMs: 1000, staleAfterMs: 5000 })
const keys = Array.from({ length: N }, (_, i) => `web|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`)
const up = nextHealth(INITIAL_HEALTH, true, 'HTTP 200', 0, { rise: 2, fall: 2 })
const states = new Map<string, HealthState>(keys.map(k => [k, up]))

async function node (name: string, own: Map<string, HealthState>): Promise<{ link: RedisLink, health: RedisHealth, changes: () => number }> {
  const link = new RedisLink(options(name), silentLogger)
  const health = new RedisHealth(link, options(name), systemClock, silentLogger)
  health.attach(() => own)
  let changes = 0
  health.onChange(() => { changes++ })
  await link.connect()
  health.start()
  return { link, health, changes: () => changes }
}

/** Resolves when `ok` holds, polled each millisecond; the time it took. */
async function until (ok: () => boolean, limitMs: number): Promise<number> {
  const t = performance.now()
  while (!ok()) {
    if (performance.now() - t > limitMs) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 1))
  }
  return performance.now() - t
}

const rows: Array<[string, string]> = []
const cmds0 = await info('stats', 'total_commands_processed')
const t0 = performance.now()
const a = await node('a', states)
const b = await node('b', new Map())
const full = await until(() => b.health.views(keys[N - 1] as string).length === 1 && keys.every((k, i) => i % 997 !== 0 || b.health.views(k).length === 1), 30_000)
rows.push(['full view of A (start, reload, reconnect): written and read by B', `${(performance.now() - t0).toFixed(0)} ms (B complete ${full.toFixed(0)} ms after both connected)`])

// Every target flips at once.
const down = nextHealth(up, false, 'connect ECONNREFUSED', 1, { rise: 1, fall: 1 })
const cmds1 = await info('stats', 'total_commands_processed')
const net1 = await info('stats', 'total_net_input_bytes')
const t1 = performance.now()
for (const k of keys) { states.set(k, down); a.health.share(k, down) }
const burst = await until(() => keys.every((k, i) => i % 101 !== 0 || b.health.views(k)[0]?.status === 'down') && b.health.views(keys[N - 1] as string)[0]?.status === 'down', 30_000)
const cmds2 = await info('stats', 'total_commands_processed')
const net2 = await info('stats', 'total_net_input_bytes')
rows.push([`${N} targets flip at once: applied by B`, `${burst.toFixed(0)} ms (${(performance.now() - t1).toFixed(0)} ms from the first share)`])
rows.push(['  Redis commands for the burst', `${cmds2 - cmds1} (writes and publishes are batched per event-loop turn)`])
rows.push(['  bytes sent to Redis for the burst', `${((net2 - net1) / 1024).toFixed(0)} KiB`])

// More nodes for memory and idle load.
const extra = []
for (let i = 2; i < NODES; i++) extra.push(await node(`n${i}`, new Map(keys.map(k => [k, up]))))
await new Promise(resolve => setTimeout(resolve, 500))
const mem = await info('memory', 'used_memory')
rows.push([`Redis memory, ${NODES} nodes x ${N} views`, `${(mem / 1024 / 1024).toFixed(1)} MiB`])

const idle0 = await info('stats', 'total_commands_processed')
await new Promise(resolve => setTimeout(resolve, IDLE_S * 1000))
const idle1 = await info('stats', 'total_commands_processed')
rows.push([`idle: Redis commands per second, ${NODES} nodes`, `${((idle1 - idle0) / IDLE_S).toFixed(1)} (${((idle1 - idle0) / IDLE_S / NODES).toFixed(1)} per node)`])
rows.push(['all commands in the run', `${idle1 - cmds0}`])

for (const n of [a, b, ...extra]) { n.health.close(); n.link.close() }
probe.disconnect()
redis.kill('SIGTERM')
await once(redis, 'exit')

const version = (await import('node:child_process')).execFileSync('redis-server', ['--version']).toString().split(' ')[2] ?? '?'
console.log(`\nCluster publishing: ${N} targets, ${NODES} nodes, redis-server ${version}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| measure | result |\n|---|---|')
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`)
