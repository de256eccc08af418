/**
 * Schedules health probes and keeps each target's state. A target is one (check, address, port):
 * members of several pools that share it are probed once. Per target at most one probe is in
 * flight (the next is scheduled when the last finishes); over all targets at most `maxInFlight`,
 * the rest wait in a FIFO queue. Starts are spread by a random offset and every interval by
 * ± jitter. Probing is faster while a change is being counted and uses `down_interval` while down.
 * All timing goes through the injected Clock. Results never block answers: they update the
 * working table here, and `onChange` asks the core to publish a new snapshot.
 */
import type { CheckConfig } from '../config/model.js'
import type { Clock } from './clock.js'
import { INITIAL_HEALTH, inTransition, nextHealth, type HealthState } from './health-state.js'
import type { Probe, ProbeResult } from './probe.js'

export interface TargetSpec {
  readonly key: string
  readonly check: CheckConfig
  readonly address: string
  readonly port: number
}

/** One probe's outcome, kept for the admin API. */
export interface ProbeRecord {
  /** When the probe finished (epoch ms). */
  readonly at: number
  readonly durationMs: number
  readonly ok: boolean
  readonly detail: string
}

/** Probe records kept per target, newest last. */
export const RECENT_PROBES = 10

export interface TargetState {
  readonly spec: TargetSpec
  health: HealthState
  /** The last RECENT_PROBES probe outcomes, newest last. */
  readonly recent: ProbeRecord[]
  /** From the last result: a weight and an agent admin state reported by the backend. */
  reported: Pick<ProbeResult, 'weight' | 'agentState'>
  inFlight: boolean
  /** When the next probe is due (epoch ms). */
  dueAt: number
}

export interface MonitorStats {
  targets: number
  inFlight: number
  queued: number
  probes: number
  /** How late probes started against their due time: the backlog indicator. */
  maxLateMs: number
  totalLateMs: number
}

export interface MonitorOptions {
  readonly clock: Clock
  readonly maxInFlight: number
  readonly random?: () => number
  /** Called after a target's health (its state or reason), reported weight or agent state changed. */
  readonly onChange: (key: string, statusChanged: boolean, reportedChanged: boolean) => void
  /** The probe for a check (src/probes/ in production, fakes in tests). */
  readonly probeFor: (check: CheckConfig) => Probe
  /** Called with every probe's outcome (metrics). */
  readonly onProbe?: (target: TargetState, ok: boolean, ms: number) => void
}

interface Slot { state: TargetState, probe: Probe, timer: unknown, abort: AbortController | undefined, generation: number }

export class HealthMonitor {
  readonly #opts: MonitorOptions
  readonly #random: () => number
  readonly #slots = new Map<string, Slot>()
  readonly #queue: Slot[] = []
  #inFlight = 0
  #generation = 0
  readonly stats: MonitorStats = { targets: 0, inFlight: 0, queued: 0, probes: 0, maxLateMs: 0, totalLateMs: 0 }
  readonly #firstRound: Array<() => void> = []

  constructor (opts: MonitorOptions) {
    this.#opts = opts
    this.#random = opts.random ?? Math.random
  }

  /**
   * Replace the set of targets. Targets whose key and check timing are unchanged keep their state
   * and schedule; new ones start `unknown` at a random offset; removed ones stop (in-flight probes
   * are aborted and their results ignored), so an edited config never keeps probing old backends.
   */
  setTargets (specs: readonly TargetSpec[]): void {
    const wanted = new Map(specs.map(s => [s.key, s]))
    for (const [key, slot] of this.#slots) {
      const spec = wanted.get(key)
      if (spec === undefined || JSON.stringify(spec.check) !== JSON.stringify(slot.state.spec.check)) this.#remove(key, slot)
    }
    const now = this.#opts.clock.now()
    for (const spec of specs) {
      const existing = this.#slots.get(spec.key)
      if (existing !== undefined) continue
      const probe = this.#opts.probeFor(spec.check)
      const slot: Slot = {
        state: { spec, health: INITIAL_HEALTH, recent: [], reported: {}, inFlight: false, dueAt: now },
        probe, timer: undefined, abort: undefined, generation: ++this.#generation,
      }
      this.#slots.set(spec.key, slot)
      // Static checks need no waiting; others start at a random point of their first interval.
      this.#schedule(slot, spec.check.type === 'static' ? 0 : Math.floor(this.#random() * spec.check.intervalMs))
    }
    this.stats.targets = this.#slots.size
    this.#checkFirstRound()
  }

  get (key: string): TargetState | undefined { return this.#slots.get(key)?.state }

  targets (): IterableIterator<TargetState> {
    const it = this.#slots.values()
    return (function * () { for (const s of it) yield s.state })()
  }

  /** True once every target has at least one result. */
  firstRoundDone (): boolean {
    for (const s of this.#slots.values()) if (s.state.health.checks === 0) return false
    return true
  }

  /** Resolves true when the first round is done, false when `limitMs` passes first. */
  waitFirstRound (limitMs: number): Promise<boolean> {
    if (this.firstRoundDone()) return Promise.resolve(true)
    return new Promise(resolve => {
      let done = false
      const finish = (v: boolean): void => { if (!done) { done = true; resolve(v) } }
      const timer = this.#opts.clock.setTimeout(() => finish(false), limitMs)
      this.#firstRound.push(() => { this.#opts.clock.clearTimeout(timer); finish(true) })
    })
  }

  stop (): void {
    for (const [key, slot] of this.#slots) this.#remove(key, slot)
    this.#queue.length = 0
  }

  #remove (key: string, slot: Slot): void {
    this.#opts.clock.clearTimeout(slot.timer)
    slot.abort?.abort(new Error('target removed'))
    slot.generation = -1
    this.#slots.delete(key)
    const i = this.#queue.indexOf(slot)
    if (i !== -1) this.#queue.splice(i, 1)
  }

  #schedule (slot: Slot, delayMs: number): void {
    slot.state.dueAt = this.#opts.clock.now() + delayMs
    slot.timer = this.#opts.clock.setTimeout(() => this.#due(slot), delayMs)
  }

  #due (slot: Slot): void {
    slot.timer = undefined
    if (slot.generation === -1) return
    if (this.#inFlight >= this.#opts.maxInFlight) {
      this.#queue.push(slot)
      this.stats.queued = this.#queue.length
      return
    }
    this.#start(slot)
  }

  #start (slot: Slot): void {
    const { clock } = this.#opts
    const check = slot.state.spec.check
    const startedAt = clock.now()
    const late = Math.max(0, startedAt - slot.state.dueAt)
    this.stats.totalLateMs += late
    if (late > this.stats.maxLateMs) this.stats.maxLateMs = late
    this.stats.probes++
    this.#inFlight++
    this.stats.inFlight = this.#inFlight
    slot.state.inFlight = true
    const abort = new AbortController()
    slot.abort = abort
    const timeout = clock.setTimeout(() => abort.abort(new Error(`timeout after ${check.timeoutMs} ms`)), check.timeoutMs)
    const generation = slot.generation
    const settle = (result: ProbeResult): void => {
      clock.clearTimeout(timeout)
      this.#inFlight--
      this.stats.inFlight = this.#inFlight
      slot.state.inFlight = false
      slot.abort = undefined
      if (slot.generation === generation) this.#record(slot, result, startedAt)
      const next = this.#queue.shift()
      this.stats.queued = this.#queue.length
      if (next !== undefined) this.#start(next)
    }
    slot.probe({ address: slot.state.spec.address, port: slot.state.spec.port }, abort.signal).then(
      r => settle(abort.signal.aborted ? { ok: false, detail: String((abort.signal.reason as Error).message) } : r),
      (err: unknown) => settle({ ok: false, detail: `probe error: ${(err as Error).message}` }),
    )
  }

  #record (slot: Slot, result: ProbeResult, startedAt: number): void {
    const { clock } = this.#opts
    const s = slot.state
    const check = s.spec.check
    const before = s.health
    const now = clock.now()
    s.health = nextHealth(before, result.ok, result.detail, now, check, `${check.type} check`)
    if (s.recent.length >= RECENT_PROBES) s.recent.shift()
    s.recent.push({ at: now, durationMs: now - startedAt, ok: result.ok, detail: result.detail })
    this.#opts.onProbe?.(s, result.ok, now - startedAt)
    const reported = { ...(result.weight === undefined ? {} : { weight: result.weight }), ...(result.agentState === undefined ? {} : { agentState: result.agentState }) }
    const reportedChanged = JSON.stringify(reported) !== JSON.stringify(s.reported)
    s.reported = reported
    const interval = s.health.status === 'down' && !inTransition(s.health)
      ? check.downIntervalMs
      : inTransition(s.health) ? check.fastIntervalMs : check.intervalMs
    const jittered = interval * (1 + check.jitter * (2 * this.#random() - 1))
    this.#schedule(slot, Math.max(0, Math.round(startedAt + jittered - clock.now())))
    // A reason that changes with the state unchanged is published too: what the API and logs say
    // follows the latest probe (the reason stays word for word while probes say the same).
    const statusChanged = before.status !== s.health.status
    if (statusChanged || before.reason !== s.health.reason || reportedChanged) this.#opts.onChange(s.spec.key, statusChanged, reportedChanged)
    if (before.checks === 0) this.#checkFirstRound()
  }

  #checkFirstRound (): void {
    if (this.#firstRound.length === 0 || !this.firstRoundDone()) return
    for (const f of this.#firstRound.splice(0)) f()
  }
}
