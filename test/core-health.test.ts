/**
 * The health state machine (a table) and the monitor's scheduling, driven by ManualClock and fake
 * probes: no sleeps, no sockets.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { CheckConfig } from '../src/config/model.js'
import { ManualClock } from '../src/core/clock.js'
import { INITIAL_HEALTH, nextHealth, type HealthState } from '../src/core/health-state.js'
import { HealthMonitor, type TargetSpec } from '../src/core/health-monitor.js'
import type { Probe, ProbeResult } from '../src/core/probe.js'
import { parseAgentReply } from '../src/probes/index.js'

const TH = { rise: 2, fall: 3 }

function run (results: boolean[], start: HealthState = INITIAL_HEALTH): HealthState[] {
  const out: HealthState[] = []
  let s = start
  for (const [i, ok] of results.entries()) { s = nextHealth(s, ok, ok ? 'ok' : 'fail', i, TH); out.push(s) }
  return out
}

describe('nextHealth', () => {
  const cases: Array<{ name: string, results: boolean[], statuses: string }> = [
    { name: 'first result taken at face value (up)', results: [true], statuses: 'U' },
    { name: 'first result taken at face value (down)', results: [false], statuses: 'D' },
    { name: 'up → down after fall=3 consecutive failures', results: [true, false, false, false], statuses: 'UUUD' },
    { name: 'a success in between resets the count', results: [true, false, false, true, false, false, false], statuses: 'UUUUUUD' },
    { name: 'down → up after rise=2 consecutive successes', results: [false, true, true], statuses: 'DDU' },
    { name: 'a failure while rising resets the count', results: [false, true, false, true, true], statuses: 'DDDDU' },
    { name: 'flapping every other result never changes state', results: [true, false, true, false, true, false, true, false], statuses: 'UUUUUUUU' },
  ]
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(run(c.results).map(s => s.status === 'up' ? 'U' : s.status === 'down' ? 'D' : '?').join(''), c.statuses)
    })
  }
  test('reasons say what happened and count toward the change', () => {
    const states = run([true, false, false])
    assert.match(states[0]!.reason, /^first check passed: ok$/)
    assert.match(states[2]!.reason, /^up, 2\/3 failed toward down, last: fail$/)
    assert.match(run([true, false, false, false])[3]!.reason, /^3 failed checks in a row, last: fail$/)
  })
})

function check (over: Partial<CheckConfig> = {}): CheckConfig {
  return {
    name: 'c', type: 'tcp', port: 80, intervalMs: 1000, fastIntervalMs: 500, downIntervalMs: 4000, timeoutMs: 300, rise: 2, fall: 2, jitter: 0,
    method: 'GET', path: '/', host: undefined, sni: undefined, insecure: false, expectStatus: [200], expectBody: undefined,
    weightFromBody: false, queryName: undefined, queryType: 'SOA', expectRcode: ['NOERROR'], backend: undefined, minUp: 1, staticUp: true, file: 'x', line: 1, col: 1,
    ...over,
  }
}

/** A fake probe whose answer and latency the test sets; records start times and concurrency. */
class FakeBackend {
  ok = true
  latencyMs = 10
  hang = false
  starts: number[] = []
  inFlight = 0
  maxInFlight = 0
  constructor (readonly clock: ManualClock) {}
  probe: Probe = (_t, signal) => {
    this.starts.push(this.clock.now())
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    return new Promise<ProbeResult>(resolve => {
      const finish = (r: ProbeResult): void => { this.inFlight--; resolve(r) }
      signal.addEventListener('abort', () => finish({ ok: false, detail: 'aborted' }), { once: true })
      if (!this.hang) this.clock.setTimeout(() => finish({ ok: this.ok, detail: this.ok ? 'ok' : 'refused' }), this.latencyMs)
    })
  }
}

const flush = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
async function step (clock: ManualClock, ms: number, by = 10): Promise<void> {
  for (let t = 0; t < ms; t += by) { clock.advance(by); await flush() }
}

function spec (key: string, c = check()): TargetSpec { return { key, check: c, address: '127.0.0.1', port: 80 } }

describe('HealthMonitor', () => {
  test('starts at a random offset within the first interval, then probes every interval', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0.25, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets([spec('a')])
    await step(clock, 3300)
    assert.deepEqual(b.starts, [250, 1250, 2250, 3250])
  })

  test('jitter keeps intervals within ± the configured fraction', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    let r = 0
    const rand = (): number => { r = (r * 9301 + 49297) % 233280; return r / 233280 }
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: rand, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets([spec('a', check({ jitter: 0.1 }))])
    await step(clock, 30_000, 5)
    const gaps = b.starts.slice(1).map((t, i) => t - (b.starts[i] as number))
    assert.ok(gaps.length > 20)
    for (const g of gaps) assert.ok(g >= 900 && g <= 1100, `gap ${g}`)
    assert.ok(new Set(gaps).size > 5, 'gaps vary')
  })

  test('a down target goes up after rise successes, probing at fast_interval while changing and down_interval while down', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    b.ok = false
    const changes: string[] = []
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0, onChange: (k, changed, reported) => changes.push(`${k}:${m.get(k)?.health.status}${changed || reported ? '' : ' (reason)'}`), probeFor: () => b.probe })
    m.setTargets([spec('a')])
    await step(clock, 100)
    assert.equal(m.get('a')?.health.status, 'down')
    await step(clock, 8000)
    assert.deepEqual(b.starts, [0, 4000, 8000], 'down_interval while down')
    b.ok = true
    await step(clock, 4000 + 500 + 100)
    assert.deepEqual(b.starts.slice(3), [12000, 12500], 'fast_interval while rising')
    assert.equal(m.get('a')?.health.status, 'up')
    assert.deepEqual(changes, ['a:down', 'a:down (reason)', 'a:up'], 'the count toward up is a reason change, not a state change')
  })

  test('a down target\'s reason follows the latest probe, and the last probes are kept with their latency', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    b.ok = false
    const changes: string[] = []
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0, onChange: (k, changed, reported) => changes.push(`${changed || reported}:${m.get(k)?.health.reason}`), probeFor: () => b.probe })
    m.setTargets([spec('a')])
    await step(clock, 8100)
    assert.equal(m.get('a')?.health.status, 'down')
    assert.match(m.get('a')?.health.reason ?? '', /refused/)
    assert.equal(changes.length, 1, 'the same failure again changes nothing: no republish')
    b.hang = true // the backend is replaced by one that accepts and never answers
    await step(clock, 4400)
    const t = m.get('a')
    assert.equal(t?.health.status, 'down')
    assert.equal(t?.health.reason, 'tcp check failed again: timeout after 300 ms')
    assert.deepEqual(changes, ['true:first tcp check failed: refused', 'false:tcp check failed again: timeout after 300 ms'])
    assert.deepEqual(t?.recent.map(r => [r.ok, r.durationMs, r.detail]), [
      [false, 10, 'refused'], [false, 10, 'refused'], [false, 10, 'refused'], [false, 300, 'timeout after 300 ms'],
    ])
    await step(clock, 60_000)
    assert.equal(m.get('a')?.recent.length, 10, 'at most 10 kept')
  })

  test('a hanging probe times out, counts as failed, and there is never more than one in flight per target', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    b.hang = true
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets([spec('a')])
    await step(clock, 10_000)
    assert.equal(b.maxInFlight, 1)
    assert.equal(m.get('a')?.health.status, 'down')
    assert.match(m.get('a')?.health.lastDetail ?? '', /timeout after 300 ms/)
  })

  test('at most max_in_flight probes overall; the rest wait their turn', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    b.latencyMs = 200
    const m = new HealthMonitor({ clock, maxInFlight: 3, random: () => 0, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets(Array.from({ length: 10 }, (_, i) => spec(`t${i}`)))
    await step(clock, 5000)
    assert.equal(b.maxInFlight, 3)
    assert.ok(m.stats.maxLateMs > 0, 'queued probes start late')
    for (let i = 0; i < 10; i++) assert.equal(m.get(`t${i}`)?.health.status, 'up')
  })

  test('setTargets keeps the state of targets that remain and stops removed ones', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    b.ok = false
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets([spec('a'), spec('b')])
    await step(clock, 100)
    assert.equal(m.get('a')?.health.status, 'down')
    m.setTargets([spec('a')])
    assert.equal(m.get('a')?.health.status, 'down', 'kept')
    assert.equal(m.get('b'), undefined, 'removed')
    const before = b.starts.length
    await step(clock, 4100)
    assert.equal(b.starts.length, before + 1, 'only the remaining target is probed')
    m.stop()
    assert.equal(clock.pending, 0, 'stop leaves no timers')
  })

  test('waitFirstRound resolves when every target has a result, or false at the bound', async () => {
    const clock = new ManualClock(0)
    const b = new FakeBackend(clock)
    const m = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0.5, onChange: () => {}, probeFor: () => b.probe })
    m.setTargets([spec('a')])
    const first = m.waitFirstRound(5000)
    await step(clock, 600)
    assert.equal(await first, true)
    const m2 = new HealthMonitor({ clock, maxInFlight: 10, random: () => 0, onChange: () => {}, probeFor: () => () => new Promise(() => {}) })
    m2.setTargets([spec('x', check({ timeoutMs: 100_000, intervalMs: 200_000, fastIntervalMs: 150_000, downIntervalMs: 200_000 }))])
    const second = m2.waitFirstRound(1000)
    await step(clock, 1100)
    assert.equal(await second, false)
    m.stop(); m2.stop()
  })
})

describe('agent replies', () => {
  const cases: Array<[string, Partial<ProbeResult>]> = [
    ['up\n', { ok: true }],
    ['down#disk full\n', { ok: false }],
    ['drain\n', { ok: true, agentState: 'drain' }],
    ['maint\n', { ok: true, agentState: 'maint' }],
    ['up 75%\n', { ok: true, weight: { percent: 75 } }],
    ['ready,50%\n', { ok: true, agentState: 'ready', weight: { percent: 50 } }],
    ['stopped\n', { ok: false }],
    ['', { ok: false }],
    ['banana\n', { ok: false }],
  ]
  for (const [text, want] of cases) {
    test(JSON.stringify(text), () => {
      const r = parseAgentReply(text)
      for (const [k, v] of Object.entries(want)) assert.deepEqual(r[k as keyof ProbeResult], v)
    })
  }
})
