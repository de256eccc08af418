/**
 * The simulated sites of `gslb demo`: one DemoBackend per distinct member address and port in the
 * configuration's pools, grouped by the members' sites. Faults name a site (every backend in it)
 * or a backend (a member name such as fra-1).
 */
import type { GslbConfig } from '../config/model.js'
import { DEFAULT_CHECK_PORT } from '../config/checks.js'
import { ErrorCode, GslbError } from '../errors.js'
import { DemoBackend, FAULT_KINDS, type BackendSpec, type Fault, type FaultKind } from './backend.js'

/** The backends the configuration's members describe: address and port as their checks probe them. */
export function backendSpecs (config: GslbConfig): BackendSpec[] {
  const checks = new Map(config.checks.map(c => [c.name, c]))
  const seen = new Map<string, BackendSpec>()
  for (const pool of config.pools) {
    const check = pool.check === undefined ? undefined : checks.get(pool.check)
    for (const m of pool.members) {
      const url = m.url === undefined ? undefined : new URL(m.url)
      const address = m.checkAddress ?? m.address ?? url?.hostname.replace(/^\[|\]$/g, '')
      if (address === undefined) continue
      const urlPort = url === undefined ? undefined : url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
      const port = m.checkPort ?? check?.port ?? urlPort ?? (check === undefined ? 80 : DEFAULT_CHECK_PORT[check.type] ?? 80)
      const key = `${address}|${port}`
      if (seen.has(key)) continue
      seen.set(key, { name: m.name, site: m.site ?? '-', address, port, healthPath: check?.type === 'http' ? check.path : '/healthz' })
    }
  }
  return [...seen.values()]
}

export interface BackendState {
  readonly name: string
  readonly site: string
  readonly url: string
  readonly fault: Fault
  readonly listening: boolean
  readonly served: number
}

export class Farm {
  readonly backends: readonly DemoBackend[]

  constructor (specs: readonly BackendSpec[]) {
    this.backends = specs.map(s => new DemoBackend(s))
  }

  get sites (): string[] { return [...new Set(this.backends.map(b => b.spec.site))] }

  async start (): Promise<void> {
    try {
      await Promise.all(this.backends.map(async b => await b.start()))
    } catch (err) {
      await this.close()
      const e = err as NodeJS.ErrnoException
      throw new GslbError(ErrorCode.LISTEN, `cannot start a demo backend: ${e.message}${e.code === 'EADDRINUSE' ? ' (is another gslb demo running?)' : ''}`)
    }
  }

  async close (): Promise<void> { await Promise.all(this.backends.map(async b => await b.close())) }

  /** The backends `target` names: a site, or a backend by name. */
  select (target: string): DemoBackend[] {
    const bySite = this.backends.filter(b => b.spec.site === target)
    if (bySite.length > 0) return bySite
    const byName = this.backends.filter(b => b.spec.name === target)
    if (byName.length > 0) return byName
    const names = [...this.sites, ...this.backends.map(b => b.spec.name)]
    throw new GslbError(ErrorCode.NO_MEMBER, `no site or backend "${target}" in the demo (${names.join(', ')})`)
  }

  /** Apply `fault` to every backend `target` names; resolves once applied. */
  async inject (target: string, fault: Fault): Promise<DemoBackend[]> {
    const chosen = this.select(target)
    await Promise.all(chosen.map(async b => await b.set(fault)))
    return chosen
  }

  state (): BackendState[] {
    return this.backends.map(b => ({ name: b.spec.name, site: b.spec.site, url: b.url, fault: b.fault, listening: b.listening, served: b.served }))
  }
}

/** A fault from its parts as the API, the CLI and scenario files give them; a string says what is wrong. */
export function parseFault (kind: string, delayMs?: number, periodMs?: number): Fault | string {
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) return `fault must be one of ${FAULT_KINDS.join(', ')}: got "${kind}"`
  if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > 60_000)) return `delay must be from 0 to 60 s: got ${delayMs} ms`
  if (periodMs !== undefined && (!Number.isFinite(periodMs) || periodMs < 100 || periodMs > 600_000)) return `period must be from 100 ms to 10 m: got ${periodMs} ms`
  return {
    kind: kind as FaultKind,
    ...(kind === 'slow' && delayMs !== undefined ? { delayMs } : {}),
    ...(kind === 'flap' && periodMs !== undefined ? { periodMs } : {}),
  }
}
