/**
 * `gslb demo` as a user runs it: the simulated backends and their faults (in process, real
 * sockets), scenario files through `gslb demo run` (the bundled ones pass; a wrong expectation
 * fails naming its line and what was answered; a malformed file gets file:line:col errors), and
 * the interactive demo driven by `gslb demo fault` while DNS answers move between sites.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../src/config/load.js'
import { DemoBackend } from '../src/demo/backend.js'
import { backendSpecs } from '../src/demo/farm.js'
import { askDns, SiteIndex } from '../src/demo/observe.js'
import { runScenario } from '../src/demo/run-scenario.js'
import { parseScenario } from '../src/demo/scenario.js'
import { parseCidr, type Cidr } from '../src/net/cidr.js'
import { freePort, MAIN, run, stop } from './helpers/process.js'
import { writeConfig } from './helpers/stack.js'

const ROOT = join(import.meta.dirname, '..', '..')

function get (port: number, path: string, host = '127.0.0.1'): Promise<{ status: number, body: string } | { error: string }> {
  return new Promise(resolve => {
    const req = request({ host, port, path, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', err => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }))
    req.end()
  })
}

describe('simulated backends', () => {
  test('the bundled configuration gives three sites of two backends, checked on /healthz', async () => {
    const specs = backendSpecs(await loadConfig(join(ROOT, 'gslb.yaml')))
    assert.deepEqual(specs.map(s => `${s.site} ${s.name} ${s.address}:${s.port}${s.healthPath}`), [
      'fra fra-1 127.0.1.1:8080/healthz', 'fra fra-2 127.0.1.2:8080/healthz',
      'nyc nyc-1 127.0.2.1:8080/healthz', 'nyc nyc-2 127.0.2.2:8080/healthz',
      'tok tok-1 127.0.3.1:8080/healthz', 'tok tok-2 127.0.3.2:8080/healthz',
    ])
  })

  test('each fault does what it says: down refuses, error is a 500, slow waits, flap alternates, up restores', async () => {
    const port = await freePort()
    const b = new DemoBackend({ name: 'fra-9', site: 'fra', address: '127.0.0.1', port, healthPath: '/healthz' })
    await b.start()
    try {
      assert.deepEqual(await get(port, '/healthz'), { status: 200, body: 'ok\n' })
      const page = await get(port, '/pub/file.iso')
      assert.match((page as { body: string }).body, /^fra-9 at site fra \(127\.0\.0\.1:\d+\): GET \/pub\/file\.iso/)

      await b.set({ kind: 'down' })
      assert.deepEqual(await get(port, '/healthz'), { error: 'ECONNREFUSED' })

      await b.set({ kind: 'error' })
      assert.equal((await get(port, '/healthz') as { status: number }).status, 500)

      await b.set({ kind: 'slow', delayMs: 400 })
      const answered = get(port, '/healthz')
      const first = await Promise.race([answered, new Promise(resolve => setTimeout(() => resolve('waiting'), 150))])
      assert.equal(first, 'waiting', 'a slow backend has not answered after 150 ms of its 400')
      assert.equal((await answered as { status: number }).status, 200)

      await b.set({ kind: 'flap', periodMs: 100 })
      assert.equal(b.listening, false, 'flap starts down')
      await once(b, 'listening')
      await once(b, 'closed')
      await once(b, 'listening')

      await b.set({ kind: 'up' })
      assert.equal(b.listening, true)
      assert.equal((await get(port, '/healthz') as { status: number }).status, 200)
      assert.equal(b.served, 1, 'health checks are not counted as pages')
    } finally {
      await b.close()
    }
  })
})

describe('gslb demo run', () => {
  test('the bundled scenarios pass', async () => {
    const files = (await readdir(join(ROOT, 'scenarios'))).filter(f => f.endsWith('.yaml')).map(f => join('scenarios', f))
    assert.ok(files.length >= 2)
    const r = await run(['demo', 'run', ...files], ROOT)
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, new RegExp(`^${files.length} of ${files.length} scenarios passed$`, 'm'))
  })

  test('a wrong expectation fails the run, naming its line and what was answered instead', async () => {
    const dir = await writeConfig({
      'wrong.yaml': `name: wrong on purpose
ask: { dns: www.example.test }
clients: { frankfurt: 127.0.1.0/24 }
steps:
  - expect: { frankfurt: fra }
  - expect: { frankfurt: tok }
    within: 300ms
`,
    })
    try {
      const r = await run(['demo', 'run', join(dir, 'wrong.yaml'), '-c', join(ROOT, 'gslb.yaml')], ROOT)
      assert.equal(r.code, 1)
      assert.match(r.stdout, /ok {5}frankfurt → fra$/m)
      assert.match(r.stderr, /wrong\.yaml:6:5: step 2: expected frankfurt → tok within 0\.3s; at \d+\.\ds frankfurt got DNS 127\.0\.1\.[12] \(fra\)/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a malformed scenario is refused with file:line:col errors before anything starts', async () => {
    const dir = await writeConfig({
      'bad.yaml': `name: bad
ask: { dns: www.example.test, redirct: http://x/ }
clients: { frankfurt: 127.0.1.0/24, nowhere: 300.1.1.0/24 }
steps:
  - expect: { paris: fra }
  - fault: { fra: melt }
  - wait: 5
  - expect: { frankfurt: fra }
    fault: { fra: down }
  - fault: { atlantis: down }
`,
    })
    try {
      const r = await run(['demo', 'run', join(dir, 'bad.yaml'), '-c', join(ROOT, 'gslb.yaml')], ROOT)
      assert.equal(r.code, 1)
      const lines = r.stderr.trim().split('\n')
      assert.deepEqual(lines.map(l => l.replace(/^.*bad\.yaml:/, '')), [
        '2:31: ask.redirct: unknown key "redirct"; did you mean "redirect"? (allowed: dns, redirect) [GSLB_E_UNKNOWN_KEY]',
        '3:46: clients.nowhere: must be an IP address or a CIDR network such as 198.51.100.0/24: got "300.1.1.0/24" [GSLB_E_ADDRESS]',
        '5:15: steps[0].expect.paris: no client "paris" in clients (frankfurt) [GSLB_E_REF]',
        '6:19: steps[1].fault.fra: must be one of up, down, slow, error, flap: got "melt" [GSLB_E_VALUE]',
        '7:11: steps[2].wait: must be a duration such as 500ms, 2s, 1.5m, 1h or 1d: got 5 [GSLB_E_VALUE]',
        '8:5: steps[3]: a step has exactly one of expect, fault, wait, at: got expect and fault [GSLB_E_VALUE]',
      ])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('scenario expectations', () => {
  test('"none" means an answer without addresses, never no answer at all: a dead server fails it', async () => {
    const scenario = parseScenario('dead.yaml', 'ask: { dns: www.example.test, redirect: http://dl.example.test/x }\nclients: { frankfurt: 127.0.1.0/24 }\nsteps:\n  - expect: { frankfurt: none }\n')
    const config = await loadConfig(join(ROOT, 'gslb.yaml'))
    const closed = await freePort()
    const result = await runScenario(scenario, {
      dns: { host: '127.0.0.1', port: closed },
      http: { host: '127.0.0.1', port: closed },
      sites: new SiteIndex(config),
      knownSites: config.sites.map(s => s.name),
      faultTargets: [],
      inject: async () => {},
    }, () => {})
    assert.equal(result.ok, false)
    assert.match(result.failure ?? '', /frankfurt got no DNS answer within 1000 ms; frankfurt got redirect request failed: connect ECONNREFUSED/)
  })
})

describe('gslb demo, interactive', () => {
  test('starts the sites and gslb, prints where to look; gslb demo fault moves Frankfurt clients and brings them back', async () => {
    const ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    const proc = spawn(process.execPath, [MAIN, 'demo', '--dns', `127.0.0.1:${ports.dns}`, '--http', `127.0.0.1:${ports.http}`, '--admin', `127.0.0.1:${ports.admin}`, '--traffic', '0', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
    proc.stderr.on('data', (d: Buffer) => { out += d.toString() })
    try {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => { if (out.includes('Try:')) resolve() }
        proc.stdout.on('data', check)
        proc.once('exit', code => reject(new Error(`gslb demo exited ${String(code)}: ${out}`)))
      })
      assert.match(out, new RegExp(`dashboard  http://127\\.0\\.0\\.1:${ports.admin}/`))
      assert.match(out, /fra {3}fra-1 http:\/\/127\.0\.1\.1:8080\/, fra-2 http:\/\/127\.0\.1\.2:8080\//)
      assert.match(out, new RegExp(`dig @127\\.0\\.0\\.1 -p ${ports.dns} www\\.example\\.test \\+subnet=127\\.0\\.1\\.0/24`))

      const config = await loadConfig(join(ROOT, 'gslb.yaml'))
      const sites = new SiteIndex(config)
      const frankfurt = parseCidr('127.0.1.0/24') as Cidr
      const siteFor = async (): Promise<string> => (await askDns('127.0.0.1', ports.dns, 'www.example.test', frankfurt, sites)).sites.join(',')
      /** Ask until the answer comes from `site`: bounded by the checks' detection time and a margin. */
      const until = async (site: string): Promise<void> => {
        let seen = ''
        for (let i = 0; i < 150 && seen !== site; i++) {
          seen = await siteFor()
          if (seen !== site) await new Promise(resolve => setTimeout(resolve, 100))
        }
        assert.equal(seen, site)
      }
      assert.equal(await siteFor(), 'fra')

      const admin = ['--admin', `127.0.0.1:${ports.admin}`]
      const down = await run(['demo', 'fault', 'fra', 'down', ...admin], ROOT)
      assert.equal(down.code, 0, down.stderr)
      assert.match(down.stdout, /^fra: down \(fra-1 http:\/\/127\.0\.1\.1:8080\/, fra-2 http:\/\/127\.0\.1\.2:8080\/\)$/m)
      await until('nyc')
      const status = await run(['demo', 'status', ...admin], ROOT)
      assert.match(status.stdout, /^fra +fra-1 +http:\/\/127\.0\.1\.1:8080\/ +down +not listening/m)

      const bad = await run(['demo', 'fault', 'atlantis', 'down', ...admin], ROOT)
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /no site or backend "atlantis" in the demo \(fra, nyc, tok, fra-1, fra-2, nyc-1, nyc-2, tok-1, tok-2\) \[GSLB_E_NO_MEMBER\]/)

      assert.equal((await run(['demo', 'fault', 'fra', 'up', ...admin], ROOT)).code, 0)
      await until('fra')
    } finally {
      await stop(proc)
    }
  })
})
