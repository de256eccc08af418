/**
 * Probes against real local servers: https (certificate verification on by default, insecure,
 * Host and SNI apart from the address probed), http expectations, tcp; and the haproxy check's
 * reading of HAProxy CSV stats, case by case and over HTTP.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import type { CheckConfig } from '../src/config/model.js'
import { splitCsvLine } from '../src/probes/haproxy.js'
import { createProbe, readHaproxyStats } from '../src/probes/index.js'

const TLS = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'tls')

function check (over: Partial<CheckConfig>): CheckConfig {
  return {
    name: 'c', type: 'http', port: undefined, intervalMs: 1000, fastIntervalMs: 500, downIntervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, jitter: 0,
    method: 'GET', path: '/', host: undefined, sni: undefined, insecure: false, expectStatus: [200], expectBody: undefined,
    weightFromBody: false, queryName: undefined, queryType: 'SOA', expectRcode: ['NOERROR'], backend: undefined, minUp: 1, staticUp: true, file: 'x', line: 1, col: 1,
    ...over,
  }
}
const probe = async (c: CheckConfig, port: number): Promise<{ ok: boolean, detail: string }> =>
  await createProbe(c)({ address: '127.0.0.1', port }, AbortSignal.timeout(2000))

describe('https probe', () => {
  const seen: Array<{ sni: string | false | null, host: string | undefined, path: string | undefined }> = []
  let port = 0
  const server = createHttpsServer({ key: readFileSync(join(TLS, 'key.pem')), cert: readFileSync(join(TLS, 'cert.pem')) }, (req, res) => {
    seen.push({ sni: (req.socket as TLSSocket).servername, host: req.headers.host, path: req.url })
    res.end('healthy')
  })
  before(async () => {
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => { server.close() })

  test('verifies certificates by default: a self-signed one fails the check', async () => {
    const r = await probe(check({ type: 'https', host: 'www.example.test' }), port)
    assert.equal(r.ok, false)
    assert.match(r.detail, /SELF_SIGNED|self.signed|certificate/i)
  })

  test('insecure: true skips verification; Host and SNI are the configured name, not the address', async () => {
    const r = await probe(check({ type: 'https', host: 'www.example.test', path: '/healthz', insecure: true, expectBody: 'healthy' }), port)
    assert.deepEqual(r, { ok: true, detail: 'HTTP 200' })
    assert.deepEqual(seen.at(-1), { sni: 'www.example.test', host: 'www.example.test', path: '/healthz' })
  })

  test('sni can differ from host', async () => {
    await probe(check({ type: 'https', host: 'www.example.test', sni: 'other.example.test', insecure: true }), port)
    assert.deepEqual([seen.at(-1)?.sni, seen.at(-1)?.host], ['other.example.test', 'www.example.test'])
  })
})

describe('http and tcp probes', () => {
  let port = 0
  let status = 200
  let body = 'ok'
  const server = createHttpServer((_req, res) => { res.writeHead(status).end(body) })
  before(async () => {
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(() => { server.close() })

  test('expected status list, body match, and the detail of a failure', async () => {
    status = 204; body = ''
    assert.equal((await probe(check({ expectStatus: [200, 204] }), port)).ok, true)
    status = 503
    assert.deepEqual(await probe(check({}), port), { ok: false, detail: 'HTTP 503' })
    status = 200; body = 'maintenance'
    const r = await probe(check({ expectBody: 'ok' }), port)
    assert.equal(r.ok, false)
    assert.match(r.detail, /body does not contain "ok"/)
  })

  test('tcp: connect passes, a closed port fails with the errno', async () => {
    assert.equal((await probe(check({ type: 'tcp' }), port)).ok, true)
    const closed = await probe(check({ type: 'tcp' }), 1)
    assert.deepEqual(closed, { ok: false, detail: 'connect ECONNREFUSED' })
  })

  test('static', async () => {
    assert.equal((await probe(check({ type: 'static', staticUp: false }), 0)).ok, false)
  })
})

describe('haproxy stats (CSV, HAProxy management guide 9.1)', () => {
  // Captured from HAProxy 2.6: be_app has up1 set to drain, down1 refusing, a backup, a server
  // without checks, one "disabled" (MAINT) and one at weight 0; be_listen is a listen section
  // with "option socket-stats" (a listener row of type 3 beside its servers).
  const captured = readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'haproxy', 'stats-2.6.csv'), 'utf8')
  const H = '# pxname,svname,status,weight,act,bck,type\n'
  const rows = (...servers: string[]): string => `${H}fe,FRONTEND,OPEN,,,,0\n${servers.map(s => `be_app,${s}\n`).join('')}be_app,BACKEND,UP,2,2,0,1\n`

  const cases: Array<{ name: string, csv: string, backend?: string, minUp?: number, want: { ok: boolean, detail: string | RegExp, percent?: number } }> = [
    { name: 'all up', csv: rows('s1,UP,1,1,0,2', 's2,UP,1,1,0,2'), want: { ok: true, detail: '2/2 servers up in be_app', percent: 100 } },
    { name: 'half up: half the weight', csv: rows('s1,UP,1,1,0,2', 's2,DOWN,1,1,0,2'), want: { ok: true, detail: '1/2 servers up in be_app', percent: 50 } },
    { name: '"UP 1/3" (failures counted, still up) is up; "DOWN 1/2" (successes counted, still down) is down', csv: rows('s1,UP 1/3,1,1,0,2', 's2,DOWN 1/2,1,1,0,2', 's3,UP,1,1,0,2'), want: { ok: true, detail: '2/3 servers up in be_app', percent: 67 } },
    { name: 'NOLB, DRAIN, MAINT and MAINT (via) take no new traffic: down, but counted', csv: rows('s1,NOLB,1,1,0,2', 's2,DRAIN,1,1,0,2', 's3,MAINT,1,1,0,2', 's4,MAINT (via be_x/s4),1,1,0,2', 's5,UP,1,1,0,2'), want: { ok: true, detail: '1/5 servers up in be_app', percent: 20 } },
    { name: '"no check" is up (HAProxy sends it traffic); UP at weight 0 is down', csv: rows('s1,no check,1,1,0,2', 's2,UP,0,1,0,2'), want: { ok: true, detail: '1/2 servers up in be_app', percent: 50 } },
    { name: 'backup servers are left out', csv: rows('s1,UP,1,1,0,2', 's2,DOWN,1,0,1,2', 'b1,UP,1,0,1,2'), want: { ok: true, detail: '1/1 servers up in be_app', percent: 100 } },
    { name: 'none up: fails, weight 0', csv: rows('s1,DOWN,1,1,0,2', 's2,MAINT,1,1,0,2'), want: { ok: false, detail: '0/2 servers up in be_app, fewer than min_up 1', percent: 0 } },
    { name: 'min_up 2 with 1 up fails, with the share still reported', csv: rows('s1,UP,1,1,0,2', 's2,DOWN,1,1,0,2'), minUp: 2, want: { ok: false, detail: '1/2 servers up in be_app, fewer than min_up 2', percent: 50 } },
    { name: 'backend not in the stats: the proxies that are', csv: rows('s1,UP,1,1,0,2'), backend: 'be_web', want: { ok: false, detail: 'backend be_web not in the stats (proxies: fe, be_app)' } },
    { name: 'a backend with only backups has no active servers', csv: rows('b1,UP,1,0,1,2'), want: { ok: false, detail: 'backend be_app has no active servers in the stats' } },
    { name: 'a frontend name is not a backend with servers', csv: rows('s1,UP,1,1,0,2'), backend: 'fe', want: { ok: false, detail: 'backend fe has no active servers in the stats' } },
    { name: 'an HTML page (path without ;csv)', csv: '<html><body>Statistics Report</body></html>', want: { ok: false, detail: /not HAProxy CSV stats .*;csv/ } },
    { name: 'empty body', csv: '', want: { ok: false, detail: /not HAProxy CSV stats/ } },
    { name: 'columns found by name, CRLF lines, no type column: FRONTEND/BACKEND rows skipped by name', csv: '# svname,pxname,status\r\nFRONTEND,be_app,OPEN\r\ns1,be_app,UP\r\ns2,be_app,DOWN\r\nBACKEND,be_app,UP\r\n', want: { ok: true, detail: '1/2 servers up in be_app', percent: 50 } },
    { name: 'no status column', csv: '# pxname,svname\nbe_app,s1\n', want: { ok: false, detail: /without pxname, svname or status/ } },
    { name: 'captured from HAProxy 2.6: be_app', csv: captured, want: { ok: true, detail: '1/5 servers up in be_app', percent: 20 } },
    { name: 'captured from HAProxy 2.6: a listen section, its listener row not counted', csv: captured, backend: 'be_listen', want: { ok: true, detail: '2/2 servers up in be_listen', percent: 100 } },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const r = readHaproxyStats(c.csv, c.backend ?? 'be_app', c.minUp ?? 1)
      assert.equal(r.ok, c.want.ok, r.detail)
      if (typeof c.want.detail === 'string') assert.equal(r.detail, c.want.detail)
      else assert.match(r.detail, c.want.detail)
      assert.deepEqual(r.weight, c.want.percent === undefined ? undefined : { percent: c.want.percent })
    })
  }

  test('CSV fields: quoted, with doubled quotes and commas inside; empty fields kept', () => {
    assert.deepEqual(splitCsvLine('a,"b,c","say ""hi""",,e'), ['a', 'b,c', 'say "hi"', '', 'e'])
    assert.deepEqual(splitCsvLine('a,'), ['a', ''])
    assert.deepEqual(splitCsvLine('"x"'), ['x'])
  })

  describe('over HTTP', () => {
    let port = 0
    let status = 200
    const body = rows('s1,UP,1,1,0,2', 's2,DOWN,1,1,0,2')
    let hang = false
    const paths: string[] = []
    const server = createHttpServer((req, res) => { paths.push(req.url ?? ''); if (!hang) res.writeHead(status).end(body) })
    before(async () => {
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as AddressInfo).port
    })
    after(() => { server.closeAllConnections(); server.close() })
    const haproxy = (over: Partial<CheckConfig> = {}): CheckConfig => check({ type: 'haproxy', path: '/;csv', backend: 'be_app', ...over })

    test('GETs the configured path and reports the share up as a percent weight', async () => {
      const r = await createProbe(haproxy({ path: '/stats;csv' }))({ address: '127.0.0.1', port }, AbortSignal.timeout(2000))
      assert.deepEqual(r, { ok: true, detail: '1/2 servers up in be_app', weight: { percent: 50 } })
      assert.equal(paths.at(-1), '/stats;csv')
    })

    test('a status other than 200 fails with it', async () => {
      status = 503
      try {
        assert.deepEqual(await probe(haproxy(), port), { ok: false, detail: 'HTTP 503 from the stats page /;csv' })
      } finally { status = 200 }
    })

    test('a refused connection and a timeout fail with what happened', async () => {
      assert.deepEqual(await probe(haproxy(), 1), { ok: false, detail: 'connect ECONNREFUSED' })
      hang = true
      try {
        const ac = new AbortController()
        const pending = createProbe(haproxy())({ address: '127.0.0.1', port }, ac.signal)
        ac.abort(new Error('timeout after 100 ms'))
        assert.deepEqual(await pending, { ok: false, detail: 'timeout after 100 ms' })
      } finally { hang = false }
    })
  })
})
