/**
 * The per-target health state machine, pure. Before the first result a target is `unknown`
 * (served or not according to health.initial_state). The first result is taken at face value, so
 * a fresh start converges after one round (gdnsd's initial round does the same). After that:
 * up → down after `fall` consecutive failures, down → up after `rise` consecutive successes.
 */

export type HealthStatus = 'unknown' | 'up' | 'down'

export interface HealthState {
  readonly status: HealthStatus
  /** Consecutive results that disagree with `status` (counting toward a change). */
  readonly streak: number
  readonly checks: number
  readonly lastOk: boolean | undefined
  readonly lastDetail: string
  readonly lastCheckAt: number | undefined
  readonly changedAt: number | undefined
  /** Why the state is what it is, for logs and explain: "3 failed http checks, last: connect ECONNREFUSED". */
  readonly reason: string
}

export const INITIAL_HEALTH: HealthState = {
  status: 'unknown', streak: 0, checks: 0, lastOk: undefined, lastDetail: '', lastCheckAt: undefined, changedAt: undefined, reason: 'no check result yet',
}

export function nextHealth (prev: HealthState, ok: boolean, detail: string, at: number, th: { rise: number, fall: number }, kind = 'check'): HealthState {
  const base = { checks: prev.checks + 1, lastOk: ok, lastDetail: detail, lastCheckAt: at }
  if (prev.status === 'unknown') {
    return { ...base, status: ok ? 'up' : 'down', streak: 0, changedAt: at, reason: `first ${kind} ${ok ? 'passed' : 'failed'}: ${detail}` }
  }
  const agrees = (prev.status === 'up') === ok
  if (agrees) {
    // The reason follows the latest probe: kept word for word only while the probe says the same.
    const same = prev.streak === 0 && prev.lastOk === ok && prev.lastDetail === detail
    return { ...base, status: prev.status, streak: 0, changedAt: prev.changedAt, reason: same ? prev.reason : `${kind} ${ok ? 'passed' : 'failed'} again: ${detail}` }
  }
  const streak = prev.streak + 1
  const needed = ok ? th.rise : th.fall
  if (streak >= needed) {
    return { ...base, status: ok ? 'up' : 'down', streak: 0, changedAt: at, reason: `${streak} ${ok ? 'passed' : 'failed'} ${kind}${streak === 1 ? '' : 's'} in a row, last: ${detail}` }
  }
  return { ...base, status: prev.status, streak, changedAt: prev.changedAt, reason: `${prev.status}, ${streak}/${needed} ${ok ? 'passed' : 'failed'} toward ${ok ? 'up' : 'down'}, last: ${detail}` }
}

/** True while a change is being counted: the scheduler probes faster then. */
export function inTransition (s: HealthState): boolean { return s.streak > 0 }
