/**
 * Loaded into every process of the gslb server under soak (`NODE_OPTIONS=--import .../stall-probe.js`,
 * which node:cluster passes on to the workers); does nothing unless GSLB_SOAK_STALL_DIR is set.
 *
 * A timer due every 10 ms measures how late the event loop runs it: the lateness is the stall,
 * as perf_hooks' monitorEventLoopDelay and the server's gslb_nodejs_eventloop_lag_max_seconds see
 * it. On a host whose cores are all busy, part of a stall is only the thread waiting for a CPU
 * while runnable; the kernel counts that wait per thread (/proc/self/task/PID/schedstat, second
 * field), so each gap is also measured without it: the net stall is what the process itself did
 * (its own code, garbage collection, a blocking call). Once a second a line
 * `epoch_ms max_stall_ms max_net_stall_ms cpu_wait_ms_that_second longest_gc_ms its_kind` (perf_hooks'
 * NODE_PERFORMANCE_GC_* flags: 1 minor, 2 major, 4 incremental, 8 weak callbacks) is appended to
 * `$GSLB_SOAK_STALL_DIR/<pid>.log`, asynchronously. Costs one small read of /proc per tick. The timers are unref'd:
 * they never keep a stopping process alive.
 */
import { readFileSync } from 'node:fs'
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'

const dir = process.env.GSLB_SOAK_STALL_DIR
if (dir !== undefined && dir !== '') {
  const TICK_MS = 10
  const file = join(dir, `${String(process.pid)}.log`)
  const schedstat = `/proc/self/task/${String(process.pid)}/schedstat`
  const waitedMs = (): number => { try { return Number(readFileSync(schedstat, 'latin1').split(' ')[1]) / 1e6 } catch { return 0 } }
  let last = performance.now()
  let lastWaited = waitedMs()
  let secondWaited = lastWaited
  let maxMs = 0
  let maxNetMs = 0
  let maxGcMs = 0
  let maxGcKind = 0
  let written = Promise.resolve()
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      if (e.duration > maxGcMs) { maxGcMs = e.duration; maxGcKind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0 }
    }
  }).observe({ entryTypes: ['gc'] })
  setInterval(() => {
    const now = performance.now()
    const waited = waitedMs()
    const stall = Math.max(0, now - last - TICK_MS)
    maxMs = Math.max(maxMs, stall)
    maxNetMs = Math.max(maxNetMs, stall - Math.min(stall, waited - lastWaited))
    last = now
    lastWaited = waited
  }, TICK_MS).unref()
  setInterval(() => {
    const line = `${String(Date.now())} ${maxMs.toFixed(1)} ${maxNetMs.toFixed(1)} ${(lastWaited - secondWaited).toFixed(1)} ${maxGcMs.toFixed(1)} ${String(maxGcKind)}\n`
    secondWaited = lastWaited
    maxMs = 0
    maxNetMs = 0
    maxGcMs = 0
    maxGcKind = 0
    // Written off the event loop (a synchronous write to a busy disk would be a stall of its own), in order.
    written = written.then(async () => { await appendFile(file, line) }).catch(() => { /* the run's directory is gone */ })
  }, 1000).unref()
}
