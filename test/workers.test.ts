/**
 * `gslb serve --workers 2` as an operator runs it: one admin state for every worker. A change made
 * through the CLI reaches every worker before the command returns (DNS over UDP and TCP, redirects
 * and API reads, whichever worker answers), is written once to the state file, survives a
 * restart, and a change that cannot be written applies nowhere, not even after a SIGHUP. Each
 * request here opens a new connection or socket, so the kernel spreads them over both workers.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, tcpExchange, udpExchange } from './helpers/dns.js'
import { freePort, run, serve, stop, type Served } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'

interface Ports { dns: number, http: number, admin: number }

function config (p: Ports): string {
  return `listen: { dns: ["127.0.0.1:${p.dns}"], http: "127.0.0.1:${p.http}", admin: "127.0.0.1:${p.admin}" }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    members:
      - { name: m1, address: 127.0.0.11, url: "http://m1.example.net/" }
      - { name: m2, address: 127.0.0.12, url: "http://m2.example.net/" }
      - { name: m3, address: 127.0.0.13, url: "http://m3.example.net/" }
redirects:
  - { host: dl.example.test, pool: web, alternates: 0 }
health: { state_file: var/gslb-state.json, coalesce: 0ms }
shutdown: { timeout: 2s }
`
}

async function udpAnswers (port: number, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const r = await udpExchange(port, buildQuery({ name: 'www.example.test' }))
    assert.ok(r !== undefined, 'no UDP answer')
    for (const a of decodeMessage(r).answer) seen.set(a.data, (seen.get(a.data) ?? 0) + 1)
  }
  return seen
}

async function tcpAnswers (port: number, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const [r] = await tcpExchange(port, [buildQuery({ name: 'www.example.test' })])
    assert.ok(r !== undefined, 'no TCP answer')
    for (const a of decodeMessage(r).answer) seen.set(a.data, (seen.get(a.data) ?? 0) + 1)
  }
  return seen
}

/** Redirect targets of `n` requests, each on a new connection. */
async function redirects (port: number, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const location = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/pub/f.iso', agent: false, headers: { host: 'dl.example.test' } }, res => {
        res.resume()
        resolve(`${res.statusCode ?? 0} ${res.headers.location ?? ''}`)
      })
      req.on('error', reject)
      req.end()
    })
    seen.set(location, (seen.get(location) ?? 0) + 1)
  }
  return seen
}

/** The admin state of every member as `n` reads (new connections) of GET /v1/pools show it. */
async function adminReads (port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/pools', agent: false }, res => {
        let text = ''
        res.on('data', (d: Buffer) => { text += d.toString() })
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      req.end()
    })
    const pools = JSON.parse(body) as { pools: Array<{ members: Array<{ name: string, admin: string }> }> }
    seen.add((pools.pools[0]?.members ?? []).map(m => `${m.name}=${m.admin}`).join(' '))
  }
  return seen
}

describe('--workers 2: one admin state', () => {
  let dir: string
  let ports: Ports
  let served: Served

  before(async () => {
    ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
    dir = await writeConfig({ 'gslb.yaml': config(ports), 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
    served = await serve(dir, ['--workers', '2'])
  })
  after(async () => {
    await stop(served.proc)
    await rm(dir, { recursive: true, force: true })
  })

  test('a drain through either worker applies in both before the command returns, and is kept once', async () => {
    const drained = await run(['admin', 'drain', 'web/m2', '--note', 'disk swap'], dir)
    assert.equal(drained.code, 0, drained.stderr)
    const udp = await udpAnswers(ports.dns, 200)
    assert.equal(udp.get('127.0.0.12'), undefined, `UDP answers: ${JSON.stringify([...udp])}`)
    assert.equal(udp.get('127.0.0.11'), 200)
    const tcp = await tcpAnswers(ports.dns, 100)
    assert.equal(tcp.get('127.0.0.12'), undefined, `TCP answers: ${JSON.stringify([...tcp])}`)
    const http = await redirects(ports.http, 60)
    assert.deepEqual([...http.keys()].filter(l => l.includes('m2.example.net')), [], `redirects: ${JSON.stringify([...http])}`)
    assert.deepEqual([...await adminReads(ports.admin, 6)], ['m1=ready m2=drain m3=ready'], 'every read shows the same state')

    assert.equal((await run(['admin', 'maint', 'web/m3'], dir)).code, 0)
    assert.deepEqual([...await adminReads(ports.admin, 6)], ['m1=ready m2=drain m3=maint'])
    const file = JSON.parse(await readFile(join(dir, 'var/gslb-state.json'), 'utf8')) as { members: Record<string, { state: string, note?: string }> }
    assert.deepEqual(Object.keys(file.members), ['web/m2', 'web/m3'], 'a change through the other worker keeps the first')
    assert.equal(file.members['web/m2']?.note, 'disk swap')
  })

  test('a restart keeps both changes', async () => {
    await stop(served.proc)
    served = await serve(dir, ['--workers', '2'])
    assert.deepEqual([...await adminReads(ports.admin, 6)], ['m1=ready m2=drain m3=maint'])
    const udp = await udpAnswers(ports.dns, 50)
    assert.deepEqual([...udp.keys()], ['127.0.0.11'])
  })

  test('a change that cannot be written fails in every worker and never applies, not even after SIGHUP', async () => {
    await rm(join(dir, 'var'), { recursive: true })
    await writeFile(join(dir, 'var'), 'not a directory\n')
    for (let i = 0; i < 8; i++) {
      const r = await run(['admin', 'ready', 'web/m2'], dir)
      assert.equal(r.code, 1)
      assert.match(r.stderr, /cannot write the admin state file .*the change was not applied/)
    }
    assert.deepEqual([...await adminReads(ports.admin, 6)], ['m1=ready m2=drain m3=maint'])
    served.proc.kill('SIGHUP')
    await served.logged('"configuration reloaded"', 10_000, 2) // both workers
    assert.deepEqual([...(await udpAnswers(ports.dns, 50)).keys()], ['127.0.0.11'], 'the failed change did not apply after the reload')

    await rm(join(dir, 'var'))
    const ok = await run(['admin', 'ready', 'web/m3'], dir)
    assert.equal(ok.code, 0, `the next change succeeds once the disk is writable: ${ok.stderr}`)
    assert.deepEqual([...await adminReads(ports.admin, 6)], ['m1=ready m2=drain m3=ready'])
    const file = JSON.parse(await readFile(join(dir, 'var/gslb-state.json'), 'utf8')) as { members: Record<string, unknown> }
    assert.deepEqual(Object.keys(file.members), ['web/m2'])
  })
})
