/**
 * The primary process of `gslb serve --workers N`. It forks N workers that share the listening
 * sockets (node:cluster), keeps the one admin state file for all of them (primary-admin.ts),
 * replaces a worker that dies, forwards SIGHUP (reload) and SIGTERM/SIGINT (stop) to them, and on
 * stop waits for every worker to finish its own bounded shutdown before it exits.
 */
import cluster, { type Worker } from 'node:cluster'
import { adminStoreFor, stateFilePath } from '../app.js'
import { loadConfig, type LoadOptions } from '../config/load.js'
import type { GslbConfig } from '../config/model.js'
import { RedisLink } from '../cluster/redis-link.js'
import { systemClock } from '../core/clock.js'
import type { Logger } from '../log.js'
import { isGslbMessage, type Channel, type ToPrimary, type ToWorker } from './messages.js'
import { PrimaryAdmin } from './primary-admin.js'
import { PrimaryMetrics } from './metrics-channel.js'
import { PrimaryControl } from './control.js'

/** Past a worker's own shutdown bound, the primary waits this much longer before it kills it. */
const KILL_MARGIN_MS = 2000

export interface SuperviseOptions {
  readonly file: string
  readonly workers: number
  readonly load: LoadOptions
  readonly log: Logger
  /** Called with the configuration once loaded (to set the log level). */
  readonly onConfig?: (config: GslbConfig) => void
}

/** Start the workers; resolves once they are all serving, rejects when the start fails. */
export async function supervise (opts: SuperviseOptions): Promise<void> {
  const { log } = opts
  const config = await loadConfig(opts.file, opts.load)
  opts.onConfig?.(config)
  const stateFile = stateFilePath(opts.file, config)
  // With a cluster, the primary keeps the shared admin state (Redis) for its workers; each worker
  // shares its own health views.
  const link = config.cluster === undefined ? undefined : new RedisLink(config.cluster, log.child({ mod: 'cluster' }))
  if (link !== undefined && !await link.connect()) log.warn({ redis: link.where }, 'cluster: Redis unreachable at start; serving from this node\'s copy of the admin state until it answers')
  const store = adminStoreFor(opts.file, config, link, systemClock, log.child({ mod: 'admin-state' }))
  await store.load()
  const admin = new PrimaryAdmin(store, log.child({ mod: 'admin-state' }))
  const metrics = new PrimaryMetrics()
  const control = new PrimaryControl()

  // Workers accept TCP connections themselves instead of the primary handing them over.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  let stopping = false
  const ready = new Set<number>()
  /** Replacements waiting to start: a stop cancels them. */
  const restarts = new Set<NodeJS.Timeout>()
  let started: () => void = () => {}
  let failed: (err: Error) => void = () => {}
  const allReady = new Promise<void>((resolve, reject) => { started = resolve; failed = reject })

  const fork = (): void => {
    // GSLB_WORKERS: each worker rate limits DNS responses at its share (dns/rrl.ts).
    const w = cluster.fork({ GSLB_WORKERS: String(opts.workers) })
    const channel = channelOf(w)
    const link = admin.attach(`worker ${w.id}`, channel)
    const controlLink = control.attach(`worker ${w.id}`, channel)
    w.on('message', (m: unknown) => {
      if (isGslbMessage(m) && m.gslb === 'metrics-request') void metrics.answer((m as unknown as { id: number }).id, channel.send)
      if (isGslbMessage(m) && m.gslb === 'ready') {
        ready.add(w.id)
        if (ready.size >= opts.workers) started()
      }
    })
    w.once('exit', () => { link.detach(); controlLink.detach() })
  }

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second stop signal: every worker goes now, and so does this process.
      log.warn({ signal }, 'second stop signal: killing the workers and exiting now')
      for (const w of liveWorkers()) w.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    for (const t of restarts) clearTimeout(t)
    restarts.clear()
    log.info({ signal }, 'stopping workers')
    for (const w of liveWorkers()) w.process.kill(signal)
    // Each worker bounds its own shutdown (shutdown.timeout); past that and a margin, kill it.
    setTimeout(() => {
      const left = liveWorkers()
      if (left.length > 0) log.error({ workers: left.map(w => w.id) }, 'workers still running after the shutdown bound; killing them')
      for (const w of left) w.process.kill('SIGKILL')
    }, config.shutdown.readyDelayMs + config.shutdown.timeoutMs + KILL_MARGIN_MS).unref()
  }

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (liveWorkers().length === 0) { link?.close(); process.exit(process.exitCode ?? 0) }
      return
    }
    if (!ready.has(worker.id)) {
      // It never started (bad config, address in use): restarting would fail the same way.
      log.fatal({ worker: worker.id, code }, 'worker failed to start; stopping')
      process.exitCode = 1
      failed(new Error(`worker ${worker.id} failed to start (exit code ${String(code)})`))
      stop('SIGTERM')
      return
    }
    log.error({ worker: worker.id, code, signal }, 'worker exited; starting a new one')
    const t = setTimeout(() => { restarts.delete(t); if (!stopping) fork() }, 1000)
    restarts.add(t)
  })

  for (let i = 0; i < opts.workers; i++) fork()
  process.on('SIGHUP', () => {
    void checkStateFile(opts, stateFile, log)
    for (const w of liveWorkers()) w.process.kill('SIGHUP')
  })
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await allReady
  log.info({ workers: opts.workers, stateFile }, 'workers serving; admin state kept by this process')
}

function liveWorkers (): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead())
}

function channelOf (w: Worker): Channel<ToPrimary, ToWorker> {
  return {
    send: m => { if (w.isConnected()) w.send(m) },
    onMessage: fn => w.on('message', (m: unknown) => { if (isGslbMessage(m)) fn(m as ToPrimary) }),
  }
}

/** The state file is opened once at start: a reload that names another one is said, not followed. */
async function checkStateFile (opts: SuperviseOptions, current: string, log: Logger): Promise<void> {
  try {
    const next = stateFilePath(opts.file, await loadConfig(opts.file, opts.load))
    if (next !== current) log.warn({ stateFile: current, configured: next }, 'health.state_file changed: the new file is used after a restart')
  } catch {
    // The workers report the configuration errors of the reload.
  }
}
