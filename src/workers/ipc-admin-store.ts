/**
 * A worker's admin state with `gslb serve --workers N`: the primary process keeps the one state
 * file (admin-file-store.ts) and this store mirrors it. A change made through any worker's admin
 * API goes to the primary, which writes it once, sends the new state to every worker, and answers
 * only after each has applied it (or 2 s passed for one that did not confirm). So every worker
 * answers DNS, redirects and API reads from the same state once a change is acknowledged.
 *
 * The primary answers within its write time plus 2 s. If it has not answered after
 * PRIMARY_REPLY_MS, the worker says so (GSLB_E_STATE_UNAVAILABLE) and cancels the change; the
 * primary skips a cancelled change that has not started. Only a write already under way for that
 * long can still land, and the message says so.
 */
import type { Clock } from '../core/clock.js'
import { AdminTable, decodeTable, type AdminChange, type AdminStore, type StateJson } from '../core/admin-state.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import { isGslbMessage, type Channel, type ToPrimary, type ToWorker } from './messages.js'

/** How long a worker waits for the primary before it reports GSLB_E_STATE_UNAVAILABLE. */
export const PRIMARY_REPLY_MS = 10_000

export class IpcAdminStore implements AdminStore {
  readonly #channel: Channel<ToWorker, ToPrimary>
  readonly #clock: Clock
  readonly #log: Logger
  readonly #listeners: Array<() => void> = []
  readonly #waiting = new Map<number, { resolve: (m: ToWorker & { gslb: 'admin-reply' }) => void, reject: (err: Error) => void, timer: unknown }>()
  #table = AdminTable.EMPTY
  #version = -1
  #nextId = 1
  #closed = false

  constructor (channel: Channel<ToWorker, ToPrimary>, clock: Clock, log: Logger) {
    this.#channel = channel
    this.#clock = clock
    this.#log = log
    channel.onMessage(m => { if (isGslbMessage(m)) this.#receive(m) })
  }

  get table (): AdminTable { return this.#table }

  onChange (fn: () => void): void { this.#listeners.push(fn) }

  async load (): Promise<void> {
    const reply = await this.#ask(id => ({ gslb: 'admin-load', id }))
    if (reply.ok && reply.state !== undefined) this.#apply(reply.version, reply.state)
  }

  async update (keys: readonly string[], change: AdminChange): Promise<void> {
    // The primary answers after this worker applied the new state (the channel keeps order).
    await this.#ask(id => ({ gslb: 'admin-update', id, keys, change }))
  }

  /** Stop listening; a change still waiting for the primary is rejected, never left hanging. */
  close (): void {
    this.#closed = true
    this.#listeners.length = 0
    for (const [id, w] of this.#waiting) {
      this.#clock.clearTimeout(w.timer)
      this.#waiting.delete(id)
      w.reject(new GslbError(ErrorCode.STATE_UNAVAILABLE, 'the server is stopping; the change may or may not have been applied (check GET /v1/pools after the restart)'))
    }
  }

  #send (m: ToPrimary): void {
    try {
      this.#channel.send(m)
    } catch {
      // The primary is gone; the caller's timeout or close() reports it.
    }
  }

  #ask (message: (id: number) => ToPrimary): Promise<ToWorker & { gslb: 'admin-reply', ok: true }> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#waiting.delete(id)
        this.#send({ gslb: 'admin-cancel', id })
        reject(new GslbError(ErrorCode.STATE_UNAVAILABLE, `the primary process did not answer within ${PRIMARY_REPLY_MS / 1000} s; the change was cancelled unless its write had already started (check GET /v1/pools)`))
      }, PRIMARY_REPLY_MS)
      this.#waiting.set(id, {
        timer,
        resolve: reply => {
          if (reply.ok) resolve(reply)
          else reject(new GslbError(reply.code, reply.message))
        },
        reject,
      })
      try {
        this.#channel.send(message(id))
      } catch (err) {
        this.#clock.clearTimeout(timer)
        this.#waiting.delete(id)
        reject(new GslbError(ErrorCode.STATE_UNAVAILABLE, `cannot reach the primary process: ${(err as Error).message}; the change was not applied`))
      }
    })
  }

  #receive (m: { gslb: string }): void {
    if (this.#closed) return
    const msg = m as ToWorker
    if (msg.gslb === 'admin-state') {
      // Confirmed only when applied: a state that does not decode is not confirmed (the primary logs it).
      if (this.#apply(msg.version, msg.state)) this.#send({ gslb: 'admin-applied', version: msg.version })
    } else if (msg.gslb === 'admin-reply') {
      const w = this.#waiting.get(msg.id)
      if (w === undefined) return
      this.#waiting.delete(msg.id)
      this.#clock.clearTimeout(w.timer)
      w.resolve(msg)
    }
  }

  /** Apply a numbered state; true when this worker now holds it (or a later one). */
  #apply (version: number, state: StateJson): boolean {
    if (version <= this.#version) return true
    const table = decodeTable(state)
    if (typeof table === 'string') {
      this.#log.error({ version, problem: table }, 'admin state from the primary process is not valid; keeping the previous state')
      return false
    }
    this.#version = version
    this.#table = table
    for (const fn of this.#listeners) fn()
    return true
  }
}
