/**
 * `gslb serve`: load, bind, answer. With --workers N the primary process forks N workers that share
 * the listening sockets (node:cluster); the primary restarts a worker that dies and forwards
 * SIGHUP (reload) and SIGTERM/SIGINT (stop) to them.
 */
import cluster from 'node:cluster'
import { Gslb } from '../app.js'
import { ConfigError, formatIssue } from '../errors.js'
import { createLogger, type Logger } from '../log.js'
import { loadOptions, type CommonOptions } from './check.js'

export interface ServeOptions extends CommonOptions {
  readonly workers: number
}

export async function serve (opts: ServeOptions): Promise<number> {
  if (opts.workers > 1 && cluster.isPrimary) return await supervise(opts)
  const level = (opts.logLevel ?? 'info') as 'info'
  let log: Logger = createLogger(level)
  if (cluster.isWorker) log = log.child({ worker: cluster.worker?.id })
  let app: Gslb
  try {
    app = await Gslb.load(opts.config, log, loadOptions(opts))
    if (opts.logLevel === undefined) log.level = app.config.logLevel
    await app.start()
    if (cluster.isWorker) process.send?.({ gslb: 'ready' })
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) log.error({ code: issue.code }, formatIssue(issue))
    } else {
      log.error({ err }, 'cannot start')
    }
    return 1
  }
  process.on('SIGHUP', () => { void app.reload() })
  const stop = (signal: string): void => {
    log.info({ signal }, 'stopping')
    void app.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return 0
}

async function supervise (opts: ServeOptions): Promise<number> {
  const log = createLogger((opts.logLevel ?? 'info') as 'info').child({ role: 'primary' })
  // Workers accept TCP connections themselves instead of the primary handing them over.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  let stopping = false
  const ready = new Set<number>()
  const fork = (): void => {
    const w = cluster.fork()
    w.on('message', (m: { gslb?: string }) => { if (m.gslb === 'ready') ready.add(w.id) })
  }
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    if (!ready.has(worker.id)) {
      // It never started (bad config, address in use): restarting would fail the same way.
      log.fatal({ worker: worker.id, code }, 'worker failed to start; stopping')
      stop('SIGTERM')
      process.exitCode = 1
      return
    }
    log.error({ worker: worker.id, code, signal }, 'worker exited; starting a new one')
    setTimeout(fork, 1000).unref()
  })
  for (let i = 0; i < opts.workers; i++) fork()
  log.info({ workers: opts.workers }, 'started workers')
  process.on('SIGHUP', () => { for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP') })
  const stop = (signal: NodeJS.Signals): void => {
    stopping = true
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal)
    setTimeout(() => process.exit(), 3000).unref()
    cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) process.exit() })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return 0
}
