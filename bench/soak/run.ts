/**
 * Soak benchmark (issue 15): a real `gslb serve --workers 2` under mixed UDP DNS, TCP DNS and HTTP
 * redirect load at 70% of the capacity measured first, for `--duration` seconds, while the
 * configuration is reloaded (every fourth reload broken on purpose), a member flaps, admin changes
 * come and go, and, in the middle third, one /24 floods one name and meets response rate limiting.
 *
 *   npm run build && node dist/bench/soak/run.js [--duration 600] [--load 0.7] [--flood-qps 3000] [--no-rrl] [--no-flood] [--node-flags "--single-threaded-gc"]
 *
 * --no-rrl turns response rate limiting off (the flood then measures the amplification without it).
 * --node-flags are given to node for the server's processes (the workers inherit them); by default
 * none: the soak runs node as gslb ships. On a host whose cores other work keeps busy too, a parallel
 * scavenge can wait 100-270 ms for V8 helper threads that get no CPU, a stall of the host's making;
 * --node-flags --single-threaded-gc keeps scavenges on the main thread (docs/benchmarks.md "Soak").
 *
 * Targets: 0 lost answers for the legitimate clients, RSS growth under 10% after warm-up, no file
 * descriptor growth, no event-loop stall over 50 ms. Prints a table; exits 1 when a target fails.
 * Runs itself inside a private network namespace (unshare --net, root) so nothing leaves the host.
 * docs/benchmarks.md ("Soak") says what each number means.
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { DemoBackend } from '../../src/demo/backend.js'
import { AdminChanges, Reloads } from './changes.js'
import { BACKEND_PORT, FLAPPING, HTTP_HOST, HTTP_PATH, MEMBERS, SOURCES, writeConfig, writeQueries, writeZone, type ConfigOptions } from './config.js'
import { childrenOf, cpuSeconds, hostCpu, openFds, ProcSampler } from './proc.js'
import { report, type HttpCounts, type SoakResult, type UdpCounts } from './report.js'
import { api, dnsperf, metric, nodeClient, wrk, type DnsperfResult } from './tools.js'

if (process.env.GSLB_SOAK_NETNS !== '1') {
  const r = spawnSync('unshare', ['--net', 'env', 'GSLB_SOAK_NETNS=1', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit' })
  if (r.error !== undefined) console.error(`soak: cannot run unshare --net (root needed): ${r.error.message}`)
  process.exit(r.status ?? 1)
}
spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' })

const { values } = parseArgs({ options: { duration: { type: 'string', default: '600' }, load: { type: 'string', default: '0.7' }, 'flood-qps': { type: 'string', default: '3000' }, 'no-rrl': { type: 'boolean', default: false }, 'no-flood': { type: 'boolean', default: false }, 'node-flags': { type: 'string', default: '' } } })
const D = Number(values.duration)
const LOAD = Number(values.load)
const FLOOD_QPS = Number(values['flood-qps'])
const FLOOD = !values['no-flood']
const long = D >= 300
/**
 * RSS growth is the median of the last window against the median of the window after the warm-up.
 * The warm-up is the first fifth of the run: V8 sizes its heap to the load for a minute or two, and
 * in two 10-minute runs a worker's heap shrank once in the second minute before settling (the
 * windows printed by minute show it).
 */
const WINDOW_S = long ? 60 : 10
const WARM_S = Math.round(D / 5)
const CALIBRATE_S = long ? 10 : 5
const RELOAD_EVERY_S = Math.min(30, Math.max(5, D / 10))
const ADMIN_EVERY_S = Math.min(20, Math.max(4, D / 15))
const SAMPLE_EVERY_S = long ? 2 : 1
const FLAP_PERIOD_MS = 5000
/** How the load budget splits between the three legitimate classes (each a share of its own capacity). */
const SHARES = { udp: 0.5, tcp: 0.2, http: 0.3 }
const CANARY_QPS = 5

const DNS_PORT = 25400
const listen = { dns: `127.0.0.1:${DNS_PORT}`, http: '127.0.0.1:25401', admin: '127.0.0.1:25402' }
const dir = mkdtempSync(join(tmpdir(), 'gslb-soak-'))
const stallDir = join(dir, 'stall')
mkdirSync(stallDir)
mkdirSync(join(dir, 'var'))
const log = (msg: string): void => { console.error(`soak ${new Date().toISOString().slice(11, 19)} ${msg}`) }
writeZone(dir)
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.js')
const opts: ConfigOptions = { listen, rateLimit: !values['no-rrl'] }
const RRL = opts.rateLimit
writeConfig(dir, opts, { kind: 'good', m2Weight: 2 })
const queries = writeQueries(dir)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const backends = MEMBERS.map(m => new DemoBackend({ name: m.name, site: 'soak', address: m.address, port: BACKEND_PORT, healthPath: '/healthz' }))
await Promise.all(backends.map(async b => { await b.start() }))

const serverLog = openSync(join(dir, 'gslb.log'), 'w')
const server = spawn(process.execPath, [...(values['node-flags'] ?? '').split(' ').filter(s => s !== ''), main, 'serve', '-c', join(dir, 'gslb.yaml'), '--workers', '2', '--no-watch', '--log-format', 'json'], {
  stdio: ['ignore', serverLog, serverLog],
  env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, 'stall-probe.js')).href}`, GSLB_SOAK_STALL_DIR: stallDir },
})
const primary = server.pid ?? 0
let exitCode = 1
try {
  exitCode = await soak()
} finally {
  server.kill('SIGTERM')
  const stopped = await Promise.race([new Promise(resolve => server.once('exit', () => resolve(true))), sleep(25_000).then(() => false)])
  if (stopped !== true) server.kill('SIGKILL')
  closeSync(serverLog)
  await Promise.all(backends.map(async b => { await b.close() }))
  if (exitCode === 0) rmSync(dir, { recursive: true, force: true })
  else console.error(`soak: the server's log and files are kept in ${dir}`)
}
process.exit(exitCode)

async function soak (): Promise<number> {
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error('gslb serve did not become ready within 30 s')
    if (server.exitCode !== null) throw new Error(`gslb serve exited with ${String(server.exitCode)}`)
    const ready = await api(listen.admin, 'GET', '/v1/ready').catch(() => undefined)
    if (ready?.status === 200) break
    await sleep(100)
  }
  const workers = childrenOf(primary)
  const pids = [primary, ...workers]
  const roles = new Map<number, string>([[primary, 'primary'], ...workers.map((w, i): [number, string] => [w, `worker ${String(i + 1)}`])])
  log(`serving: primary ${String(primary)}, workers ${workers.join(' ')}; calibrating ${String(CALIBRATE_S)} s per class`)

  const dnsBase = { server: '127.0.0.1', port: DNS_PORT, queries, seconds: CALIBRATE_S, clients: 20 }
  const capUdp = await dnsperf({ ...dnsBase, source: SOURCES.udp, tcp: false })
  const capTcp = await dnsperf({ ...dnsBase, source: SOURCES.tcp, tcp: true })
  const capHttp = await wrk(`http://${listen.http}${HTTP_PATH}`, HTTP_HOST, CALIBRATE_S)
  const rates = { udp: LOAD * SHARES.udp * capUdp.qps, tcp: LOAD * SHARES.tcp * capTcp.qps, http: LOAD * SHARES.http * capHttp.rps }
  log(`capacity: UDP ${capUdp.qps.toFixed(0)} qps, TCP ${capTcp.qps.toFixed(0)} qps, HTTP ${capHttp.rps.toFixed(0)} req/s; driving ${rates.udp.toFixed(0)} / ${rates.tcp.toFixed(0)} / ${rates.http.toFixed(0)}`)

  const sampler = new ProcSampler()
  const idleFloor = async (): Promise<Map<number, number>> => {
    await sleep(3000) // the calibration's or the load's connections close
    const floor = new Map<number, number>()
    for (let i = 0; i < 15; i++) {
      for (const pid of pids) {
        const n = openFds(pid)
        if (n !== undefined) floor.set(pid, Math.min(floor.get(pid) ?? n, n))
      }
      await sleep(200)
    }
    return floor
  }
  const fdsBefore = await idleFloor()

  // A scrape resets the workers' event-loop histograms (prom-client): the maxima read from now on are the soak's.
  await api(listen.admin, 'GET', '/metrics')
  const cpu0 = new Map(pids.map(pid => [pid, cpuSeconds(pid)]))
  const host0 = hostCpu()
  const t0 = Date.now()
  const at = (): number => (Date.now() - t0) / 1000
  const seen = new Set(workers)
  let lagMaxS = 0
  const timers = [
    setInterval(() => {
      const now = childrenOf(primary)
      for (const w of now) seen.add(w)
      sampler.sample([primary, ...now], at())
    }, SAMPLE_EVERY_S * 1000),
    setInterval(() => {
      void api(listen.admin, 'GET', '/metrics').then(r => { lagMaxS = Math.max(lagMaxS, metric(r.text, 'gslb_nodejs_eventloop_lag_max_seconds')) }).catch(() => {})
    }, 5000),
  ]
  const reloads = new Reloads(dir, opts)
  const admin = new AdminChanges(listen.admin)
  const changeLoop = async (everyS: number, step: () => Promise<void>, fail: string[]): Promise<void> => {
    for (let next = everyS; next < D - 1; next += everyS) {
      await sleep(Math.max(0, next * 1000 - (Date.now() - t0)))
      await step().catch((err: Error) => { fail.push(err.message) })
    }
  }
  await backends.find(b => b.spec.name === FLAPPING)?.set({ kind: 'flap', periodMs: FLAP_PERIOD_MS })
  const flood = async (): Promise<UdpCounts | undefined> => {
    if (!FLOOD) return undefined
    await sleep(D / 3 * 1000)
    log(`flood: ${String(FLOOD_QPS)} qps of one name from 127.0.66.0/24 for ${(D / 3).toFixed(0)} s, rate limiting ${RRL ? 'on' : 'off'}`)
    return await nodeClient<UdpCounts>('udp-load.js', ['--mode', 'flood', '--server', listen.dns, '--sources', SOURCES.flood.join(','), '--qps', String(FLOOD_QPS), '--seconds', String(D / 3)], D / 3 + 30)
  }
  log(`soak: ${String(D)} s, server node flags '${values['node-flags']}'; reload every ${String(RELOAD_EVERY_S)} s, admin change every ${String(ADMIN_EVERY_S)} s, ${FLAPPING} flapping every ${String(FLAP_PERIOD_MS / 1000)} s`)
  const [udp, tcp, http, canary, floodCounts] = await Promise.all([
    dnsperf({ ...dnsBase, seconds: D, clients: 10, source: SOURCES.udp, tcp: false, qps: rates.udp }),
    dnsperf({ ...dnsBase, seconds: D, clients: 4, source: SOURCES.tcp, tcp: true, qps: rates.tcp }),
    nodeClient<HttpCounts>('http-load.js', ['--target', listen.http, '--source', SOURCES.http, '--rate', String(rates.http), '--seconds', String(D)], D + 30),
    nodeClient<UdpCounts>('udp-load.js', ['--mode', 'canary', '--server', listen.dns, '--sources', SOURCES.canary, '--qps', String(CANARY_QPS), '--seconds', String(D)], D + 30),
    flood(),
    changeLoop(RELOAD_EVERY_S, async () => { await reloads.step() }, reloads.unexpected),
    changeLoop(ADMIN_EVERY_S, async () => { await admin.step() }, admin.unexpected),
  ])
  const tEnd = Date.now()
  const host1 = hostCpu()
  const cpu = new Map(pids.map(pid => [pid, cpuSeconds(pid) - (cpu0.get(pid) ?? NaN)]))
  for (const t of timers) clearInterval(t)
  await backends.find(b => b.spec.name === FLAPPING)?.set({ kind: 'up' })
  await admin.reset()
  log('load done; reading the idle file descriptors and the metrics')
  const fdsAfter = await idleFloor()
  const metrics = (await api(listen.admin, 'GET', '/metrics')).text

  const result: SoakResult = {
    duration: D, load: LOAD, shares: SHARES, warmS: WARM_S, windowS: WINDOW_S, nodeFlags: values['node-flags'] ?? '', rrl: RRL, floodQps: FLOOD_QPS, canaryQps: CANARY_QPS,
    calibration: { udp: capUdp.qps, tcp: capTcp.qps, http: capHttp.rps, httpBad: capHttp.bad },
    rates, clients: { udp: dnsCounts(udp), tcp: dnsCounts(tcp), http, canary, flood: floodCounts },
    procs: pids.map(pid => ({ pid, role: roles.get(pid) ?? String(pid), fdsBefore: fdsBefore.get(pid) ?? NaN, fdsAfter: fdsAfter.get(pid) ?? NaN, cpuS: cpu.get(pid) ?? NaN })),
    hostBusy: (host1.busy - host0.busy) / (host1.total - host0.total),
    sampler, stallDir, t0, tEnd, metricsLagMaxS: lagMaxS, workerPidsSeen: seen.size,
    reloads: { ok: reloads.ok, refused: reloads.refused, unexpected: reloads.unexpected },
    admin: { ok: admin.ok, unexpected: admin.unexpected },
    server: {
      reloadsOk: metric(metrics, 'gslb_config_reloads_total', { result: 'ok' }),
      reloadsFailed: metric(metrics, 'gslb_config_reloads_total', { result: 'failed' }),
      healthTransitions: metric(metrics, 'gslb_health_transitions_total'),
      rateLimited: { dropped: metric(metrics, 'gslb_dns_rate_limited_total', { action: 'dropped' }), slipped: metric(metrics, 'gslb_dns_rate_limited_total', { action: 'slipped' }), logged: metric(metrics, 'gslb_dns_rate_limited_total', { action: 'logged' }) },
    },
  }
  return report(result)
}

/** dnsperf's counts as the soak reads them: an answer other than NOERROR is lost too. */
function dnsCounts (r: DnsperfResult): DnsperfResult & { readonly ok: number, readonly wrong: number } {
  const ok = r.rcodes.NOERROR ?? 0
  return { ...r, ok, wrong: r.completed - ok }
}
