/**
 * `gslb demo`: rehearse multi-site failover on one machine (docs/demo.md).
 *   gslb demo [-c gslb.yaml]                        simulated sites + gslb + the dashboard; prints where to look
 *   gslb demo fault SITE|BACKEND up|down|slow|error|flap [--delay 2s] [--period 3s]
 *   gslb demo status                                the simulated backends and their faults
 *   gslb demo run FILE...                           run scenario files headless; exit 1 on a failed expectation
 */
import { MemoryAdminStore } from '../core/admin-memory-store.js'
import { ConfigError, formatIssue } from '../errors.js'
import { createLogger, type LogFormat, type Logger } from '../log.js'
import { hostPort, type BoundAddress } from '../net/address.js'
import { freePort } from '../net/free-port.js'
import { startDemo, type Demo } from '../demo/demo.js'
import { SiteIndex } from '../demo/observe.js'
import { runScenario } from '../demo/run-scenario.js'
import { loadScenario } from '../demo/scenario.js'
import { adminClient, type AdminClient } from './admin-client.js'
import { loadOptions, type CommonOptions } from './check.js'

export const DEMO_USAGE = `Usage:
  gslb demo [-c gslb.yaml] [--dns ADDR:PORT] [--http ADDR:PORT] [--admin ADDR:PORT] [--traffic N]
  gslb demo fault SITE|BACKEND up|down|slow|error|flap [--delay 2s] [--period 3s]
  gslb demo status
  gslb demo run FILE... [-c gslb.yaml]

Starts a simulated farm of HTTP backends for every site of the configuration (on the members'
own loopback addresses), gslb in front of them, and the dashboard on the admin listener; prints
where to look. --traffic N: simulated users near each site send N DNS queries a second each (and
a quarter as many redirects) so the dashboard's shares move (default 20; 0 for none). "fault" and "status" talk to the running demo through its admin API. "run" starts
its own demo on free ports, runs each scenario file (docs/demo.md) and exits 1 on the first
failed expectation. The production command is gslb serve.
`

export interface DemoCliOptions extends CommonOptions {
  readonly args: readonly string[]
  readonly logFormat: LogFormat
  readonly delay: string | undefined
  readonly period: string | undefined
  /** Simulated users' DNS queries a second per client (0: none). */
  readonly traffic: number
}

export async function demoCommand (opts: DemoCliOptions): Promise<number> {
  const [action, ...rest] = opts.args
  try {
    if (action === undefined) return await interactive(opts)
    if (action === 'fault') return await fault(opts, rest)
    if (action === 'status') return await status(opts)
    if (action === 'run') return await runFiles(opts, rest)
    process.stderr.write(`gslb demo: unknown action "${action}"\n\n${DEMO_USAGE}`)
    return 2
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`)
      return 1
    }
    const e = err as NodeJS.ErrnoException & { code?: string }
    const hint = (e.code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message)) && !e.message.includes('is another') ? ' (is another gslb running? stop it, or give --dns, --http and --admin)' : ''
    process.stderr.write(`gslb demo: ${e.message}${hint}\n`)
    return 1
  }
}

async function interactive (opts: DemoCliOptions): Promise<number> {
  const log = createLogger((opts.logLevel ?? 'info') as 'info', opts.logFormat)
  // A rehearsal leaves nothing behind: admin state in memory, not in the state file.
  const demo = await startDemo({ config: opts.config, log, watch: true, traffic: opts.traffic, adminStore: () => new MemoryAdminStore(), ...loadOptions(opts) })
  process.stdout.write(banner(demo))
  let stopping = false
  const stop = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    void demo.close().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  process.on('SIGHUP', () => { void demo.app.reload() })
  return 0
}

function banner (demo: Demo): string {
  const dns = demo.bound.find(b => b.proto === 'udp')
  const config = demo.app.config
  const at = (b: BoundAddress | undefined): string => b === undefined ? '(none)' : hostPort(b.host, b.port)
  const http = config.httpListen === undefined ? undefined : demo.bound.find(b => b.proto === 'tcp' && b.port === config.httpListen?.port)
  const admin = config.adminListen === undefined ? undefined : demo.bound.find(b => b.proto === 'tcp' && b.port === config.adminListen?.port)
  const sites = demo.farm.sites.map(site => `    ${site.padEnd(5)} ${demo.farm.backends.filter(b => b.spec.site === site).map(b => `${b.spec.name} ${b.url}`).join(', ')}`)
  const name = config.zones.flatMap(z => z.owners.filter(o => o.pool !== undefined).map(o => o.name))[0]
  const route = config.redirects[0]
  const presets = config.sites.map(s => {
    const m = config.pools.flatMap(p => p.members).find(x => x.site === s.name && x.address !== undefined && !x.address.includes(':'))
    return m === undefined ? undefined : { site: s.name, subnet: `${(m.address ?? '').split('.').slice(0, 3).join('.')}.0/24`, client: `${(m.address ?? '').split('.').slice(0, 3).join('.')}.9` }
  }).filter(x => x !== undefined)
  const lines = [
    '',
    `gslb demo: ${demo.farm.sites.length} simulated sites behind gslb (${config.file}). Ctrl-C stops it.`,
    '',
    '  sites (each backend answers /healthz and a page naming itself):',
    ...sites,
    `  DNS        ${at(dns)} (UDP and TCP)`,
    ...(http === undefined ? [] : [`  redirects  http://${at(http)}/`]),
    ...(admin === undefined ? [] : [`  dashboard  http://${at(admin)}/`]),
    '',
    'Try:',
  ]
  if (dns !== undefined && name !== undefined) {
    for (const p of presets) lines.push(`  dig @${dns.host} -p ${dns.port} ${name} +subnet=${p.subnet} +short      # a client near ${p.site}`)
  }
  if (http !== undefined && route !== undefined && presets[0] !== undefined) {
    const host = (route.hosts[0] ?? 'localhost').replace(/^\*\./, 'www.')
    for (const p of presets) lines.push(`  curl -si -H 'Host: ${host}' -H 'X-Forwarded-For: ${p.client}' http://${at(http)}${route.path}file.iso | grep -i ^location   # near ${p.site}`)
  }
  const first = demo.farm.sites[0]
  if (first !== undefined) {
    lines.push(`  npx gslb demo fault ${first} down      # take ${first} dark; its clients move to their next site`)
    lines.push(`  npx gslb demo fault ${first} up`)
  }
  lines.push('  npx gslb demo run scenarios/*.yaml     # the same, scripted and checked (docs/demo.md)', '')
  return `${lines.join('\n')}\n`
}

/** The running demo's admin API; a server without the demo's routes is said to be one. */
async function demoApi (opts: DemoCliOptions): Promise<AdminClient> {
  const api = await adminClient(opts.config, opts.admin)
  try {
    await api.get('/v1/demo')
  } catch (err) {
    if (/\bNot Found\b|\b404\b/.test((err as Error).message)) throw new Error(`${api.base} is a gslb without the demo (gslb serve?): start gslb demo, or point --admin at it`)
    throw err
  }
  return api
}

async function fault (opts: DemoCliOptions, args: readonly string[]): Promise<number> {
  const [target, kind] = args
  if (target === undefined || kind === undefined || args.length > 2) {
    process.stderr.write(`gslb demo: fault needs SITE|BACKEND and up|down|slow|error|flap\n\n${DEMO_USAGE}`)
    return 2
  }
  const api = await demoApi(opts)
  const body = { fault: kind, ...(opts.delay === undefined ? {} : { delay: opts.delay }), ...(opts.period === undefined ? {} : { period: opts.period }) }
  const r = await api.put(`/v1/demo/faults/${encodeURIComponent(target)}`, body)
  const backends = r.backends as Array<{ name: string, url: string }>
  process.stdout.write(`${target}: ${kind} (${backends.map(b => `${b.name} ${b.url}`).join(', ')})\n`)
  return 0
}

async function status (opts: DemoCliOptions): Promise<number> {
  const api = await demoApi(opts)
  const r = await api.get('/v1/demo')
  for (const b of r.backends as Array<{ name: string, site: string, url: string, fault: { kind: string }, listening: boolean, served: number }>) {
    process.stdout.write(`${b.site.padEnd(6)} ${b.name.padEnd(10)} ${b.url.padEnd(26)} ${b.fault.kind.padEnd(6)} ${b.listening ? 'listening' : 'not listening'}, ${b.served} pages served\n`)
  }
  return 0
}

async function runFiles (opts: DemoCliOptions, files: readonly string[]): Promise<number> {
  if (files.length === 0) {
    process.stderr.write(`gslb demo: run needs scenario files\n\n${DEMO_USAGE}`)
    return 2
  }
  const scenarios = await Promise.all(files.map(async f => await loadScenario(f)))
  const log: Logger = createLogger((opts.logLevel ?? 'warn') as 'warn', opts.logFormat)
  let failed = 0
  for (const scenario of scenarios) {
    // Each scenario gets a fresh demo: all backends up, no admin state, listeners on free ports.
    const demo = await startDemo({
      config: opts.config,
      log,
      adminStore: () => new MemoryAdminStore(),
      dnsListen: [`127.0.0.1:${await freePort()}`],
      httpListen: `127.0.0.1:${await freePort()}`,
      adminListen: `127.0.0.1:${await freePort()}`,
    })
    try {
      const config = demo.app.config
      const udp = demo.bound.find(b => b.proto === 'udp')
      const http = config.httpListen === undefined ? undefined : { host: config.httpListen.host, port: config.httpListen.port }
      const result = await runScenario(scenario, {
        dns: udp === undefined ? undefined : { host: udp.host, port: udp.port },
        http,
        sites: new SiteIndex(config),
        knownSites: config.sites.map(s => s.name),
        faultTargets: [...demo.farm.sites, ...demo.farm.backends.map(b => b.spec.name)],
        inject: async (target, f) => { await demo.farm.inject(target, f) },
      }, line => process.stdout.write(`${line}\n`))
      if (result.ok) {
        process.stdout.write(`passed: ${result.steps} steps in ${(result.ms / 1000).toFixed(1)}s\n\n`)
      } else {
        failed++
        process.stderr.write(`${result.failure ?? 'failed'}\n`)
        process.stdout.write('\n')
      }
    } finally {
      await demo.close()
    }
  }
  if (scenarios.length > 1) process.stdout.write(`${scenarios.length - failed} of ${scenarios.length} scenarios passed\n`)
  return failed === 0 ? 0 : 1
}
