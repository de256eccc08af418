/**
 * What the primary process and its workers (`gslb serve --workers N`) say to each other over the
 * node:cluster IPC channel. Every message carries `gslb` so other messages on the channel are
 * ignored. Admin state travels in its persisted form (StateJson), checked again on arrival.
 */
import type { ReloadResult } from '../app.js'
import type { AdminChange, StateJson } from '../core/admin-state.js'
import type { ErrorCode } from '../errors.js'

export type ToPrimary =
  /** The worker's listeners are open. */
  | { readonly gslb: 'ready' }
  /** The worker asks for the admin state; from now on it receives every change. */
  | { readonly gslb: 'admin-load', readonly id: number }
  /** The worker asks for a change (from its admin API). */
  | { readonly gslb: 'admin-update', readonly id: number, readonly keys: readonly string[], readonly change: AdminChange }
  /** The worker stopped waiting for admin-update `id`: skip it if it has not started. */
  | { readonly gslb: 'admin-cancel', readonly id: number }
  /** The worker has applied admin state `version`. */
  | { readonly gslb: 'admin-applied', readonly version: number }
  /** The worker's admin API was scraped: the primary sums every worker's metrics. */
  | { readonly gslb: 'metrics-request', readonly id: number }
  /** The worker's admin API was asked to reload (all workers) or for the status of all workers. */
  | { readonly gslb: 'rpc', readonly id: number, readonly method: 'reload' | 'status' }
  /** The worker's answer to the primary's `reload` command. */
  | { readonly gslb: 'reloaded', readonly id: number, readonly result: ReloadResult }
  /** What the worker serves now: sent at start and after every reload, whatever asked for it. */
  | { readonly gslb: 'serving', readonly version: string, readonly ready: boolean }

export type ToWorker =
  /** The whole admin state after a change, numbered; a worker applies it and says admin-applied. */
  | { readonly gslb: 'admin-state', readonly version: number, readonly state: StateJson }
  /** The answer to admin-load (with the state) or admin-update (once every worker applied it). */
  | { readonly gslb: 'admin-reply', readonly id: number, readonly ok: true, readonly version: number, readonly state?: StateJson }
  | { readonly gslb: 'admin-reply', readonly id: number, readonly ok: false, readonly code: ErrorCode, readonly message: string }
  /** The answer to an `rpc`: a result, or an error message. */
  | { readonly gslb: 'rpc-reply', readonly id: number, readonly result?: unknown, readonly error?: string }
  /** The primary asks the worker to reload now and say how it went (`reloaded`). */
  | { readonly gslb: 'reload', readonly id: number }
  /** The sum of every worker's metrics (Prometheus text), or why not. */
  | { readonly gslb: 'metrics-reply', readonly id: number, readonly text: string, readonly contentType: string, readonly error?: string }

/** One end of the channel: the worker's `process`, or the primary's view of one worker. */
export interface Channel<In, Out> {
  send: (message: Out) => void
  onMessage: (fn: (message: In) => void) => void
}

export function isGslbMessage (m: unknown): m is { gslb: string } {
  return typeof m === 'object' && m !== null && typeof (m as { gslb?: unknown }).gslb === 'string'
}
