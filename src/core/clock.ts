/**
 * Time, injected: the health core reads time and sets timers only through a Clock, so tests drive
 * it with ManualClock and never sleep.
 */

export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => { clearTimeout(handle as NodeJS.Timeout) },
}

/** A clock that moves only when told to; timers fire in time order during advance(). */
export class ManualClock implements Clock {
  #now: number
  #seq = 0
  readonly #timers = new Map<number, { at: number, fn: () => void }>()

  constructor (start = 1_000_000) { this.#now = start }

  now = (): number => this.#now

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#seq
    // As Node does: a delay over 2^31-1 ms (or not a number) fires after 1 ms.
    const delay = ms > 2 ** 31 - 1 || Number.isNaN(ms) ? 1 : Math.max(0, ms)
    this.#timers.set(id, { at: this.#now + delay, fn })
    return id
  }

  clearTimeout = (handle: unknown): void => { this.#timers.delete(handle as number) }

  /** Move time forward, firing due timers in order (timers they set are honoured too). */
  advance (ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let next: [number, { at: number, fn: () => void }] | undefined
      for (const e of this.#timers) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e
      if (next === undefined) break
      this.#timers.delete(next[0])
      this.#now = next[1].at
      next[1].fn()
    }
    this.#now = end
  }

  get pending (): number { return this.#timers.size }
}
