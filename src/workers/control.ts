/**
 * Reload and status across `--workers`: a reload asked through any worker's admin API (POST
 * /v1/reload) reloads every worker, and the answer lists what each one serves; GET /v1/status
 * lists every worker's configuration version. Workers tell the primary what they serve at start
 * and after each reload (by SIGHUP, a file change or the API), so the table is always current.
 */
import type { ReloadResult } from '../app.js'
import { isGslbMessage, type Channel, type ToPrimary, type ToWorker } from './messages.js'

/** How long the primary waits for every worker to reload. */
const RELOAD_WAIT_MS = 30_000

export interface WorkerStatus { readonly worker: string, readonly version: string, readonly ready: boolean }
export interface WorkerReload extends ReloadResult { readonly worker: string }

/** The primary's side. */
export class PrimaryControl {
  readonly #workers = new Map<string, { channel: Channel<ToPrimary, ToWorker>, status: WorkerStatus | undefined }>()
  readonly #waiting = new Map<number, (worker: string, result: ReloadResult) => void>()
  #nextId = 1

  attach (name: string, channel: Channel<ToPrimary, ToWorker>): { detach: () => void } {
    const entry = { channel, status: undefined as WorkerStatus | undefined }
    this.#workers.set(name, entry)
    channel.onMessage(m => {
      if (m.gslb === 'serving') entry.status = { worker: name, version: m.version, ready: m.ready }
      else if (m.gslb === 'reloaded') this.#waiting.get(m.id)?.(name, m.result)
      else if (m.gslb === 'rpc') void this.#rpc(channel, m.id, m.method)
    })
    return { detach: () => { this.#workers.delete(name) } }
  }

  async #rpc (from: Channel<ToPrimary, ToWorker>, id: number, method: 'reload' | 'status'): Promise<void> {
    const result = method === 'status' ? this.status() : await this.reloadAll()
    from.send({ gslb: 'rpc-reply', id, result })
  }

  status (): WorkerStatus[] {
    return [...this.#workers.entries()].map(([worker, e]) => e.status ?? { worker, version: '?', ready: false })
  }

  /** Ask every worker to reload; resolves with each one's result (a worker that does not answer in time is reported so). */
  reloadAll (): Promise<WorkerReload[]> {
    const id = this.#nextId++
    const names = [...this.#workers.keys()]
    const results = new Map<string, WorkerReload>()
    return new Promise(resolve => {
      const finish = (): void => {
        clearTimeout(timer)
        this.#waiting.delete(id)
        resolve(names.map(worker => results.get(worker) ?? { worker, ok: false, version: '?', previous: '?', errors: [`worker did not reload within ${RELOAD_WAIT_MS / 1000} s`], restartNeeded: [] }))
      }
      const timer = setTimeout(finish, RELOAD_WAIT_MS)
      this.#waiting.set(id, (worker, result) => {
        results.set(worker, { worker, ...result })
        if (results.size >= names.length) finish()
      })
      for (const name of names) this.#workers.get(name)?.channel.send({ gslb: 'reload', id })
      if (names.length === 0) finish()
    })
  }
}

/** A worker's side: asks the primary, answers its reload commands, tells it what it serves. */
export class WorkerControl {
  readonly #channel: Channel<ToWorker, ToPrimary>
  readonly #waiting = new Map<number, (m: ToWorker & { gslb: 'rpc-reply' }) => void>()
  #reload: (() => Promise<ReloadResult>) | undefined
  #nextId = 1

  constructor (channel: Channel<ToWorker, ToPrimary>) {
    this.#channel = channel
    channel.onMessage(m => {
      if (!isGslbMessage(m)) return
      if (m.gslb === 'rpc-reply') this.#waiting.get(m.id)?.(m)
      else if (m.gslb === 'reload') void this.#reloadFor(m.id)
    })
  }

  /** What this worker reloads with (the app's reload). */
  serve (reload: () => Promise<ReloadResult>): void { this.#reload = reload }

  /** Tell the primary what this worker serves. */
  serving (version: string, ready: boolean): void { this.#channel.send({ gslb: 'serving', version, ready }) }

  async call<T> (method: 'reload' | 'status'): Promise<T> {
    const id = this.#nextId++
    const reply = await new Promise<ToWorker & { gslb: 'rpc-reply' }>((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiting.delete(id); reject(new Error('the primary process did not answer')) }, RELOAD_WAIT_MS + 5000)
      this.#waiting.set(id, m => { clearTimeout(timer); this.#waiting.delete(id); resolve(m) })
      this.#channel.send({ gslb: 'rpc', id, method })
    })
    if (reply.error !== undefined) throw new Error(reply.error)
    return reply.result as T
  }

  async #reloadFor (id: number): Promise<void> {
    const result = this.#reload === undefined
      ? { ok: false, version: '?', previous: '?', errors: ['this worker is still starting'], restartNeeded: [] }
      : await this.#reload()
    this.#channel.send({ gslb: 'reloaded', id, result })
  }
}
