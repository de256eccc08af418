/**
 * The primary process's side of the one admin state shared by `--workers`: it owns the state
 * file store, writes changes one at a time in arrival order, and sends each new state to every
 * worker that has loaded it. A change is answered once every such worker confirmed it (or after
 * ACK_WAIT_MS for one that did not, which is logged): the API never says "done" while another
 * worker still answers from the old state. Only the writes are queued; the waits for confirmation
 * run side by side, so one stuck worker delays each answer by ACK_WAIT_MS at most, not by a queue
 * of them. A change whose worker gave up waiting (admin-cancel) is skipped if it has not started.
 */
import { encodeTable, type AdminStore } from '../core/admin-state.js'
import { systemClock, type Clock } from '../core/clock.js'
import { ErrorCode, GslbError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Channel, ToPrimary, ToWorker } from './messages.js'

/** How long the primary waits for each worker to confirm a new admin state. */
export const ACK_WAIT_MS = 2000

interface Peer { readonly name: string, readonly channel: Channel<ToPrimary, ToWorker>, acked: number }

export class PrimaryAdmin {
  readonly #store: AdminStore
  readonly #log: Logger
  readonly #clock: Clock
  readonly #peers = new Set<Peer>()
  readonly #ackWaiters = new Set<() => void>()
  /** Changes cancelled by their worker before they started, by `peer name/id`. */
  readonly #cancelled = new Set<string>()
  #version = 0
  /** Changes run one after another, in arrival order. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor (store: AdminStore, log: Logger, clock: Clock = systemClock) {
    this.#store = store
    this.#log = log
    this.#clock = clock
  }

  /** Serve one worker's channel; `detach` when the worker is gone. */
  attach (name: string, channel: Channel<ToPrimary, ToWorker>): { detach: () => void } {
    const peer: Peer = { name, channel, acked: -1 }
    channel.onMessage(m => this.#receive(peer, m))
    return {
      detach: () => {
        this.#peers.delete(peer)
        for (const fn of this.#ackWaiters) fn()
      },
    }
  }

  #receive (peer: Peer, m: ToPrimary): void {
    switch (m.gslb) {
      case 'admin-load':
        // Registered before the reply is sent: every later change reaches this worker too.
        this.#peers.add(peer)
        peer.acked = this.#version
        send(peer, { gslb: 'admin-reply', id: m.id, ok: true, version: this.#version, state: encodeTable(this.#store.table, this.#clock.now()) })
        break
      case 'admin-update':
        this.#tail = this.#tail.then(() => this.#update(peer, m.id, m.keys, m.change)).catch((err: unknown) => {
          this.#log.error({ err: (err as Error).message }, 'admin change failed unexpectedly')
        })
        break
      case 'admin-cancel':
        this.#cancelled.add(`${peer.name}/${m.id}`)
        break
      case 'admin-applied':
        peer.acked = Math.max(peer.acked, m.version)
        for (const fn of this.#ackWaiters) fn()
        break
      default:
        break // other messages (metrics) are the supervisor's
    }
  }

  async #update (from: Peer, id: number, keys: readonly string[], change: Parameters<AdminStore['update']>[1]): Promise<void> {
    if (this.#cancelled.delete(`${from.name}/${id}`)) {
      this.#log.warn({ members: keys, worker: from.name }, 'admin change dropped: its worker stopped waiting before it started')
      return
    }
    try {
      await this.#store.update(keys, change)
    } catch (err) {
      const e = err instanceof GslbError ? err : new GslbError(ErrorCode.STATE_WRITE, (err as Error).message)
      this.#log.error({ members: keys, code: e.code, err: e.message }, 'admin change not applied')
      send(from, { gslb: 'admin-reply', id, ok: false, code: e.code, message: e.message })
      return
    }
    const version = ++this.#version
    const state = encodeTable(this.#store.table, this.#clock.now())
    for (const peer of this.#peers) send(peer, { gslb: 'admin-state', version, state })
    // Not awaited: the next change is written while this one waits for its confirmations.
    void this.#confirmed(version).then(late => {
      if (late.length > 0) this.#log.warn({ version, workers: late, waitedMs: ACK_WAIT_MS }, 'workers did not confirm the new admin state in time')
      send(from, { gslb: 'admin-reply', id, ok: true, version })
    })
  }

  /** Resolves when every attached worker confirmed `version`, with the names of those that did not in time. */
  #confirmed (version: number): Promise<string[]> {
    return new Promise(resolve => {
      const pending = (): Peer[] => [...this.#peers].filter(p => p.acked < version)
      const check = (): void => { if (pending().length === 0) finish() }
      const timer = this.#clock.setTimeout(() => finish(), ACK_WAIT_MS)
      const finish = (): void => {
        this.#clock.clearTimeout(timer)
        this.#ackWaiters.delete(check)
        resolve(pending().map(p => p.name))
      }
      this.#ackWaiters.add(check)
      check()
    })
  }
}

function send (peer: Peer, m: ToWorker): void {
  try {
    peer.channel.send(m)
  } catch {
    // The worker is gone; its exit is handled by the supervisor.
  }
}
