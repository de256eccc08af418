/**
 * Probes against real local servers: https (certificate verification on by default, insecure,
 * Host and SNI apart from the address probed), http expectations, tcp.
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
import { createProbe } from '../src/probes/index.js'

const TLS = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'tls')

function check (over: Partial<CheckConfig>): CheckConfig {
  return {
    name: 'c', type: 'http', port: undefined, intervalMs: 1000, fastIntervalMs: 500, downIntervalMs: 1000, timeoutMs: 500, rise: 1, fall: 1, jitter: 0,
    method: 'GET', path: '/', host: undefined, sni: undefined, insecure: false, expectStatus: [200], expectBody: undefined,
    weightFromBody: false, queryName: undefined, queryType: 'SOA', expectRcode: ['NOERROR'], staticUp: true, file: 'x', line: 1, col: 1,
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
