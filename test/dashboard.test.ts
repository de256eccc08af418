/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core), against real
 * processes: behind an admin token, a drain clicked in the page takes the member out of the
 * "who gets what" answer; in `gslb demo`, clicking "fra down" moves the Frankfurt client to its
 * next site within the checks' detection time and "fra up" brings it back, while the timeline and
 * the shares fill in. GSLB_SCREENSHOT=docs/dashboard.png writes the demo's screenshot there.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { freePort, MAIN, serve, stop } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'

const CHROMIUM = '/usr/bin/chromium'
const ROOT = join(import.meta.dirname, '..', '..')
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`

/** Every check in a page gets this long: detection of a site going down takes a few check intervals. */
const WAIT_MS = 20_000

describe('dashboard in chromium', { skip }, () => {
  let browser: Browser
  before(async () => { browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }) })
  after(async () => { await browser?.close() })

  async function open (url: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const errors: string[] = []
    page.on('pageerror', e => errors.push(e.message))
    page.on('close', () => assert.deepEqual(errors, [], 'no script errors in the page'))
    await page.goto(url)
    return page
  }

  test('behind a token: the page asks for it; a drain clicked there leaves the answer panel', async () => {
    const ports = { dns: await freePort(), admin: await freePort() }
    const dir = await writeConfig({
      'gslb.yaml': `listen: { dns: ["127.0.0.1:${ports.dns}"], admin: "127.0.0.1:${ports.admin}" }
admin: { token_file: admin.token }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    answers: 2
    members:
      - { name: a, address: 192.0.2.1 }
      - { name: b, address: 192.0.2.2 }
`,
      'admin.token': 'dashboard-test-token-0123456789\n',
      'zones/example.test.yaml': zone('  www: { pool: web }\n'),
    })
    const served = await serve(dir, [])
    const page = await open(`http://127.0.0.1:${ports.admin}/`)
    try {
      await page.locator('#token-form').waitFor({ state: 'visible' })
      await page.fill('#token', 'dashboard-test-token-0123456789')
      await page.click('#token-form button')
      const records = page.locator('[data-testid=dns-record]')
      await page.locator('[data-testid="member-web/a"]').waitFor()
      await page.fill('[data-testid=client-custom]', '198.51.100.7')
      await page.press('[data-testid=client-custom]', 'Enter')
      await waitFor(async () => (await records.allTextContents()).sort().join(' ') === '192.0.2.1 192.0.2.2', 'both members answered')
      await page.click('[data-testid="drain-web/a"]')
      await waitFor(async () => (await records.allTextContents()).join(' ') === '192.0.2.2', 'the drained member left the answer')
      assert.match(await page.locator('[data-testid="member-web/a"]').innerText(), /drain/)
      assert.match(await page.locator('[data-testid=timeline]').innerText(), /web\/a: admin ready → drain/)
      await page.click('[data-testid="ready-web/a"]')
      await waitFor(async () => (await records.allTextContents()).length === 2, 'back in the answer after ready')
    } finally {
      await page.close()
      await stop(served.proc)
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('gslb demo: "fra down" moves the Frankfurt client to nyc, "fra up" brings it back', async () => {
    const ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    const demo = await startDemo(ports)
    const page = await open(`http://127.0.0.1:${ports.admin}/`)
    try {
      const dnsSite = async (): Promise<string> => [...new Set(await page.locator('[data-testid=dns-record]').evaluateAll(els => els.map(e => e.getAttribute('data-site'))))].join(',')
      const redirectSite = async (): Promise<string | null> => await page.locator('[data-testid=redirect-location]').getAttribute('data-site', { timeout: WAIT_MS })
      await page.selectOption('[data-testid=client-preset]', { label: 'near fra (127.0.1.0/24)' })
      await waitFor(async () => await dnsSite() === 'fra', 'the Frankfurt client answered from fra')
      assert.equal(await redirectSite(), 'fra')
      await page.click('[data-testid=fault-fra-down]')
      await waitFor(async () => await dnsSite() === 'nyc', 'the Frankfurt client moved to nyc')
      await waitFor(async () => await redirectSite() !== 'fra', 'redirects left fra too')
      assert.match(await page.locator('[data-testid="state-web/fra-1"]').innerText(), /out[\s\S]*demo fault: down/)
      assert.match(await page.locator('[data-testid=timeline]').innerText(), /web\/fra-1 \(fra\): health up → down/)
      await waitFor(async () => await page.locator('[data-testid=shares] rect[data-site=nyc]').count() > 0, 'shares drawn for nyc')
      if (process.env.GSLB_SCREENSHOT !== undefined) {
        // For the picture in the docs only: let the shares chart show some seconds after the move.
        await new Promise(resolve => setTimeout(resolve, 12_000))
        await page.screenshot({ path: process.env.GSLB_SCREENSHOT, fullPage: true })
      }
      await page.click('[data-testid=fault-fra-up]')
      await waitFor(async () => await dnsSite() === 'fra', 'back to fra once it is up again')
    } finally {
      await page.close()
      await stop(demo)
    }
  })
})

async function startDemo (ports: { dns: number, http: number, admin: number }): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [MAIN, 'demo', '--dns', `127.0.0.1:${ports.dns}`, '--http', `127.0.0.1:${ports.http}`, '--admin', `127.0.0.1:${ports.admin}`, '--traffic', '10', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('Try:')) resolve() })
    proc.stderr.on('data', (d: Buffer) => { out += d.toString() })
    proc.once('exit', code => reject(new Error(`gslb demo exited ${String(code)}: ${out}`)))
  })
  return proc
}

/** Polls `ok` (each poll a round trip into the page) until true; fails with `what` after WAIT_MS. */
async function waitFor (ok: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + WAIT_MS
  while (Date.now() < end) {
    if (await ok()) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  assert.fail(`not within ${WAIT_MS} ms: ${what}`)
}
