/**
 * A fixed-rate sender for the soak's load generators: calls `send()` so that `rate` calls a second
 * have been made since the start, in 5-ms steps, for `seconds`, and never more than rate × seconds
 * calls in all (every loop is bounded in count and in time). A step that comes late catches up;
 * `send()` may refuse (returns false: too many in flight), and what it refused is tried again at
 * the next step. `behindMax` says how far the sender ever fell behind the schedule.
 */
export interface Paced { readonly sent: number, readonly behindMax: number }

export async function pace (rate: number, seconds: number, send: () => boolean): Promise<Paced> {
  const total = Math.floor(rate * seconds)
  const start = performance.now()
  let sent = 0
  let behindMax = 0
  while (sent < total) {
    const elapsedS = (performance.now() - start) / 1000
    if (elapsedS > seconds + 5) break // the bound in time, whatever the schedule says
    const due = Math.min(total, Math.floor(elapsedS * rate))
    while (sent < due && send()) sent++
    behindMax = Math.max(behindMax, due - sent)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return { sent, behindMax }
}
