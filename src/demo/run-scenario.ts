/**
 * Runs a scenario against a running gslb and its simulated sites: faults are injected through
 * `inject`, expectations are checked by asking as each client would (src/demo/observe.ts), every
 * POLL_MS until met or out of time. Prints one line per step; the first failed expectation ends
 * the run and says what was answered instead.
 */
import { ConfigError, ErrorCode, type ConfigIssue } from '../errors.js'
import type { Fault } from './backend.js'
import { askDns, askRedirect, firstAddress, type Observation, type SiteIndex } from './observe.js'
import type { Expected, Scenario, Step } from './scenario.js'

/** How often an expectation is checked while it waits to be met. */
export const POLL_MS = 100

export interface ScenarioTarget {
  readonly dns: { readonly host: string, readonly port: number } | undefined
  readonly http: { readonly host: string, readonly port: number } | undefined
  readonly sites: SiteIndex
  /** Site names expectations may use. */
  readonly knownSites: readonly string[]
  /** Sites and backends faults may name. */
  readonly faultTargets: readonly string[]
  inject: (target: string, fault: Fault) => Promise<void>
}

export interface ScenarioResult {
  readonly ok: boolean
  readonly steps: number
  readonly ms: number
  /** `file:line:col: step N: ...` when a step failed. */
  readonly failure?: string
}

/** Names in `s` that `t` does not have: reported like configuration errors, before anything runs. */
export function checkScenario (s: Scenario, t: ScenarioTarget): void {
  const issues: ConfigIssue[] = []
  const at = (step: Step, path: string, message: string): void => { issues.push({ file: s.file, line: step.line, col: step.col, path, code: ErrorCode.REF, message }) }
  s.steps.forEach((step, i) => {
    if (step.kind === 'fault') {
      for (const f of step.faults) if (!t.faultTargets.includes(f.target)) at(step, `steps[${i}].fault.${f.target}`, `no site or backend "${f.target}" in the demo (${t.faultTargets.join(', ')})`)
    }
    if (step.kind === 'expect') {
      for (const e of step.expect) {
        if (e.sites === 'none') continue
        for (const site of e.sites) if (!t.knownSites.includes(site)) at(step, `steps[${i}].expect.${e.client}`, `no site "${site}" in the configuration (${t.knownSites.join(', ')})`)
      }
    }
  })
  if ((s.dns !== undefined && t.dns === undefined) || (s.redirect !== undefined && t.http === undefined)) {
    issues.push({ file: s.file, line: 1, col: 1, path: 'ask', code: ErrorCode.REF, message: `the server has no ${t.dns === undefined ? 'DNS' : 'redirect'} listener for what this scenario asks` })
  }
  if (issues.length > 0) throw new ConfigError(issues)
}

export async function runScenario (s: Scenario, t: ScenarioTarget, print: (line: string) => void): Promise<ScenarioResult> {
  checkScenario(s, t)
  const start = Date.now()
  const elapsed = (): string => `${((Date.now() - start) / 1000).toFixed(1).padStart(5)}s`
  print(`scenario: ${s.name} (${s.file})`)
  for (const [i, step] of s.steps.entries()) {
    const where = `${s.file}:${step.line}:${step.col}: step ${i + 1}`
    switch (step.kind) {
      case 'wait':
        await sleep(step.ms)
        print(`${elapsed()}  waited ${step.ms} ms`)
        break
      case 'at':
        await sleep(Math.max(0, start + step.ms - Date.now()))
        print(`${elapsed()}  at ${step.ms / 1000}s`)
        break
      case 'fault':
        for (const f of step.faults) await t.inject(f.target, f.fault)
        print(`${elapsed()}  fault ${step.faults.map(f => `${f.target} ${describeFault(f.fault)}`).join(', ')}`)
        break
      case 'expect': {
        const what = `${step.expect.map(e => `${e.client} → ${describeSites(e.sites)}`).join(', ')}${step.via === 'both' || s.dns === undefined || s.redirect === undefined ? '' : ` (${step.via === 'dns' ? 'DNS' : 'redirect'})`}`
        const failure = await expectStep(s, t, step)
        if (failure !== undefined) {
          const message = `${where}: expected ${what}${step.withinMs > 0 ? ` within ${step.withinMs / 1000}s` : ''}${step.holdMs > 0 ? ` for ${step.holdMs / 1000}s` : ''}; at ${elapsed().trim()} ${failure}`
          print(`${elapsed()}  FAILED ${what}`)
          return { ok: false, steps: i + 1, ms: Date.now() - start, failure: message }
        }
        print(`${elapsed()}  ok     ${what}`)
        break
      }
    }
  }
  return { ok: true, steps: s.steps.length, ms: Date.now() - start }
}

/** Undefined when met (and held); else what was answered instead. */
async function expectStep (s: Scenario, t: ScenarioTarget, step: Extract<Step, { kind: 'expect' }>): Promise<string | undefined> {
  const deadline = Date.now() + step.withinMs
  let metAt: number | undefined
  for (;;) {
    const wrong = await check(s, t, step)
    const now = Date.now()
    if (wrong === undefined) {
      metAt ??= now
      if (now - metAt >= step.holdMs) return undefined
    } else if (metAt !== undefined) {
      return `it held for ${now - metAt} ms, then ${wrong}`
    } else if (now >= deadline) {
      return wrong
    }
    await sleep(POLL_MS)
  }
}

async function check (s: Scenario, t: ScenarioTarget, step: Extract<Step, { kind: 'expect' }>): Promise<string | undefined> {
  const asks: Array<Promise<{ client: string, sites: Expected, seen: Observation }>> = []
  for (const e of step.expect) {
    const client = s.clients.get(e.client)
    if (client === undefined) continue
    if (step.via !== 'redirect' && s.dns !== undefined && t.dns !== undefined) {
      asks.push(askDns(t.dns.host, t.dns.port, s.dns, client.subnet, t.sites).then(seen => ({ client: e.client, sites: e.sites, seen })))
    }
    if (step.via !== 'dns' && s.redirect !== undefined && t.http !== undefined) {
      asks.push(askRedirect(t.http.host, t.http.port, s.redirect, firstAddress(client.subnet), t.sites).then(seen => ({ client: e.client, sites: e.sites, seen })))
    }
  }
  const wrong = (await Promise.all(asks)).filter(a => a.seen.failed === true || !matches(a.sites, a.seen.sites))
  return wrong.length === 0 ? undefined : wrong.map(w => `${w.client} got ${w.seen.detail}`).join('; ')
}

function matches (expected: Expected, seen: readonly string[]): boolean {
  if (expected === 'none') return seen.length === 0
  return seen.length > 0 && seen.every(site => expected.includes(site))
}

function describeSites (e: Expected): string {
  return e === 'none' ? 'no answer' : e.join(' or ')
}

function describeFault (f: Fault): string {
  if (f.kind === 'slow') return `slow (${f.delayMs ?? 1500} ms)`
  if (f.kind === 'flap') return `flap (every ${f.periodMs ?? 3000} ms)`
  return f.kind
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
