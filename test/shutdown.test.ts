/**
 * Stopping `gslb serve` (SIGTERM) as it happens in production, with one process and with two
 * workers: the stop is bounded by shutdown.timeout even while a client holds a partly sent
 * request, and busy keep-alive clients get their answers, the last one with Connection: close,
 * never a reset; with shutdown.ready_delay, readiness fails before anything else stops. Real
 * processes, raw sockets.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { rm } from 'node:fs/promises'
import { describe, test } from 'node:test'
import { decodeMessage } from '../src/dns/decode.js'
import { buildQuery, udpExchange } from './helpers/dns.js'
import { exitsWithin, freePort, serve } from './helpers/process.js'
import { writeConfig, zone } from './helpers/stack.js'

interface Ports { dns: number, http: number, admin: number }

function config (p: Ports, shutdown: string): string {
  return `listen: { dns: ["127.0.0.1:${p.dns}"], http: "127.0.0.1:${p.http}", admin: "127.0.0.1:${p.admin}" }
checks: { up: { type: static, state: up } }
pools:
  web:
    check: up
    members:
      - { name: m1, address: 127.0.0.11, url: "http://m1.example.net/" }
      - { name: m2, address: 127.0.0.12, url: "http://m2.example.net/" }
redirects:
  - { host: dl.example.test, pool: web }
shutdown: ${shutdown}
`
}

async function setUp (shutdown: string): Promise<{ dir: string, ports: Ports }> {
  const ports = { dns: await freePort(), http: await freePort(), admin: await freePort() }
  const dir = await writeConfig({ 'gslb.yaml': config(ports, shutdown), 'zones/example.test.yaml': zone('  www: { pool: web }\n') })
  return { dir, ports }
}

/** Open a connection and send `text`, then nothing more. */
async function stall (port: number, text: string): Promise<{ socket: Socket, closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(text)
  return { socket, closed: once(socket, 'close').then(() => {}) }
}

/**
 * A keep-alive client in a loop: one request at a time on one connection, until a response says
 * Connection: close. Any reset, or the connection closing under an unanswered request, is an error.
 */
class LoopClient {
  answered = 0
  lastSaidClose = false
  error: string | undefined
  readonly done: Promise<void>
  readonly #socket: Socket
  #buffer = ''
  #outstanding = false
  #progress: Array<() => void> = []

  constructor (port: number) {
    this.#socket = connect({ port, host: '127.0.0.1' })
    this.#socket.setEncoding('latin1')
    this.done = new Promise(resolve => {
      this.#socket.on('error', err => { this.error ??= (err as { code?: string }).code ?? err.message })
      this.#socket.on('close', () => {
        if (this.#outstanding) this.error ??= 'connection closed with a request unanswered'
        resolve()
      })
    })
    this.#socket.on('connect', () => this.#send())
    this.#socket.on('data', (d: string) => this.#read(d))
  }

  /** Resolves once this client has had `n` answers. */
  reached (n: number): Promise<void> {
    return new Promise(resolve => {
      const check = (): void => { if (this.answered >= n || this.error !== undefined) resolve(); else this.#progress.push(check) }
      check()
    })
  }

  #send (): void {
    this.#outstanding = true
    this.#socket.write('GET /pub/f.iso HTTP/1.1\r\nHost: dl.example.test\r\n\r\n')
  }

  #read (d: string): void {
    this.#buffer += d
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = this.#buffer.slice(0, end).toLowerCase()
      const length = Number(/\r\ncontent-length: *(\d+)/.exec(head)?.[1] ?? 0)
      if (this.#buffer.length < end + 4 + length) return
      this.#buffer = this.#buffer.slice(end + 4 + length)
      this.#outstanding = false
      this.answered++
      for (const p of this.#progress.splice(0)) p()
      if (!head.startsWith('http/1.1 302')) { this.error ??= `unexpected answer: ${head.split('\r\n')[0] ?? ''}`; return }
      this.lastSaidClose = /\r\nconnection: *close/.test(head)
      if (this.lastSaidClose) return
      this.#send()
    }
  }
}

/**
 * A TCP DNS client in a loop: one query at a time on one connection, each with its own id, until
 * the server closes the connection. Records every id sent and answered, and any reset.
 */
class DnsLoopClient {
  readonly sent: number[] = []
  readonly answered: number[] = []
  error: string | undefined
  readonly done: Promise<void>
  readonly #socket: Socket
  #buffer = Buffer.alloc(0)
  #next = 0
  #progress: Array<() => void> = []

  constructor (port: number, readonly base: number) {
    this.#socket = connect({ port, host: '127.0.0.1' })
    this.done = new Promise(resolve => {
      this.#socket.on('error', err => { this.error ??= (err as { code?: string }).code ?? err.message })
      this.#socket.on('close', () => resolve())
    })
    this.#socket.on('connect', () => this.#send())
    this.#socket.on('data', (d: Buffer) => this.#read(d))
  }

  reached (n: number): Promise<void> {
    return new Promise(resolve => {
      const check = (): void => { if (this.answered.length >= n || this.error !== undefined) resolve(); else this.#progress.push(check) }
      check()
    })
  }

  #send (): void {
    const id = this.base + this.#next++
    const q = buildQuery({ id, name: 'www.example.test' })
    const framed = Buffer.alloc(2 + q.length)
    framed.writeUInt16BE(q.length, 0)
    q.copy(framed, 2)
    this.sent.push(id)
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(framed)
  }

  #read (d: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, d])
    while (this.#buffer.length >= 2 && this.#buffer.length >= 2 + this.#buffer.readUInt16BE(0)) {
      const len = this.#buffer.readUInt16BE(0)
      this.answered.push(decodeMessage(this.#buffer.subarray(2, 2 + len)).id)
      this.#buffer = this.#buffer.subarray(2 + len)
      for (const p of this.#progress.splice(0)) p()
      this.#send()
    }
  }
}

for (const workers of ['1', '2']) {
  describe(`SIGTERM with --workers ${workers}`, () => {
    test('a client holding a partly sent request does not hold the stop past shutdown.timeout', async () => {
      const { dir, ports } = await setUp('{ timeout: 1500ms }')
      const served = await serve(dir, ['--workers', workers])
      try {
        const redirect = await stall(ports.http, 'GET /pub/x HTTP/1.1\r\nHost: dl.exa')
        const admin = await stall(ports.admin, 'GET /v1/po')
        const dns = await stall(ports.dns, '\x00\x40\x12')
        served.proc.kill('SIGTERM')
        const { code, ms } = await exitsWithin(served.proc, 6000)
        assert.equal(code, 0)
        assert.ok(ms < 1500 + 1000 + 1500, `exited ${ms} ms after SIGTERM; the bound is 1.5 s`)
        await Promise.all([redirect.closed, admin.closed, dns.closed])
      } finally {
        served.proc.kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      }
    })

    test('with shutdown.ready_delay, /v1/ready fails first while DNS and redirects are still answered', async () => {
      const { dir, ports } = await setUp('{ timeout: 2s, ready_delay: 3s }')
      const served = await serve(dir, ['--workers', workers])
      const ready = async (): Promise<number> => (await fetch(`http://127.0.0.1:${ports.admin}/v1/ready`, { headers: { connection: 'close' } })).status
      try {
        assert.equal(await ready(), 200)
        const exited = once(served.proc, 'exit')
        served.proc.kill('SIGTERM')
        // Bounded: the delay is 3 s; each round trip is a few milliseconds.
        let status = 200
        for (let i = 0; i < 2000 && status === 200; i++) status = await ready()
        assert.equal(status, 503)
        const answer = await udpExchange(ports.dns, buildQuery({ name: 'www.example.test' }))
        assert.ok(answer !== undefined && decodeMessage(answer).answer.length > 0, 'DNS still answers')
        const redirect = await new Promise<number | undefined>((resolve, reject) => {
          request({ host: '127.0.0.1', port: ports.http, path: '/pub/f.iso', headers: { host: 'dl.example.test', connection: 'close' } }, res => { res.resume(); resolve(res.statusCode) }).on('error', reject).end()
        })
        assert.equal(redirect, 302, 'redirects still answered')
        const [code] = await exited as [number]
        assert.equal(code, 0)
      } finally {
        served.proc.kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      }
    })

    test('under TCP DNS load, every query sent before SIGTERM is answered, in order, and no connection is reset', async () => {
      const { dir, ports } = await setUp('{ timeout: 5s, keepalive_grace: 1s }')
      const served = await serve(dir, ['--workers', workers])
      try {
        const clients = Array.from({ length: 20 }, (_, i) => new DnsLoopClient(ports.dns, i * 2000))
        await Promise.all(clients.map(c => c.reached(20)))
        const sentBefore = clients.map(c => c.sent.length)
        served.proc.kill('SIGTERM')
        await Promise.all(clients.map(c => c.done))
        for (const [i, c] of clients.entries()) {
          assert.equal(c.error, undefined, `client ${i}: ${c.error ?? ''}`)
          // Answers come in order, for the queries sent; all of those sent before the signal are among them.
          assert.deepEqual(c.answered, c.sent.slice(0, c.answered.length), `client ${i}: answers in order`)
          assert.ok(c.answered.length >= (sentBefore[i] as number), `client ${i}: ${c.answered.length} answered, ${sentBefore[i] as number} sent before SIGTERM`)
          // At most the one query sent as the server closed goes unanswered (the client retries it elsewhere).
          assert.ok(c.sent.length - c.answered.length <= 1, `client ${i}: ${c.sent.length - c.answered.length} unanswered`)
        }
        const { code } = await exitsWithin(served.proc, 8000)
        assert.equal(code, 0)
      } finally {
        served.proc.kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      }
    })

    test('a second stop signal, of another kind, ends the process at once without a crash', async () => {
      const { dir } = await setUp('{ timeout: 5s, ready_delay: 5s }')
      const served = await serve(dir, ['--workers', workers])
      try {
        served.proc.kill('SIGTERM')
        await served.logged('stopping')
        served.proc.kill('SIGINT')
        const { code } = await exitsWithin(served.proc, 4000)
        assert.equal(code, 1)
        const out = served.log.join('')
        assert.match(out, /second stop signal/)
        assert.doesNotMatch(out, /ERR_SOCKET_DGRAM_NOT_RUNNING|\n\s+at /)
      } finally {
        served.proc.kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      }
    })

    test('busy keep-alive clients get every answer, the last with Connection: close, and no reset', async () => {
      const { dir, ports } = await setUp('{ timeout: 5s, keepalive_grace: 1s }')
      const served = await serve(dir, ['--workers', workers])
      try {
        const clients = Array.from({ length: 20 }, () => new LoopClient(ports.http))
        await Promise.all(clients.map(c => c.reached(5)))
        const before = clients.map(c => c.answered)
        served.proc.kill('SIGTERM')
        await Promise.all(clients.map(c => c.done))
        for (const [i, c] of clients.entries()) {
          assert.equal(c.error, undefined, `client ${i}: ${c.error ?? ''}`)
          assert.equal(c.lastSaidClose, true, `client ${i}: its last answer says Connection: close`)
        }
        assert.ok(clients.every((c, i) => c.answered > (before[i] as number)), 'every client was answered after the stop began')
        const { code } = await exitsWithin(served.proc, 8000)
        assert.equal(code, 0)
      } finally {
        served.proc.kill('SIGKILL')
        await rm(dir, { recursive: true, force: true })
      }
    })
  })
}
