/**
 * The dashboard's feed without a browser: the timeline entries a health change, an admin change
 * and a pool's change of mode produce (core on a manual clock, fake probes), the per-second shares
 * read from the front ends' counters; and the event stream over a real socket: it stays open while
 * nothing happens (the admin listener's idle timeout does not cut it) and ends at a stop.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { ManualClock } from '../src/core/clock.js'
import { GslbCore } from '../src/core/core.js'
import type { Probe } from '../src/core/probe.js'
import { SlotCounts } from '../src/core/slots.js'
import { DashboardFeed, type FeedEvent } from '../src/dashboard/feed.js'
import { silentLogger } from '../src/log.js'
import { startIn, writeConfig, zone } from './helpers/stack.js'

const CONFIG = `listen: { dns: ["127.0.0.1:0"] }
checks: { web: { type: tcp, port: 80, interval: 1s, timeout: 500ms, rise: 1, fall: 1, jitter: 0% } }
sites: { fra: { country: DE }, nyc: { country: US } }
pools:
  web:
    check: web
    members:
      - { name: a, address: 192.0.2.1, site: fra }
      - { name: b, address: 192.0.2.2, site: nyc }
health: { coalesce: 0ms, startup_wait: 5s }
`

const flush = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('the feed turns snapshot changes into timeline entries and counters into shares', async () => {
  const dir = await writeConfig({ 'gslb.yaml': CONFIG, 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
  try {
    const config = await loadConfig(join(dir, 'gslb.yaml'))
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12))
    const up = new Set(['192.0.2.1', '192.0.2.2'])
    const probe: Probe = async t => ({ ok: up.has(t.address), detail: up.has(t.address) ? 'connected' : 'connect ECONNREFUSED' })
    const core = new GslbCore(config, { clock, log: silentLogger, random: () => 0, probeFor: () => probe })
    const started = core.start()
    for (let i = 0; i < 5; i++) { clock.advance(10); await flush() }
    await started
    const dns = new SlotCounts()
    const redirects = new SlotCounts()
    const feed = new DashboardFeed(core.snapshot, { clock, dnsAnswers: dns, redirects })
    core.onPublish(s => feed.publish(s))
    const events: FeedEvent[] = []
    feed.subscribe(e => events.push(e))
    const run = async (ms: number): Promise<void> => { for (let t = 0; t < ms; t += 100) { clock.advance(100); await flush() } }

    up.delete('192.0.2.1')
    await run(1500)
    const timeline = events.filter(e => e.type === 'timeline').map(e => e.data as { kind: string, subject: string, from: string, to: string, site: string })
    assert.deepEqual(timeline.map(t => `${t.kind} ${t.subject} ${t.site} ${t.from}→${t.to}`), [
      'health web/a fra up→down',
      'served web/a fra served→out',
    ])
    assert.ok(events.some(e => e.type === 'changed'), 'a changed event for the page to read /v1/pools again')

    await core.setAdmin('web/b', { state: 'drain', note: 'kernel update' })
    const last = feed.timeline.slice(-3).map(t => `${t.kind} ${t.subject} ${t.from ?? ''}→${t.to} ${t.detail}`)
    assert.ok(last.includes('admin web/b ready→drain kernel update'), last.join('\n'))
    assert.ok(feed.timeline.some(t => t.kind === 'pool' && t.subject === 'web' && t.to === 'fail-open'), 'the pool failing open is on the timeline')

    // Shares: the counts of the last interval, per member, with its site.
    const b = core.snapshot.byName.get('web')?.members[1]
    dns.add(b?.slot ?? -1, 7)
    redirects.add(b?.slot ?? -1, 2)
    events.length = 0
    await run(1000)
    const shares = events.find(e => e.type === 'shares')?.data as { members: Record<string, { site: string, dns: number, http: number }> }
    assert.deepEqual(shares.members['web/b'], { site: 'nyc', dns: 7, http: 2 })
    assert.deepEqual(shares.members['web/a'], { site: 'fra', dns: 0, http: 0 })
    feed.close()
    core.stop()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

describe('GET /v1/events', () => {
  test('a quiet stream stays open past the admin listener\'s 10 s idle timeout, and a stop ends it', { timeout: 30_000 }, async () => {
    const stack = await startIn(await writeConfig({
      'gslb.yaml': 'listen: { dns: ["127.0.0.1:0"], admin: "127.0.0.1:0" }\nmetrics: { enabled: false }\n',
      'zones/example.test.yaml': zone(''),
    }))
    let closedAt: number | undefined
    let text = ''
    const started = Date.now()
    const req = request({ host: '127.0.0.1', port: stack.adminPort, path: '/v1/events' }, res => {
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('close', () => { closedAt = Date.now() })
    })
    req.on('error', () => {})
    req.end()
    // Nothing is sent with metrics off but the comment lines: wait past the idle timeout, bounded.
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, 11_000)
      req.on('close', () => { clearTimeout(timer); resolve() })
    })
    const quiet = closedAt
    const stopped = stack.close()
    await new Promise<void>(resolve => { if (closedAt !== undefined) resolve(); else req.on('close', () => resolve()) })
    await stopped
    assert.equal(quiet, undefined, `the stream closed after ${(quiet ?? 0) - started} ms`)
    assert.match(text, /^: gslb events\n\n/)
    assert.ok(closedAt !== undefined, 'the stop ended it')
  })
})
