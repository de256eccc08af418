/**
 * What the soak reads about the server's processes: the primary's children (its workers), each
 * process's RSS and open file descriptors from /proc, and the per-second stall lines that
 * stall-probe.ts writes. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The workers of a `gslb serve --workers N` primary: its child processes. */
export function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8').trim().split(/\s+/).filter(s => s !== '').map(Number)
  } catch {
    return []
  }
}

/** Resident memory in KiB (VmRSS), or undefined when the process is gone. */
export function rssKiB (pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))
    return m?.[1] === undefined ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

export function openFds (pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${String(pid)}/fd`).length
  } catch {
    return undefined
  }
}

export interface Sample { readonly t: number, readonly rssKiB: number, readonly fds: number }

/** Samples of each process, by pid. */
export class ProcSampler {
  readonly samples = new Map<number, Sample[]>()

  sample (pids: readonly number[], t: number): void {
    for (const pid of pids) {
      const rss = rssKiB(pid)
      const fds = openFds(pid)
      if (rss === undefined || fds === undefined) continue
      let list = this.samples.get(pid)
      if (list === undefined) this.samples.set(pid, list = [])
      list.push({ t, rssKiB: rss, fds })
    }
  }

  /** The samples of `pid` taken in [from, to). */
  window (pid: number, from: number, to: number): Sample[] {
    return (this.samples.get(pid) ?? []).filter(s => s.t >= from && s.t < to)
  }
}

/**
 * What stall-probe.ts logged for `pid` between two epoch times (ms): the longest stall, the longest
 * net of the time the thread waited for a CPU, the CPU wait in the second of the longest stall, and
 * how many seconds the log covers.
 */
export function maxStall (dir: string, pid: number, fromMs: number, toMs: number): { maxMs: number, maxNetMs: number, waitMs: number, seconds: number } {
  const r = { maxMs: 0, maxNetMs: 0, waitMs: NaN, seconds: 0 }
  let text = ''
  try { text = readFileSync(join(dir, `${String(pid)}.log`), 'utf8') } catch { return { ...r, maxMs: NaN, maxNetMs: NaN } }
  for (const line of text.split('\n')) {
    const [at, ms, net, wait] = line.split(' ').map(Number)
    if (at === undefined || ms === undefined || net === undefined || Number.isNaN(net) || at < fromMs || at > toMs) continue
    r.seconds++
    if (ms > r.maxMs) { r.maxMs = ms; r.waitMs = wait ?? NaN }
    r.maxNetMs = Math.max(r.maxNetMs, net)
  }
  return r
}

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)] as number
}

/** User + system CPU seconds a process has used (clock ticks of 10 ms, as Linux reports them to users). */
export function cpuSeconds (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** The host's CPU time so far, busy and in all (ticks, every core), from /proc/stat. */
export function hostCpu (): { busy: number, total: number } {
  const f = (/^cpu +(.*)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '').split(' ').map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }
}
