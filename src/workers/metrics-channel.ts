/**
 * GET /metrics with `--workers N`: one scrape shows the whole server. The worker that takes the
 * scrape asks the primary, which collects every worker's registry over the cluster IPC channel
 * (prom-client's AggregatorRegistry) and sums them: counters add up; each gauge says how it
 * combines (src/metrics/metrics.ts: sum, first, min, max or average).
 */
import { AggregatorRegistry } from 'prom-client'
import type { MetricsText } from '../app.js'
import type { Metrics } from '../metrics/metrics.js'
import { isGslbMessage, type Channel, type ToPrimary, type ToWorker } from './messages.js'

/** How long a worker waits for the primary's sum. */
const WAIT_MS = 5000

/**
 * A worker's GET /metrics. Called once with the worker's own metrics when the app is built: from
 * then on its registry answers the primary's collections (every worker must, before any scrape);
 * the function it returns serves a scrape with the primary's sum.
 */
export function workerMetrics (channel: Channel<ToWorker, ToPrimary>): MetricsText {
  let next = 1
  const waiting = new Map<number, (m: ToWorker & { gslb: 'metrics-reply' }) => void>()
  channel.onMessage(m => {
    if (isGslbMessage(m) && m.gslb === 'metrics-reply') waiting.get(m.id)?.(m)
  })
  return (local: Metrics) => {
    AggregatorRegistry.setRegistries([local.registry])
    void new AggregatorRegistry() // installs the listener that answers the primary
    return async () => {
      const id = next++
      const reply = await new Promise<ToWorker & { gslb: 'metrics-reply' }>((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(id); reject(new Error(`the primary process did not sum the metrics within ${WAIT_MS / 1000} s`)) }, WAIT_MS)
        waiting.set(id, m => { clearTimeout(timer); waiting.delete(id); resolve(m) })
        channel.send({ gslb: 'metrics-request', id })
      })
      if (reply.error !== undefined) throw new Error(reply.error)
      return { text: reply.text, contentType: reply.contentType }
    }
  }
}

/** The primary's side: sums the workers' registries for a worker that asks. */
export class PrimaryMetrics {
  readonly #registry = new AggregatorRegistry()

  async answer (id: number, send: (m: ToWorker) => void): Promise<void> {
    try {
      const text = await this.#registry.clusterMetrics()
      send({ gslb: 'metrics-reply', id, text, contentType: this.#registry.contentType })
    } catch (err) {
      send({ gslb: 'metrics-reply', id, text: '', contentType: '', error: (err as Error).message })
    }
  }
}
