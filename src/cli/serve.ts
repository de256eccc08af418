/**
 * `gslb serve`: load, bind, answer. One process by default; with --workers N the primary process
 * supervises N workers that share the listening sockets and one admin state (src/workers/).
 * SIGHUP reloads; SIGTERM/SIGINT stop within `shutdown.timeout`.
 */
import cluster from 'node:cluster'
import { Gslb, type AppOptions } from '../app.js'
import { ConfigError, formatIssue } from '../errors.js'
import { createLogger, type Logger, type LogFormat } from '../log.js'
import { IpcAdminStore } from '../workers/ipc-admin-store.js'
import { isGslbMessage, type Channel, type ToPrimary, type ToWorker } from '../workers/messages.js'
import { supervise } from '../workers/supervisor.js'
import { workerMetrics } from '../workers/metrics-channel.js'
import { WorkerControl } from '../workers/control.js'
import { systemClock } from '../core/clock.js'
import { loadOptions, type CommonOptions } from './check.js'

export interface ServeOptions extends CommonOptions {
  readonly workers: number
  /** Reload when gslb.yaml or a zone file changes (--no-watch turns it off). */
  readonly watch: boolean
  readonly logFormat: LogFormat
}

/** Past the shutdown bound, the process exits even if closing has not finished. */
const EXIT_MARGIN_MS = 1000

export async function serve (opts: ServeOptions): Promise<number> {
  const level = (opts.logLevel ?? 'info') as 'info'
  let log: Logger = createLogger(level, opts.logFormat)
  if (opts.workers > 1 && cluster.isPrimary) {
    log = log.child({ role: 'primary' })
    try {
      await supervise({
        file: opts.config,
        workers: opts.workers,
        load: loadOptions(opts),
        log,
        onConfig: c => { if (opts.logLevel === undefined) log.level = c.logLevel },
      })
      return 0
    } catch (err) {
      report(err, log)
      return 1
    }
  }
  if (cluster.isWorker) log = log.child({ worker: cluster.worker?.id })
  const control = cluster.isWorker ? new WorkerControl(processChannel()) : undefined
  const options: AppOptions = {
    ...loadOptions(opts),
    ...(cluster.isWorker ? { processes: Number(process.env.GSLB_WORKERS ?? 1) || 1 } : {}),
    ...(control !== undefined
      ? {
          adminStore: (_config, storeLog) => new IpcAdminStore(processChannel(), systemClock, storeLog),
          metricsText: workerMetrics(processChannel()),
          cluster: {
            reloadAll: async () => await control.call('reload'),
            statusAll: async () => await control.call('status'),
            serving: (version, ready) => control.serving(version, ready),
          },
        }
      : {}),
  }
  let app: Gslb
  try {
    app = await Gslb.load(opts.config, log, options)
    if (opts.logLevel === undefined) log.level = app.config.logLevel
    control?.serve(() => app.reload())
    await app.start()
    if (opts.watch) app.watchFiles()
    if (cluster.isWorker) process.send?.({ gslb: 'ready' } satisfies ToPrimary)
  } catch (err) {
    report(err, log)
    return 1
  }
  process.on('SIGHUP', () => { void app.reload() })
  let stopping = false
  const stop = (signal: string): void => {
    // A second stop signal, whichever, ends the process at once (docs/operations.md).
    if (stopping) {
      log.warn({ signal }, 'second stop signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal, readyDelayMs: app.shutdown.readyDelayMs, boundMs: app.shutdown.timeoutMs }, 'stopping')
    setTimeout(() => {
      log.error('still closing after shutdown.timeout; exiting')
      process.exit(0)
    }, app.shutdown.readyDelayMs + app.shutdown.timeoutMs + EXIT_MARGIN_MS).unref()
    void app.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return 0
}

/**
 * Config errors go to stderr as the same `file:line:col: field: message [CODE]` lines `gslb check`
 * prints, and one log record says the server did not start.
 */
function report (err: unknown, log: Logger): void {
  if (err instanceof ConfigError) {
    for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`)
    log.error({ errors: err.issues.length, codes: [...new Set(err.issues.map(i => i.code))] }, 'configuration refused; not starting')
  } else {
    log.error({ err }, 'cannot start')
  }
}

/** A worker's channel to its primary. */
function processChannel (): Channel<ToWorker, ToPrimary> {
  return {
    send: m => { if (process.connected) process.send?.(m) },
    onMessage: fn => process.on('message', (m: unknown) => { if (isGslbMessage(m)) fn(m as ToWorker) }),
  }
}
