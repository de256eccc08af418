/**
 * What the core says when a whole pool changes how it serves: warn once when it fails open, falls
 * back or has nothing to serve, info once when it is back to normal, never per probe or query.
 * And the redirect (url) decision says what the redirect service does: it never fails open.
 * Driven by ManualClock and a fake probe per address; no sockets.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { ManualClock } from '../src/core/clock.js'
import { GslbCore } from '../src/core/core.js'
import type { Probe } from '../src/core/probe.js'
import { silentLogger } from '../src/log.js'
import { captureLogger, writeConfig, zone } from './helpers/stack.js'

const CONFIG = `listen: { dns: ["127.0.0.1:0"] }
checks: { web: { type: tcp, port: 80, interval: 1s, timeout: 500ms, rise: 1, fall: 1, jitter: 0% } }
pools:
  web:
    check: web
    members:
      - { name: a, address: 192.0.2.1, url: "https://a.example.net/" }
      - { name: b, address: 192.0.2.2, url: "https://b.example.net/" }
  api:
    check: web
    on_insufficient: { fallback: web }
    members:
      - { name: c, address: 192.0.2.3 }
health: { coalesce: 0ms, startup_wait: 5s }
`

const flush = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('pool transitions are logged once each: warn when lost, failing open or falling back; info when back', async () => {
  const dir = await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': zone('  www: { pool: web }\n  api: { pool: api }\n') })
  try {
    const config = await loadConfig(join(dir, 'gslb.yaml'))
    const clock = new ManualClock(0)
    const up = new Set(['192.0.2.1', '192.0.2.2', '192.0.2.3'])
    const probe: Probe = async t => ({ ok: up.has(t.address), detail: up.has(t.address) ? 'connected' : 'connect ECONNREFUSED' })
    const { log, lines } = captureLogger()
    const core = new GslbCore(config, { clock, log, random: () => 0, probeFor: () => probe })
    const started = core.start()
    for (let i = 0; i < 5; i++) { clock.advance(10); await flush() }
    assert.equal(await started, true)
    const pools = (): string[] => lines.filter(l => l.msg.startsWith('pool ')).map(l => `${l.level === 40 ? 'warn' : 'info'} ${String(l.pool)} ${String(l.family)} ${String(l.from)}→${String(l.to)}`)
    const run = async (ms: number): Promise<void> => { for (let t = 0; t < ms; t += 100) { clock.advance(100); await flush() } }
    assert.deepEqual(pools(), [], 'all healthy: nothing said')

    up.clear()
    await run(5000)
    assert.deepEqual(pools(), [
      'warn web IPv4 normal→fail-open',
      'warn web redirects normal→none',
      'warn api IPv4 normal→fallback:web',
    ], 'once each, although every member failed five more probes')
    const web = core.snapshot.byName.get('web')
    assert.equal(web?.v4.mode, 'fail-open')
    assert.deepEqual(web?.url.members, [], 'redirects never fail open')
    assert.match(web?.url.reasons.at(-1) ?? '', /no eligible member: redirects answer 503, or the route's fallback_url/)

    up.add('192.0.2.1')
    await run(2000)
    assert.deepEqual(pools().slice(3), [
      'info web IPv4 fail-open→normal',
      'info web redirects none→normal',
    ], 'web is back; api still falls back to it (its own member is down): no change to say')
    up.add('192.0.2.3')
    await run(2000)
    assert.deepEqual(pools().slice(5), ['info api IPv4 fallback:web→normal'])
    core.stop()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('an admin expiry beyond the 24.8-day timer limit expires on time, without a republish loop', async () => {
  const dir = await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
  try {
    const config = await loadConfig(join(dir, 'gslb.yaml'))
    const clock = new ManualClock(0)
    const probe: Probe = async () => ({ ok: true, detail: 'connected' })
    const core = new GslbCore(config, { clock, log: silentLogger, random: () => 0, probeFor: () => probe })
    const day = 86_400_000
    await core.setAdmin('web/a', { state: 'drain', expiresAt: 30 * day })
    const version = core.snapshot.version
    clock.advance(1000)
    assert.equal(core.snapshot.version, version, 'nothing republished a second later')
    clock.advance(30 * day - 2000)
    assert.equal(core.adminEntry('web/a')?.state, 'drain')
    assert.equal(core.snapshot.byName.get('web')?.members[0]?.admin, 'drain')
    clock.advance(2000)
    assert.equal(core.snapshot.byName.get('web')?.members[0]?.admin, 'ready', 'expired and republished on time')
    assert.ok(core.snapshot.version - version <= 3, `republished ${core.snapshot.version - version} times in 30 days`)
    core.stop()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
