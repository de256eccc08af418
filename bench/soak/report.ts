/**
 * The soak's summary: markdown tables of the clients' counts, each server process's memory, file
 * descriptors and event-loop stalls, the changes made, the flood; then each target with PASS or
 * FAIL. Returns the exit code: 1 when any target fails.
 */
import type { DnsperfResult } from './tools.js'
import { maxStall, median, type ProcSampler } from './proc.js'

export interface HttpCounts { readonly connections: number, readonly sent: number, readonly ok: number, readonly lost: number, readonly wrong: number, readonly behindMax: number, readonly errors: Record<string, number>, readonly statuses: Record<string, number>, readonly wrongExamples: readonly string[] }
export interface UdpCounts { readonly sent: number, readonly ok: number, readonly lost: number, readonly wrong: number, readonly full: number, readonly tc: number, readonly dropped: number, readonly bytesSent: number, readonly bytesReceived: number, readonly behindMax: number, readonly wrongExamples: readonly string[] }
type DnsCounts = DnsperfResult & { readonly ok: number, readonly wrong: number }

export interface SoakResult {
  readonly duration: number
  readonly load: number
  readonly shares: { readonly udp: number, readonly tcp: number, readonly http: number }
  /** Warm-up (the first fifth of the run): RSS growth is measured from the window after it. */
  readonly warmS: number
  /** The length of the RSS windows compared: the one after the warm-up, and the last. */
  readonly windowS: number
  readonly nodeFlags: string
  readonly rrl: boolean
  readonly floodQps: number
  readonly canaryQps: number
  readonly calibration: { readonly udp: number, readonly tcp: number, readonly http: number, readonly httpBad: number }
  readonly rates: { readonly udp: number, readonly tcp: number, readonly http: number }
  readonly clients: { readonly udp: DnsCounts, readonly tcp: DnsCounts, readonly http: HttpCounts, readonly canary: UdpCounts, readonly flood: UdpCounts | undefined }
  readonly procs: ReadonlyArray<{ readonly pid: number, readonly role: string, readonly fdsBefore: number, readonly fdsAfter: number, readonly cpuS: number }>
  /** The share of the host's CPU time that was busy during the load (every process, ours or not). */
  readonly hostBusy: number
  readonly sampler: ProcSampler
  readonly stallDir: string
  /** Epoch ms of the load's start and end. */
  readonly t0: number
  readonly tEnd: number
  readonly metricsLagMaxS: number
  readonly workerPidsSeen: number
  readonly reloads: { readonly ok: number, readonly refused: number, readonly unexpected: readonly string[] }
  readonly admin: { readonly ok: number, readonly unexpected: readonly string[] }
  readonly server: { readonly reloadsOk: number, readonly reloadsFailed: number, readonly healthTransitions: number, readonly rateLimited: { readonly dropped: number, readonly slipped: number, readonly logged: number } }
}

const MAX_RSS_GROWTH = 0.10
const MAX_STALL_MS = 50
const mib = (kib: number): string => (kib / 1024).toFixed(1)
const int = (n: number): string => Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US')

export function report (r: SoakResult): number {
  const targets: Array<[string, boolean]> = []
  const lines: string[] = []
  const out = (s = ''): void => { lines.push(s) }
  out(`soak: ${String(r.duration)} s, gslb serve --workers 2, node ${process.version} ${r.nodeFlags === '' ? '(no flags)' : r.nodeFlags}, ${new Date(r.t0).toISOString().slice(0, 10)}; legitimate load ${String(r.load * 100)}% of the capacity measured first, split UDP ${String(r.shares.udp * 100)}% / TCP ${String(r.shares.tcp * 100)}% / HTTP ${String(r.shares.http * 100)}%`)
  out()
  out('| client | from | capacity measured | rate driven | sent | answered correctly | lost (no answer) | wrong answer |')
  out('|---|---|---|---|---|---|---|---|')
  const c = r.clients
  const dnsRow = (name: string, from: string, cap: number, rate: number, d: DnsCounts): void => { out(`| ${name} | ${from} | ${int(cap)} qps | ${int(rate)} qps (got ${int(d.sent / r.duration)}) | ${int(d.sent)} | ${int(d.ok)} | ${int(d.lost)} | ${int(d.wrong)} |`) }
  dnsRow('UDP DNS (dnsperf)', '127.0.10.1 (exempt)', r.calibration.udp, r.rates.udp, c.udp)
  dnsRow('TCP DNS (dnsperf -m tcp, 4 connections)', '127.0.10.2', r.calibration.tcp, r.rates.tcp, c.tcp)
  out(`| HTTP redirects (keep-alive, ${String(c.http.connections)} connections) | 127.0.10.3 | ${int(r.calibration.http)} req/s (wrk -c50) | ${int(r.rates.http)} req/s (got ${int(c.http.sent / r.duration)}) | ${int(c.http.sent)} | ${int(c.http.ok)} | ${int(c.http.lost)} | ${int(c.http.wrong)} |`)
  out(`| canary UDP, varied names | 127.0.20.1 (not exempt) | - | ${String(r.canaryQps)} qps | ${int(c.canary.sent)} | ${int(c.canary.ok)} | ${int(c.canary.lost)} | ${int(c.canary.wrong)} |`)
  const lost = c.udp.lost + c.udp.wrong + c.tcp.lost + c.tcp.wrong + c.http.lost + c.http.wrong + c.canary.lost + c.canary.wrong
  targets.push([`0 lost legitimate answers: ${String(lost)} lost or wrong`, lost === 0])
  const behind = [c.http.behindMax > 0 ? `HTTP client fell up to ${String(c.http.behindMax)} requests behind its schedule` : '', c.canary.behindMax > 0 ? `canary up to ${String(c.canary.behindMax)}` : ''].filter(s => s !== '')
  if (behind.length > 0) out(`\n(${behind.join('; ')}: sent late, not lost)`)
  for (const e of [...c.http.wrongExamples, ...c.canary.wrongExamples]) out(`  wrong: ${e}`)
  for (const [e, n] of Object.entries(c.http.errors)) out(`  HTTP error ${e}: ${String(n)}`)

  out()
  const w = r.windowS
  out(`| process | RSS MiB, ${String(r.warmS)}-${String(r.warmS + w)} s (median) | RSS MiB, last ${String(w)} s (median) | RSS growth | CPU s used | fds idle before / after | fds under load, first / last window (median) | max event-loop stall ms (CPU wait that second) | max stall net of CPU wait, ms |`)
  out('|---|---|---|---|---|---|---|---|---|')
  const endFrom = r.duration - w
  for (const p of r.procs) {
    const first = r.sampler.window(p.pid, r.warmS, r.warmS + w)
    const last = r.sampler.window(p.pid, endFrom, r.duration + 1)
    const rss0 = median(first.map(s => s.rssKiB))
    const rss1 = median(last.map(s => s.rssKiB))
    const growth = (rss1 - rss0) / rss0
    const stall = maxStall(r.stallDir, p.pid, r.t0, r.tEnd)
    out(`| ${p.role} (pid ${String(p.pid)}) | ${mib(rss0)} | ${mib(rss1)} | ${(growth * 100).toFixed(1)}% | ${p.cpuS.toFixed(1)} | ${int(p.fdsBefore)} / ${int(p.fdsAfter)} | ${int(median(first.map(s => s.fds)))} / ${int(median(last.map(s => s.fds)))} | ${stall.maxMs.toFixed(1)} (${stall.waitMs.toFixed(0)}) | ${stall.maxNetMs.toFixed(1)} |`)
    targets.push([`${p.role}: RSS growth ${(growth * 100).toFixed(1)}% < ${String(MAX_RSS_GROWTH * 100)}%`, growth < MAX_RSS_GROWTH])
    targets.push([`${p.role}: idle fds ${int(p.fdsBefore)} before, ${int(p.fdsAfter)} after`, p.fdsAfter <= p.fdsBefore])
    targets.push([`${p.role}: max event-loop stall, net of waiting for a CPU, ${stall.maxNetMs.toFixed(1)} ms <= ${String(MAX_STALL_MS)} ms (raw ${stall.maxMs.toFixed(1)} ms)`, stall.maxNetMs <= MAX_STALL_MS && stall.seconds > 0])
  }
  out(`\nhost CPU busy during the load: ${(r.hostBusy * 100).toFixed(0)}% of its cores (the clients, the backends, this harness and anything else running included)`)
  out(`\nRSS MiB by ${String(w)}-s window (medians), to tell a plateau from a climb (warm-up: the first ${String(r.warmS)} s):`)
  for (const p of r.procs) {
    const windows: string[] = []
    for (let from = 0; from < r.duration; from += w) windows.push(mib(median(r.sampler.window(p.pid, from, from + w).map(s => s.rssKiB))))
    out(`  ${p.role}: ${windows.join(' ')}`)
  }
  const metricsStallMs = Math.max(0, r.metricsLagMaxS * 1000 - 10)
  out(`\nworkers' max event-loop delay from /metrics (gslb_nodejs_eventloop_lag_max_seconds, less its 10-ms resolution, scraped every 5 s; it includes waiting for a CPU): ${metricsStallMs.toFixed(1)} ms`)

  out()
  out(`reloads: ${String(r.reloads.ok)} applied, ${String(r.reloads.refused)} broken ones refused while the old configuration kept serving (server counts: ${int(r.server.reloadsOk)} ok, ${int(r.server.reloadsFailed)} failed)`)
  out(`admin changes: ${String(r.admin.ok)} applied; health transitions: ${int(r.server.healthTransitions)}; worker processes seen: ${String(r.workerPidsSeen)}`)
  for (const u of [...r.reloads.unexpected, ...r.admin.unexpected]) out(`  unexpected: ${u}`)
  targets.push([`every reload and admin change answered as expected (${String(r.reloads.unexpected.length + r.admin.unexpected.length)} not)`, r.reloads.unexpected.length + r.admin.unexpected.length === 0 && r.reloads.refused > 0])
  targets.push([`no worker replaced (${String(r.workerPidsSeen)} worker processes seen)`, r.workerPidsSeen === 2])

  const f = c.flood
  if (f !== undefined) {
    const rl = r.server.rateLimited
    out()
    out(`| flood (one name, 127.0.66.0/24), rate limiting ${r.rrl ? 'on' : 'off'} | sent | full replies | TC=1 replies (slipped) | no reply (dropped) | bytes sent | bytes received | amplification |`)
    out('|---|---|---|---|---|---|---|---|')
    out(`| ${String(r.floodQps)} qps for ${(r.duration / 3).toFixed(0)} s | ${int(f.sent)} | ${int(f.full)} | ${int(f.tc)} | ${int(f.dropped)} | ${int(f.bytesSent)} | ${int(f.bytesReceived)} | ${(f.bytesReceived / f.bytesSent).toFixed(2)} |`)
    out(`\nserver: gslb_dns_rate_limited_total dropped ${int(rl.dropped)}, slipped ${int(rl.slipped)}, logged ${int(rl.logged)}`)
    if (r.rrl) targets.push([`the flood was rate limited: ${int(f.tc)} TC=1 and ${int(f.dropped)} dropped of ${int(f.sent)}`, f.tc + f.dropped > 0])
  } else {
    out('\nflood: not run (--no-flood)')
  }

  out()
  for (const [what, ok] of targets) out(`${ok ? 'PASS' : 'FAIL'} ${what}`)
  console.log(lines.join('\n'))
  return targets.every(([, ok]) => ok) ? 0 : 1
}
